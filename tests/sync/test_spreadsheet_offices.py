"""Recaps as regional offices really save them, through the real engine: dates typed in
every local way, totals and signature lines under the table, a workbook with a sheet per
month, headings merged over two rows, HTML tables saved as ".xls", CSVs in Windows and
Unicode encodings, and reporters who asked not to be named."""
import copy
import os
from datetime import datetime

import openpyxl
import pytest
import sqlalchemy as sa

from connectors.spreadsheet import CONNECTOR, Inbox, to_datetime
from hub.extensions import db
from hub.models import Connector, Report, ReportExternalRef, SyncRecordError, SyncRun
from hub.sync import files
from tests.sync.test_spreadsheet import BANTUL_FILE, HEADER, reports, responses, run, write_csv


@pytest.fixture
def recap(app, inbox):
    """Kab. Bantul's recap connector (mappings/kab-bantul/rekap-bulanan.yaml)."""
    with app.app_context():
        conn = files.import_document(db.session, copy.deepcopy(files.load_file(BANTUL_FILE)))
        db.session.commit()
        return conn.id


def configure(app, connector_id, **changes):
    with app.app_context():
        conn = db.session.get(Connector, connector_id)
        config = dict(conn.config)
        columns = dict(config["columns"])
        columns.update(changes.pop("columns", {}))
        conn.config = {**config, "columns": columns, **changes}
        db.session.commit()


def errors(app):
    with app.app_context():
        return sorted(e.reason for e in db.session.execute(sa.select(SyncRecordError))
                      .scalars())


def last_run(app):
    with app.app_context():
        r = db.session.execute(sa.select(SyncRun).order_by(SyncRun.id.desc())).scalars() \
            .first()
        return r.cursor_after


def row(n, when, title, user="Budi", unit="DPU", tid="", answer="", status="Proses"):
    return [n, when, tid, user, title, unit, answer, status]


# --- dates ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("16-Jan-2024", datetime(2024, 1, 16)),
    ("16-Jan-24", datetime(2024, 1, 16)),
    ("12 Des. 2024", datetime(2024, 12, 12)),
    ("12 Des 2024", datetime(2024, 12, 12)),
    ("12 Desember 2024", datetime(2024, 12, 12)),
    ("3 Agt 2024", datetime(2024, 8, 3)),
    ("3 Agu. 2024", datetime(2024, 8, 3)),
    ("1 Mei 2024", datetime(2024, 5, 1)),
    ("9 Okt 2024 13.05", datetime(2024, 10, 9, 13, 5)),
    ("Senin, 4 Maret 2024 09.15", datetime(2024, 3, 4, 9, 15)),
    ("Rabu, 17 Januari 2024", datetime(2024, 1, 17)),
    ("12 Januari 2024", datetime(2024, 1, 12)),
    ("2024/01/12", datetime(2024, 1, 12)),
    ("2024-01-12", datetime(2024, 1, 12)),
    ("03/04/2024", datetime(2024, 4, 3)),          # day first: 3 April
    ("03-04-2024 10:30", datetime(2024, 4, 3, 10, 30)),
    ("03.04.2024", datetime(2024, 4, 3)),
    ("45306", datetime(2024, 1, 15)),               # a serial day that reached a CSV
    (45306, datetime(2024, 1, 15)),
    (45306.5, datetime(2024, 1, 15, 12)),
    (datetime(2024, 2, 1, 8), datetime(2024, 2, 1, 8)),
    ("January 16, 2024", datetime(2024, 1, 16)),
])
def test_dates_as_offices_type_them(text, expected):
    assert to_datetime(text) == expected


def test_month_first_only_when_the_manifest_says_so():
    assert to_datetime("03/04/2024", order="MDY") == datetime(2024, 3, 4)
    assert to_datetime("2024/01/12", order="MDY") == datetime(2024, 1, 12)
    with pytest.raises(ValueError, match="DD/MM/YYYY"):
        to_datetime("01/16/2024")  # month 16: not day first, said so, never swapped
    for text in ("31/02/2024", "kemarin", "12 Foo 2024", "2024/13/01"):
        with pytest.raises(ValueError, match="is not a date"):
            to_datetime(text)


def test_typed_dates_land_and_unreadable_ones_name_row_and_column(app, recap, inbox):
    write_csv(inbox / "rekap-des.csv", [
        row(1, "16-Jan-2024", "Jalan rusak di Bambanglipuro", tid="3402001"),
        row(2, "12 Des. 2024", "Sampah di Pasar Bantul", tid="3402002", unit="DLH"),
        row(3, "2024/01/12", "Lampu mati di Sewon", tid="3402003"),
        row(4, "03/04/2024", "Drainase mampet", tid="3402004"),
        row(5, "tgl 3", "Pohon tumbang", tid="3402005"),
    ])
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 1, result
    got = reports(app)
    # Midnight in Asia/Jakarta is 17:00 UTC the day before.
    assert got["3402001"]["submitted_at"].isoformat() == "2024-01-15T17:00:00+00:00"
    assert got["3402002"]["submitted_at"].isoformat() == "2024-12-11T17:00:00+00:00"
    assert got["3402003"]["submitted_at"].isoformat() == "2024-01-11T17:00:00+00:00"
    assert got["3402004"]["submitted_at"].isoformat() == "2024-04-02T17:00:00+00:00"
    [reason] = errors(app)
    assert "rekap-des.csv row 6: column 'Tanggal': 'tgl 3' is not a date" in reason


def test_date_order_from_the_manifest(app, recap, inbox):
    configure(app, recap, date_order="MDY")
    write_csv(inbox / "rekap.csv", [row(1, "03/04/2024", "Drainase mampet", tid="3402101")])
    assert run(app, recap)["status"] == "succeeded"
    assert reports(app)["3402101"]["submitted_at"].isoformat() == \
        "2024-03-03T17:00:00+00:00"


def test_excel_date_cells_and_serial_numbers(app, recap, inbox):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(1, datetime(2024, 1, 15, 9, 30), "Jalan rusak", tid="3402201"))
    sheet.append(row(2, 45306, "Sampah", tid="3402202"))  # typed as a plain number
    sheet.append(row(3, "15-Jan-2024", "Lampu", tid="3402203"))
    book.save(inbox / "rekap.xlsx")
    assert run(app, recap)["status"] == "succeeded"
    got = reports(app)
    assert got["3402201"]["submitted_at"].isoformat() == "2024-01-15T02:30:00+00:00"
    assert got["3402202"]["submitted_at"].isoformat() == "2024-01-14T17:00:00+00:00"
    assert got["3402203"]["submitted_at"] == got["3402202"]["submitted_at"]


# --- the lines under the table ----------------------------------------------------------

def recap_with_footer(path, column=5):
    """A monthly recap as printed for signing: a title, the table, a totals row, then
    "Mengetahui", the head of office, blank lines for the signature, a name and NIP,
    written in the Judul column (`column`, from 0) as often happens."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["REKAP PENGADUAN MASYARAKAT"])
    sheet.append(["DINAS PEKERJAAN UMUM KABUPATEN BANTUL BULAN JANUARI 2024"])
    sheet.append([])
    sheet.append(HEADER)
    data = [row(1, "02/01/2024", "Jalan berlubang", tid="3403001", answer="Ditambal",
                status="Selesai"),
            row(2, "03/01/2024", "Lampu mati", tid=""),
            row(3, "04/01/2024", "Selokan mampet", user="Anonim")]
    for line in data:
        sheet.append(line)
    sheet.append([])
    sheet.append(["Jumlah", None, None, None, 3, None, 1, None])
    sheet.append(["Total", 3])
    sheet.append([])

    def line(text):
        cells = [None] * 8
        cells[column] = text
        sheet.append(cells)
    line("Bantul, 31 Januari 2024")
    line("Mengetahui,")
    line("Kepala Dinas Pekerjaan Umum")
    sheet.append([])
    sheet.append([])
    line("Ir. SUTRISNO, M.T.")
    line("NIP. 19700101 199503 1 001")
    sheet.append([None, None, None, None, "Drs. HARYANTO", "Ir. SUTRISNO"])  # two signers
    book.save(path)
    return data


@pytest.mark.parametrize("column", [4, 5])
def test_totals_and_signature_lines_are_skipped_not_failed(app, recap, inbox, column):
    recap_with_footer(inbox / "rekap-januari.xlsx", column)
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    assert result["counts"]["failed"] == 0 and result["counts"]["held"] == 0
    assert result["counts"]["skipped"] == 8  # the run says what it passed over
    got = reports(app)
    assert sorted(v["title"] for v in got.values()) == ["Jalan berlubang", "Lampu mati",
                                                        "Selokan mampet"]
    assert responses(app) == ["Ditambal"]
    skipped = last_run(app)["reports"]["skipped"]["rekap-januari.xlsx"]
    assert skipped["rows"] == 8, skipped  # 2 totals, 6 signature lines
    # The connector says so on its pages too, for the run's counts.
    conn = CONNECTOR({"path": "rekap-januari.xlsx", "timezone": "Asia/Jakarta",
                      "columns": {"title": "Judul", "external_id": "Tracking ID",
                                  "submitted_at": {"path": "Tanggal", "type": "datetime"},
                                  "reporter.name": "User", "unit": "Stakeholder"}},
                     inbox=Inbox(inbox))
    pages = list(conn.read("reports", None))
    assert sum(p.skipped for p in pages) == 8
    assert sum(len(p.records) for p in pages) == 3 and not any(p.rejected for p in pages)
    # A second run doubles nothing.
    os.utime(inbox / "rekap-januari.xlsx")
    assert run(app, recap)["counts"]["read"] == 0
    assert len(reports(app)) == 3


# --- a workbook with a sheet per month --------------------------------------------------

MONTHS = ("Januari", "Februari", "Maret")


def yearly(path, extra=None):
    book = openpyxl.Workbook()
    book.remove(book.active)
    expected = {}
    for m, month in enumerate(MONTHS, 1):
        sheet = book.create_sheet(month)
        sheet.append([f"REKAP PENGADUAN BULAN {month.upper()} 2024"])
        sheet.append([])
        sheet.append(HEADER)
        for i in range(1, 6):
            tid = f"34040{m}{i}"
            title = f"Aduan {month} nomor {i}"
            sheet.append(row(i, f"{i:02d}/{m:02d}/2024", title, tid=tid))
            expected[tid] = title
        sheet.append(["Jumlah", None, None, None, 5])
    if extra:
        extra(book)
    book.save(path)
    return expected


def test_every_month_sheet_of_a_yearly_workbook_is_read(app, recap, inbox):
    def chart_and_lists(book):
        book.create_sheet("Grafik").append(["Grafik pengaduan per bulan"])
        lists = book.create_sheet("Daftar")
        for unit in ("DPU", "DLH", "DINKES"):
            lists.append([unit])
        lists.sheet_state = "hidden"
    expected = yearly(inbox / "rekap-2024.xlsx", chart_and_lists)
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    got = reports(app)
    assert {k: v["title"] for k, v in got.items()} == expected  # 15 rows, each once
    note = last_run(app)["reports"]["skipped"]["rekap-2024.xlsx"]
    assert note["rows"] == 3  # each month's totals row
    assert note["sheets"] == {"Grafik": "no table in it", "Daftar": "no table in it"}
    assert run(app, recap)["counts"]["read"] == 0
    assert len(reports(app)) == 15


def test_a_sheet_that_may_be_data_is_named_on_the_run(app, recap, inbox):
    def summary(book):
        sheet = book.create_sheet("Ringkasan")
        sheet.append(["Bulan", "Jumlah aduan", "Selesai", "Proses"])
        for month in MONTHS:
            sheet.append([month, 5, 2, 3])
    expected = yearly(inbox / "rekap-2024.xlsx", summary)
    result = run(app, recap)
    # Every recap row arrived, but a sheet with a table was not read: never "succeeded".
    assert result["status"] == "partial", result
    assert "sheet 'Ringkasan' was not read" in result["error"]
    assert "no heading row with the column 'Judul'" in result["error"]
    assert "`sheets`" in result["error"]
    assert set(reports(app)) == set(expected)
    # The officer names the sheets to read: the file is read again, nothing doubles.
    configure(app, recap, sheets=list(MONTHS))
    again = run(app, recap)
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0 and again["counts"]["unchanged"] == 15
    note = last_run(app)["reports"]["skipped"]["rekap-2024.xlsx"]
    assert note["sheets"] == {"Ringkasan": "not listed in `sheets`"}
    assert len(reports(app)) == 15


def test_sheets_named_in_the_manifest_must_exist_and_have_the_heading(app, recap, inbox):
    configure(app, recap, sheets=["Januari", "April"])
    yearly(inbox / "rekap-2024.xlsx")
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))  # April: not there yet
    assert len(reports(app)) == 5
    configure(app, recap, sheets=["Juli"])
    result = run(app, recap)
    assert result["status"] == "partial"
    [reason] = errors(app)
    assert "rekap-2024.xlsx: it has no worksheet 'Juli' (it has Januari, Februari, " \
        "Maret)" in reason


def test_a_sheet_named_in_the_manifest_without_the_heading_fails(app, recap, inbox):
    configure(app, recap, sheets=["Maret", "Grafik"])
    yearly(inbox / "rekap-2024.xlsx",
           lambda book: book.create_sheet("Grafik").append(["Grafik", "per", "bulan"]))
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 1, result
    [reason] = errors(app)
    assert "rekap-2024.xlsx: sheet 'Grafik': no heading row with the column 'Judul'" \
        in reason
    assert sorted(reports(app)) == [f"340403{i}" for i in range(1, 6)]


def test_a_month_sheet_with_a_renamed_column_fails_loudly(app, recap, inbox):
    def broken(book):
        sheet = book.create_sheet("April")
        sheet.append(["No", "Tgl", "Tracking ID", "User", "Judul", "Stakeholder",
                      "Tanggapan", "Keterangan"])
        sheet.append(row(1, "01/04/2024", "Aduan April", tid="3404401"))
    yearly(inbox / "rekap-2024.xlsx", broken)
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 1
    [reason] = errors(app)
    assert "rekap-2024.xlsx: sheet 'April': the heading row (row 1) has no column " \
        "'Tanggal'" in reason
    assert len(reports(app)) == 15


# --- merged headings --------------------------------------------------------------------

def merged_recap(path):
    """Row 1 a merged title, row 3 "Pelapor" merged over "Nama"/"Telepon" on row 4, the
    other headings merged down over both rows; a date merged down over a day's rows and a
    section line merged across the table."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["REKAP PENGADUAN KABUPATEN BANTUL"])
    sheet.merge_cells("A1:I1")
    sheet.append([])
    sheet.append(["No", "Tanggal", "Tracking ID", "Pelapor", None, "Judul", "Stakeholder",
                  "Tanggapan", "Keterangan"])
    sheet.append([None, None, None, "Nama", "Telepon"])
    sheet.merge_cells("D3:E3")
    for col in "ABCFGHI":
        sheet.merge_cells(f"{col}3:{col}4")
    sheet.append(["MINGGU PERTAMA"])
    sheet.merge_cells("A5:I5")
    sheet.append([1, "02/01/2024", "3405001", "Budi", "0812", "Jalan rusak", "DPU",
                  "Ditambal", "Selesai"])
    sheet.append([2, None, "3405002", "Siti", "0813", "Sampah menumpuk", "DLH", None,
                  "Proses"])
    sheet.merge_cells("B6:B7")  # one date for both complaints of the day
    sheet.append([3, "05/01/2024", "3405003", "Joko", None, "Lampu mati", "DPU", None,
                  None])
    book.save(path)


@pytest.mark.parametrize("heading", ["Nama", "Pelapor Nama"])
def test_a_two_row_merged_heading_is_read(app, recap, inbox, heading):
    configure(app, recap, columns={"reporter.name": heading,
                                   "reporter.phone": {"path": "Telepon", "optional": True}})
    merged_recap(inbox / "rekap.xlsx")
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    got = reports(app)
    assert sorted(got) == ["3405001", "3405002", "3405003"]
    assert got["3405002"]["submitted_at"] == got["3405001"]["submitted_at"]
    assert got["3405003"]["status"] == "received"
    with app.app_context():
        names = dict(db.session.execute(sa.select(ReportExternalRef.external_id,
                                                  Report.reporter_name).join(
            Report, Report.id == ReportExternalRef.report_id)).all())
    assert names == {"3405001": "Budi", "3405002": "Siti", "3405003": "Joko"}


def test_a_two_row_heading_in_a_csv(app, recap, inbox):
    configure(app, recap, columns={"reporter.name": "Pelapor Nama"})
    lines = ["No;Tanggal;Tracking ID;Pelapor;;Judul;Stakeholder;Tanggapan;Keterangan",
             ";;;Nama;Telepon;;;;",
             "1;02/01/2024;3405101;Budi;0812;Jalan rusak;DPU;;Proses"]
    (inbox / "rekap.csv").write_text("\n".join(lines), encoding="utf-8")
    assert run(app, recap)["status"] == "succeeded", errors(app)
    assert list(reports(app)) == ["3405101"]


def test_an_ambiguous_heading_is_refused_naming_both(app, recap, inbox):
    configure(app, recap, columns={"reporter.name": "Nama"})
    lines = ["No;Tanggal;Tracking ID;Pelapor;Petugas;Judul;Stakeholder;Tanggapan;Keterangan",
             ";;;Nama;Nama;;;;",
             "1;02/01/2024;3405201;Budi;Wati;Jalan rusak;DPU;;Proses"]
    (inbox / "rekap.csv").write_text("\n".join(lines), encoding="utf-8")
    assert run(app, recap)["status"] == "partial"
    [reason] = errors(app)
    assert "more than one column is headed 'nama'" in reason and "Pelapor Nama" in reason


# --- HTML saved as .xls -----------------------------------------------------------------

HTML_EXPORT = """<html><head><meta charset="utf-8"><title>Export</title></head><body>
<table><tr><td>LAPORAN PENGADUAN &ndash; DINAS LINGKUNGAN HIDUP</td></tr></table>
<table border="1">
<tr><th rowspan="2">No</th><th rowspan="2">Tanggal</th><th rowspan="2">Tracking ID</th>
    <th colspan="2">Pelapor</th><th rowspan="2">Judul</th><th rowspan="2">Stakeholder</th>
    <th rowspan="2">Tanggapan</th><th rowspan="2">Keterangan</th></tr>
<tr><th>Nama</th><th>Telepon</th></tr>
<tr><td>1</td><td>16-Jan-2024</td><td>3406001</td><td>Budi</td><td>0812</td>
    <td>Sampah &amp; limbah di<br>Sungai Opak</td><td>DLH</td><td>Sudah diangkut</td>
    <td>Selesai</td></tr>
<tr><td>2</td><td>17-Jan-2024</td><td>3406002</td><td>Anonim</td><td></td>
    <td>Bau TPS Piyungan</td><td>DLH</td><td>-</td><td>Proses</td></tr>
<tr><td colspan="5">Jumlah</td><td>2</td><td></td><td></td><td></td></tr>
</table></body></html>"""


def test_an_html_table_saved_as_xls_is_read(app, recap, inbox):
    configure(app, recap, columns={"reporter.name": "Nama"})
    (inbox / "export-lapor.xls").write_text(HTML_EXPORT, encoding="utf-8")
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    got = reports(app)
    assert got["3406001"]["title"] == "Sampah & limbah di Sungai Opak"
    assert got["3406001"]["status"] == "resolved"
    assert got["3406002"]["submitted_at"].isoformat() == "2024-01-16T17:00:00+00:00"
    assert responses(app) == ["Sudah diangkut"]
    assert last_run(app)["reports"]["skipped"]["export-lapor.xls"]["rows"] == 1


def test_an_html_table_wider_than_a_recap_is_refused_quickly(app, recap, inbox):
    cells = '<td colspan="1000">x</td>' * 50_000
    (inbox / "lebar.xls").write_text(f"<table><tr>{cells}</tr></table>")
    result = run(app, recap)
    assert result["status"] == "failed"
    assert "lebar.xls row 1 has more than 200 columns" in result["error"]


# --- encodings --------------------------------------------------------------------------

def csv_text(rows):
    return "\r\n".join(";".join(str(c) for c in r) for r in [HEADER] + rows) + "\r\n"


def test_csv_in_the_encodings_excel_saves(app, recap, inbox):
    rows = {
        "bom.csv": ([row(1, "02/01/2024", "Jalan “rusak” – km 5", tid="3407001")],
                    "utf-8-sig"),
        "windows.csv": ([row(1, "03/01/2024", "Café liar – trotoar", tid="3407002")],
                        "cp1252"),
        "latin.csv": ([row(1, "04/01/2024", "Pasar Bringharjo ½ tutup", tid="3407003")],
                      "latin-1"),
    }
    for name, (lines, encoding) in rows.items():
        (inbox / name).write_bytes(csv_text(lines).encode(encoding))
    # Excel's "Unicode Text": UTF-16 with a BOM, tab-separated.
    unicode_text = "\r\n".join("\t".join(str(c) for c in r) for r in
                               [HEADER, row(1, "05/01/2024", "Pohon tumbang", tid="3407004")])
    (inbox / "unicode.txt").write_bytes(unicode_text.encode("utf-16"))
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    got = reports(app)
    assert got["3407001"]["title"] == "Jalan “rusak” – km 5"
    assert got["3407002"]["title"] == "Café liar – trotoar"
    assert got["3407003"]["title"] == "Pasar Bringharjo ½ tutup"
    assert got["3407004"]["title"] == "Pohon tumbang"


def test_binary_content_under_a_csv_name_is_refused_clearly(app, recap, inbox):
    (inbox / "rekap.csv").write_bytes(bytes(range(256)) * 40)
    (inbox / "foto.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    write_csv(inbox / "rekap-baik.csv", [row(1, "02/01/2024", "Jalan rusak", tid="3407101")])
    result = run(app, recap)
    assert result["status"] == "partial" and result["counts"]["failed"] == 2, result
    reasons = errors(app)
    assert all("is not text (binary content" in r and "save the recap as .xlsx or CSV" in r
               for r in reasons), reasons
    assert {r.split(": ")[1] for r in reasons} == {"foto.csv", "rekap.csv"}
    assert list(reports(app)) == ["3407101"]  # the good file still arrives


# --- anonymous reporters ----------------------------------------------------------------

def test_anonymous_reporters_are_anonymous_reports(app, recap, inbox):
    said = {"3408001": "Anonim", "3408002": "anonim", "3408003": "Anonymous",
            "3408004": "-", "3408005": "Dirahasiakan", "3408006": "Budi"}
    write_csv(inbox / "rekap.csv", [row(i, "02/01/2024", f"Aduan {tid}", user=who, tid=tid)
                                    for i, (tid, who) in enumerate(said.items(), 1)])
    assert run(app, recap)["status"] == "succeeded", errors(app)
    with app.app_context():
        got = {ext: (r.anonymous, r.reporter_name) for ext, r in db.session.execute(
            sa.select(ReportExternalRef.external_id, Report).join(
                Report, Report.id == ReportExternalRef.report_id)).all()}
    assert got == {**{tid: (True, None) for tid in list(said)[:5]},
                   "3408006": (False, "Budi")}


# --- all of it at once ------------------------------------------------------------------

def test_a_yearly_office_workbook_arrives_whole_and_once(app, recap, inbox):
    """One worksheet per month, each with a merged title block, "Pelapor" merged over
    "Nama" / "Telepon", dates typed every way (and as serial numbers), an anonymous
    reporter, a totals row and a signature block."""
    configure(app, recap, columns={"reporter.name": "Pelapor Nama"})
    dates = ["12 Januari 2024", "Rabu, 17 Januari 2024", "16-Jan-2024", "12 Des. 2024",
             45306]
    book = openpyxl.Workbook()
    book.remove(book.active)
    expected = {}
    for m, month in enumerate(MONTHS, 1):
        sheet = book.create_sheet(month)
        sheet.append([f"REKAP PENGADUAN BULAN {month.upper()} 2024"])
        sheet.merge_cells("A1:I1")
        sheet.append(["DINAS PEKERJAAN UMUM"])
        sheet.append([])
        sheet.append(["No", "Tanggal", "Tracking ID", "Pelapor", None, "Judul",
                      "Stakeholder", "Tanggapan", "Keterangan"])
        sheet.append([None, None, None, "Nama", "Telepon"])
        sheet.merge_cells("D4:E4")
        for col in "ABCFGHI":
            sheet.merge_cells(f"{col}4:{col}5")
        for i, when in enumerate(dates, 1):
            tid = "" if i == 5 else f"3409{m}{i:02d}"
            title = f"Aduan {month} ke-{i}"
            who = "Anonim" if i == 2 else f"Warga {i}"
            sheet.append([i, when, tid, who, "0812", title, "DPU", "Ditangani" if i == 1
                          else None, "Proses"])
            expected[title] = tid
        sheet.append(["Jumlah", None, None, None, None, 5])
        sheet.append([])
        sheet.append([None] * 6 + ["Mengetahui,"])
        sheet.append([None] * 6 + ["Kepala Dinas Pekerjaan Umum"])
        sheet.append([])
        sheet.append([None] * 6 + ["Ir. SUTRISNO, M.T."])
        sheet.append([None] * 6 + ["NIP. 19700101 199503 1 001"])
    book.save(inbox / "rekap-2024.xlsx")
    result = run(app, recap)
    assert result["status"] == "succeeded", (result, errors(app))
    assert result["counts"]["failed"] == 0 and result["counts"]["held"] == 0
    got = reports(app)
    assert sorted(v["title"] for v in got.values()) == sorted(expected)  # each row once
    assert responses(app) == ["Ditangani"] * 3
    note = last_run(app)["reports"]["skipped"]["rekap-2024.xlsx"]
    assert note == {"rows": 15, "sheets": {}}  # five lines under each month's table
    with app.app_context():
        anonymous = db.session.execute(sa.select(sa.func.count()).select_from(Report)
                                       .where(Report.anonymous.is_(True))).scalar()
    assert anonymous == 3
    # Saved again with a remark above the table (new bytes, same rows): nothing doubles.
    book["Januari"]["K1"] = "revisi 2"
    book.save(inbox / "rekap-2024 (revisi).xlsx")
    again = run(app, recap)
    assert again["status"] == "succeeded" and again["counts"]["created"] == 0, again
    assert again["counts"]["unchanged"] == 15 + 3, again  # read again, every row
    assert len(reports(app)) == 15
