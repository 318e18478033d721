"""The spreadsheet connector: monthly recaps (CSV, XLSX) through the real engine."""
import copy
import csv
import os
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from connectors.base import ConnectorError
from hub.extensions import db
from hub.models import HeldRecord, Report, ReportExternalRef, Response, SyncRecordError, SyncRun
from hub.sync import files
from hub.sync.runner import run_connector

BANTUL_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-bantul/rekap-bulanan.yaml"
HEADER = ["No", "Tanggal", "Tracking ID", "User", "Judul", "Stakeholder", "Tanggapan",
          "Keterangan"]
MARCH = [
    [1, "04/03/2024", "3401001", "Budi", "Jalan berlubang di Jl. Parangtritis", "DPU",
     "Sudah ditambal", "Selesai"],
    [2, "05/03/2024 10:30", "3401002", "Siti", "Sampah menumpuk di pasar", "DLH", "-",
     "Proses"],
    [3, "6 Maret 2024", "", "Anonim", "Antrean puskesmas lama", "DINKES",
     "Ditambah loket", ""],
    [4, "2024-03-07", "", "Joko", "Lampu jalan mati", "Dinas Pekerjaan Umum", "", "Proses"],
]


@pytest.fixture
def recap(app, inbox):
    """The example connector file, reading the agency's inbox folder."""
    doc = copy.deepcopy(files.load_file(BANTUL_FILE))
    assert doc["connector"]["config"]["inbox_dir"] == "."
    with app.app_context():
        conn = files.import_document(db.session, doc)
        db.session.commit()
        return conn.id


def run(app, connector_id):
    with app.app_context():
        run_id = run_connector(connector_id, "manual")
        r = db.session.get(SyncRun, run_id)
        return {"status": r.status, "counts": dict(r.counts), "error": r.error}


def write_csv(path, rows, header=HEADER, delimiter=";"):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter=delimiter)
        out.writerow(header)
        out.writerows(rows)


def write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["REKAP PENGADUAN KABUPATEN BANTUL"])  # a title block above the headings
    sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)


def reports(app):
    with app.app_context():
        rows = db.session.execute(sa.select(ReportExternalRef.external_id, Report).join(
            Report, Report.id == ReportExternalRef.report_id)).all()
        return {ext: {"title": r.title, "agency": r.agency_code, "status": r.status,
                      "category": r.category_code, "channel": r.channel,
                      "submitted_at": r.submitted_at, "body": r.body}
                for ext, r in rows}


def responses(app):
    with app.app_context():
        return sorted(r.body for r in db.session.execute(sa.select(Response)).scalars())


def test_csv_recap_lands_mapped_with_responses(app, recap, inbox):
    write_csv(inbox / "rekap-maret.csv", MARCH)
    result = run(app, recap)
    assert result["status"] == "succeeded", result
    got = reports(app)
    assert len(got) == 4
    first = got["3401001"]
    assert first["title"] == "Jalan berlubang di Jl. Parangtritis"
    assert first["agency"] == "kab-bantul.dpu" and first["status"] == "resolved"
    assert first["channel"] == "local_app"
    assert first["category"] == "pelayanan-publik.maladministrasi"  # default_category
    assert first["body"] == first["title"]  # recaps have no body column
    # A bare date in the recap is midnight in Asia/Jakarta (UTC+7).
    assert first["submitted_at"].isoformat() == "2024-03-03T17:00:00+00:00"
    assert got["3401002"]["status"] == "in_progress"
    assert got["3401002"]["submitted_at"].isoformat() == "2024-03-05T03:30:00+00:00"
    # Rows without a tracking id got stable hash ids; an empty Keterangan is "Belum".
    hashed = {k: v for k, v in got.items() if k.startswith("rekap-")}
    assert {v["title"] for v in hashed.values()} == {"Antrean puskesmas lama",
                                                     "Lampu jalan mati"}
    assert {v["agency"] for v in hashed.values()} == {"kab-bantul.dinkes", "kab-bantul.dpu"}
    assert {v["status"] for v in hashed.values()} == {"received", "in_progress"}
    # "-" and empty Tanggapan cells are no response.
    assert responses(app) == ["Ditambah loket", "Sudah ditambal"]
    with app.app_context():
        refs = {r.external_id for r in db.session.execute(
            sa.select(Response)).scalars() for r in r.external_refs}
    assert "3401001#tanggapan" in refs


def test_xlsx_recap_with_title_block_and_excel_cells(app, recap, inbox):
    rows = [[1, datetime(2024, 4, 2, 8, 15), 3401101, "Rina", "Drainase mampet", "DPU",
             "Sudah dikeruk", "Selesai"],
            [2, datetime(2024, 4, 3), None, "Tono", "Bau sampah TPS", "DLH", None, None]]
    write_xlsx(inbox / "rekap-april.xlsx", rows)
    result = run(app, recap)
    assert result["status"] == "succeeded", result
    got = reports(app)
    # 3401101 came as a number cell: the id is the plain digits.
    assert got["3401101"]["status"] == "resolved"
    assert got["3401101"]["submitted_at"].isoformat() == "2024-04-02T01:15:00+00:00"
    assert len(got) == 2 and responses(app) == ["Sudah dikeruk"]


def test_reimport_and_overlapping_recap_create_nothing_twice(app, recap, inbox):
    write_csv(inbox / "rekap-maret.csv", MARCH)
    run(app, recap)
    before = reports(app)
    # Same file again (and a copy under another name): skipped by its content hash.
    again = run(app, recap)
    assert again["counts"]["read"] == 0, again
    write_csv(inbox / "rekap-maret (1).csv", MARCH)
    os.utime(inbox / "rekap-maret (1).csv")
    assert run(app, recap)["counts"]["read"] == 0
    # A later recap repeats half the rows (hash-id rows included) and adds new ones.
    later = MARCH[2:] + [
        [5, "01/04/2024", "3401003", "Wati", "Pohon tumbang", "DLH", "Sudah dipotong",
         "Selesai"],
        [6, "02/04/2024", "", "Ari", "Jalan licin", "DPU", "", ""]]
    write_xlsx(inbox / "rekap-april.xlsx", later)
    result = run(app, recap)
    assert result["status"] == "succeeded", result
    assert result["counts"]["created"] == 3  # two reports and one response
    after = reports(app)
    assert len(after) == 6 and set(before) < set(after)
    assert responses(app) == ["Ditambah loket", "Sudah dipotong", "Sudah ditambal"]
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(HeldRecord)
                                  ).scalar() == 0


def test_bad_rows_are_reported_with_row_numbers(app, recap, inbox):
    write_csv(inbox / "rekap-mei.csv", [
        [1, "02/05/2024", "3401201", "Budi", "Jalan rusak", "DPU", "", "Proses"],
        [2, "02/05/2024", "3401202", "Siti", "", "DLH", "", ""],          # no title
        [3, "31/02/2024", "3401203", "Joko", "Lampu mati", "DPU", "", ""],  # no such date
        [],                                                                  # blank row
        [5, "kemarin", "", "Ani", "Sampah", "DLH", "Diangkut", ""]])        # not a date
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 3, result
    assert set(reports(app)) == {"3401201"}
    assert responses(app) == []  # the bad row's response is not taken either
    with app.app_context():
        errors = db.session.execute(sa.select(SyncRecordError)).scalars().all()
        reasons = sorted(e.reason for e in errors)
        payloads = [e.payload for e in errors]
    assert any("rekap-mei.csv row 3: no title (column 'Judul' is empty)" in r
               for r in reasons), reasons
    assert any("rekap-mei.csv row 4: column 'Tanggal'" in r and "31/02/2024" in r
               for r in reasons), reasons
    assert any("rekap-mei.csv row 6: column 'Tanggal'" in r and "kemarin" in r
               for r in reasons), reasons
    # The reporter's name never lands in the error log.
    assert all(p.get("user") == "[hidden]" for p in payloads), payloads


def test_wrong_headings_and_unreadable_files_fail_loudly(app, recap, inbox):
    write_csv(inbox / "rekap-juni.csv", [[1, "01/06/2024", "1", "A", "Judul", "DPU", "", ""]],
              header=["No", "Tgl", "Tracking ID", "User", "Judul", "Stakeholder",
                      "Tanggapan", "Keterangan"])
    (inbox / "rekap-lama.xls").write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 2
    with app.app_context():
        reasons = sorted(e.reason for e in db.session.execute(
            sa.select(SyncRecordError)).scalars())
    assert "rekap-juni.csv: the heading row (row 1) has no column 'Tanggal'" in reasons[0]
    assert "rekap-lama.xls: it is an old Excel 97-2003 workbook (.xls)" in reasons[1]
    assert "save it as .xlsx" in reasons[1]


def test_unmapped_stakeholder_holds_rows_and_their_responses(app, recap, inbox):
    write_csv(inbox / "rekap.csv", [
        [1, "02/05/2024", "3401301", "Budi", "Izin usaha", "DPMPTSP", "Diproses", "Proses"]])
    result = run(app, recap)
    assert result["counts"]["held"] == 2  # the report (unmapped unit), its response waits
    assert reports(app) == {}


def test_the_connector_never_writes(tmp_path):
    from connectors.spreadsheet import CONNECTOR
    conn = CONNECTOR({"path": str(tmp_path / "x.csv"), "timezone": "Asia/Jakarta",
                      "columns": {"title": "Judul"}})
    assert conn.find_report("x") is None and conn.find_response("x") is None
    for call in (lambda: conn.write_report({}), lambda: conn.write_response("1", {}),
                 lambda: conn.write_status("1", "Selesai", None)):
        with pytest.raises(ConnectorError) as err:
            call()
        assert err.value.retryable is False and "read-only" in str(err.value)


def test_a_hub_side_status_change_does_not_stop_a_read_only_connector(app, recap, inbox,
                                                                      bantul):
    write_csv(inbox / "rekap-maret.csv", MARCH[1:2])
    assert run(app, recap)["status"] == "succeeded"
    with app.app_context():
        report_id = str(db.session.execute(sa.select(Report.id)).scalar_one())
    # The liaison officer finishes the imported complaint in the hub.
    assert bantul.status(report_id, "resolved").status_code == 200
    write_csv(inbox / "rekap-april.csv", MARCH[:1])
    result = run(app, recap)
    assert result["status"] == "succeeded", result
    assert len(reports(app)) == 2


def test_a_large_recap_while_officers_write_lands_whole(app, recap, inbox, bantul):
    """A big monthly recap imported while the API keeps writing: on SQLite the writers
    take turns (none fails "database is locked"), on PostgreSQL they run side by side."""
    units = ["DPU", "DLH", "DINKES"]
    rows = [[i, "04/03/2024", f"34{i:07d}", "Budi", f"Jalan berlubang nomor {i} di Jl. "
             f"Parangtritis km {i % 40}", units[i % 3], "Sudah ditambal" if i % 2 else "-",
             "Selesai" if i % 2 else "Proses"] for i in range(1, 201)]
    write_csv(inbox / "rekap-besar.csv", rows)
    with app.app_context():  # pages of 50: many commits, each racing the officers'
        from hub.models import Connector
        conn = db.session.get(Connector, recap)
        conn.config = {**conn.config, "page_size": 50}
        db.session.commit()
    from tests.helpers import report_payload
    stop, answers = threading.Event(), []

    def officer_writes():
        while not stop.is_set():
            answers.append(bantul.post("/reports", json=report_payload()).status_code)

    writers = [threading.Thread(target=officer_writes) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        result = run(app, recap)
    finally:
        stop.set()
        for writer in writers:
            writer.join(60)
    assert result["status"] == "succeeded", result
    assert result["counts"]["created"] == 200 + 100  # every row, and its response
    assert answers and set(answers) == {201}, sorted(set(answers))


def test_an_unexpected_database_error_reads_as_words_not_sql(app, recap, inbox, monkeypatch,
                                                            caplog):
    """The run's error is what the officer sees: it says what happened and what to do;
    the statement and its parameters are in the log only."""
    write_csv(inbox / "rekap-maret.csv", MARCH)
    from hub.sync import runner

    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE connectors SET lease_until=? WHERE id = ?",
                                      ("2026-12-02", "rekap-bantul"),
                                      sqlite3.OperationalError("database is locked"))
    monkeypatch.setattr(runner, "renew_lease", refused)
    result = run(app, recap)
    assert result["status"] == "failed"
    error = result["error"]
    assert "database" in error and "next run" in error and "operator" in error, error
    for technical in ("UPDATE", "lease_until", "rekap-bantul", "[SQL", "parameters",
                      "OperationalError", "locked"):
        assert technical not in error, error
    with app.app_context():
        from hub.models import Connector
        last = db.session.execute(sa.select(Connector.last_error)).scalar_one()
    assert "UPDATE" not in (last or "")
    assert "UPDATE connectors SET lease_until" in caplog.text  # the operator still has it
