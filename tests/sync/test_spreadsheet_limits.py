"""A recap is untrusted input: a zip bomb, a sheet of endless rows or cells, a damaged
archive end the run failed, quickly, with memory bounded and a message an officer can
act on, never a worker swollen or a run left `running`."""
import copy
import io
import shutil
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from hub.extensions import db
from hub.models import SyncRun
from hub.sync import files
from hub.sync.runner import run_connector
from tests.sync.test_spreadsheet import BANTUL_FILE, HEADER, MARCH, write_xlsx

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def inbox(app):
    path = Path(app.config["HUB_INBOX_ROOT"]) / "kab-bantul"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    doc = copy.deepcopy(files.load_file(BANTUL_FILE))
    with app.app_context():
        files.import_document(db.session, doc)
        db.session.commit()
    return path


def run(app):
    with app.app_context():
        r = db.session.get(SyncRun, run_connector("rekap-bantul", "manual"))
        return {"status": r.status, "counts": dict(r.counts), "error": r.error or ""}


def bomb(path: Path, inflated_mb: int, *, lie: bool = False, row: bytes | None = None) -> int:
    """A real, tiny .xlsx whose worksheet XML inflates to `inflated_mb` MB of rows.
    With `lie`, the archive's index declares the worksheet a few KB. Returns its size."""
    small = io.BytesIO()
    write_xlsx(small, MARCH)
    source = zipfile.ZipFile(small)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info))
                continue
            head, _, tail = source.read(info).partition(b"</sheetData>")
            row = row or \
                b'<row r="9"><c r="A9" t="inlineStr"><is><t>x</t></is></c></row>' * 2000
            with target.open(SHEET, "w", force_zip64=False) as member:
                member.write(head)
                for _ in range(inflated_mb * 1024 * 1024 // len(row)):
                    member.write(row)
                member.write(b"</sheetData>" + tail)
    data = bytearray(out.getvalue())
    if lie:  # the central directory entry of the sheet claims 5000 bytes
        at = data.find(b"PK\x01\x02")
        while at != -1:
            name_len = struct.unpack_from("<H", data, at + 28)[0]
            if data[at + 46:at + 46 + name_len] == SHEET.encode():
                struct.pack_into("<I", data, at + 24, 5000)
            at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return len(data)


def measured(app):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = run(app)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, time.perf_counter() - started, peak


def test_zip_bomb_fails_fast_with_bounded_memory(app, inbox):
    size = bomb(inbox / "rekap-bom.xlsx", 300)
    assert size < 1024 * 1024  # a small upload...
    result, seconds, peak = measured(app)  # ...that would unzip to 400 MB
    assert result["status"] == "failed", result
    assert "rekap-bom.xlsx unpacks to more than 64 MB" in result["error"]
    assert seconds < 10 and peak < 64 * 1024 * 1024, (seconds, peak)
    assert result["counts"]["created"] == 0


def test_one_endless_row_within_the_size_limit_is_refused(app, inbox):
    # 22 MB of cells in a single row: under the unzipped limit, yet openpyxl would build
    # millions of cells at once.
    bomb(inbox / "rekap-baris.xlsx", 40, row=b'<row r="9">' + b'<c r="A9"/>' * 2_000_000
         + b"</row>")
    result, seconds, peak = measured(app)
    assert result["status"] == "failed", result
    assert "a row of more than 16384 cells" in result["error"]
    assert seconds < 20 and peak < 64 * 1024 * 1024, (seconds, peak)


def test_zip_bomb_with_a_lying_index_fails_as_damaged(app, inbox):
    bomb(inbox / "rekap-bohong.xlsx", 200, lie=True)
    result, seconds, peak = measured(app)
    assert result["status"] == "failed", result
    assert "rekap-bohong.xlsx is damaged" in result["error"]
    assert seconds < 10 and peak < 64 * 1024 * 1024, (seconds, peak)


def test_rows_beyond_the_limit_fail_the_run(app, inbox):
    rows = [[i, "04/03/2024", str(9000 + i), "Budi", f"Aduan {i}", "DPU", "", ""]
            for i in range(60)]
    write_xlsx(inbox / "rekap-besar.xlsx", rows)
    app.config["HUB_SPREADSHEET_MAX_ROWS"] = 50
    try:
        result = run(app)
    finally:
        app.config.pop("HUB_SPREADSHEET_MAX_ROWS")
    assert result["status"] == "failed"
    assert "rekap-besar.xlsx has more than 50 rows" in result["error"]


def test_rows_beyond_the_limit_fail_a_csv_too(app, inbox):
    lines = [";".join(HEADER)] + [f"{i};04/03/2024;{i};B;Aduan {i};DPU;;" for i in range(60)]
    (inbox / "rekap.csv").write_text("\n".join(lines))
    app.config["HUB_SPREADSHEET_MAX_ROWS"] = 50
    try:
        result = run(app)
    finally:
        app.config.pop("HUB_SPREADSHEET_MAX_ROWS")
    assert result["status"] == "failed" and "more than 50 rows" in result["error"]


def test_a_row_wider_than_a_recap_fails_the_run(app, inbox):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(MARCH[0])
    sheet.cell(row=2, column=300, value="lebar")
    book.save(inbox / "rekap-lebar.xlsx")
    result = run(app)
    assert result["status"] == "failed"
    assert "row 2 has more than 200 columns" in result["error"]


def test_parsing_time_beyond_the_budget_fails_the_run(app, inbox):
    write_xlsx(inbox / "rekap.xlsx", MARCH * 50)
    app.config["HUB_SPREADSHEET_MAX_SECONDS"] = 0.000001
    try:
        result = run(app)
    finally:
        app.config.pop("HUB_SPREADSHEET_MAX_SECONDS")
    assert result["status"] == "failed"
    assert "reading it took longer than" in result["error"]


def test_an_oversized_file_is_not_read(app, inbox):
    write_xlsx(inbox / "rekap.xlsx", MARCH)
    app.config["HUB_SPREADSHEET_MAX_BYTES"] = 1000
    try:
        result = run(app)
    finally:
        app.config.pop("HUB_SPREADSHEET_MAX_BYTES")
    assert result["status"] == "failed" and "larger than" in result["error"]


def test_a_recap_within_the_limits_still_arrives(app, inbox):
    write_xlsx(inbox / "rekap.xlsx", MARCH)
    result = run(app)
    assert result["status"] in ("succeeded", "partial"), result
    assert result["counts"]["read"] >= 4
