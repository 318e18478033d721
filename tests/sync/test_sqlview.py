"""The SQL connector against real local databases (a scratch PostgreSQL database, and
MariaDB when it is reachable), through the real engine."""
import copy
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from connectors.base import ConnectorError
from hub.extensions import db
from hub.models import Connector, Report, ReportExternalRef, Response, SyncRun
from hub.sync import files, registry
from hub.sync.runner import run_connector
from tests.conftest import ADMIN_URL
from tests.sync import ukk

JSS_FILE = Path(__file__).resolve().parents[2] / \
    "mappings/kota-yogyakarta/jogja-smart-service.yaml"
T0 = datetime(2024, 3, 1, 8, 0)  # local (naive) time, as the app's DATETIME columns hold
WIB = timezone(timedelta(hours=7))

PG_SCHEMA = """
CREATE TABLE pengaduan (
    id_pengaduan integer PRIMARY KEY, judul text, isi text, kategori text, status text,
    opd text, kanal text, nama_pelapor text, telepon_pelapor text, anonim smallint,
    lokasi text, lat numeric(9, 6), lng numeric(9, 6), tanggal_lapor timestamp,
    diubah_pada timestamp);
CREATE TABLE tindak_lanjut (
    id_tindak_lanjut integer PRIMARY KEY, id_pengaduan integer, isi text, petugas text,
    waktu timestamptz, diubah_pada timestamptz, dihapus smallint NOT NULL DEFAULT 0);
"""


def _admin():
    return sa.make_url(ADMIN_URL).set(drivername="postgresql")


READER = f"sqlview_reader_{os.getpid()}"  # the operator's SELECT-only role for the source


@pytest.fixture
def local_pg():
    """A scratch PostgreSQL database standing in for the local app's, with a role that
    may only read it (the hub refuses its own credentials); dropped after."""
    name = f"sqlview_src_{os.getpid()}"
    with psycopg.connect(_admin().render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone():
            conn.execute(f'CREATE ROLE "{READER}" LOGIN')
    url = _admin().set(database=name).render_as_string(False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PG_SCHEMA)
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{READER}"')
    yield url
    with psycopg.connect(_admin().render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reader_url(url: str) -> str:
    """The source as the operator configures it: the local database, read-only role."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(username=READER, password=None).render_as_string(False)


def pg_exec(url, sql, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall() if sql.lstrip().upper().startswith(
            "SELECT") else conn.execute(sql, params)


def add_report(url, ident, at, *, status="baru", opd="DPUPKP", kategori="Jalan Rusak",
               table="pengaduan", execute=None):
    execute = execute or (lambda sql, *p: pg_exec(url, sql, *p))
    execute(f"INSERT INTO {table} (id_pengaduan, judul, isi, kategori, status, opd, kanal, "
            "nama_pelapor, telepon_pelapor, anonim, lokasi, lat, lng, tanggal_lapor, "
            "diubah_pada) VALUES (%s, %s, %s, %s, %s, %s, 'jss', 'Warga', '0812', 0, "
            "'Jl. Malioboro', -7.793, 110.365, %s, %s)",
            ident, f"Aduan {ident}", f"Isi aduan {ident}", kategori, status, opd, at, at)


def add_response(url, ident, report, at, *, dihapus=0):
    pg_exec(url, "INSERT INTO tindak_lanjut VALUES (%s, %s, %s, 'Petugas DPUPKP', %s, %s, %s)",
            ident, report, f"Tindak lanjut {ident}", at, at, dihapus)


def connect(app, url, **config):
    """The example connector file, reading `url` as the operator's source 'jss'."""
    app.config["HUB_SQL_SOURCES"] = {"jss": {"url": reader_url(url),
                                             "agencies": ["kota-yogyakarta"]}}
    doc = copy.deepcopy(files.load_file(JSS_FILE))
    assert doc["connector"]["config"]["source"] == "jss"
    doc["connector"]["config"]["page_size"] = 3  # pages end inside a run of equal times
    doc["connector"]["lookback_seconds"] = 0    # the keyset alone must not skip anything
    for key, value in config.items():
        doc["connector"]["config"]["streams"][key].update(value)
    with app.app_context():
        conn = files.import_document(db.session, doc)
        db.session.commit()
        return conn.id


def run(app, connector_id):
    with app.app_context():
        r = db.session.get(SyncRun, run_connector(connector_id, "manual"))
        return {"status": r.status, "counts": dict(r.counts), "error": r.error,
                "cursor_after": r.cursor_after}


def hub_reports(app):
    with app.app_context():
        rows = db.session.execute(sa.select(ReportExternalRef.external_id, Report).join(
            Report, Report.id == ReportExternalRef.report_id)).all()
        return {ext: r for ext, r in rows}


def test_backfill_then_incremental_by_keyset(app, local_pg):
    add_report(local_pg, 1, T0)
    for ident in range(2, 7):  # five rows share one timestamp across a page boundary
        add_report(local_pg, ident, T0 + timedelta(hours=1), opd="DLH", kategori="Sampah")
    add_report(local_pg, 7, T0 + timedelta(hours=2), status="proses")
    add_response(local_pg, 1, 1, (T0 + timedelta(hours=3)).replace(tzinfo=WIB))
    add_response(local_pg, 2, 2, (T0 + timedelta(hours=3)).replace(tzinfo=WIB), dihapus=1)
    jss = connect(app, local_pg)

    first = run(app, jss)
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 8  # seven reports, one (not deleted) response
    got = hub_reports(app)
    assert sorted(got, key=int) == [str(i) for i in range(1, 8)]
    with app.app_context():
        one = db.session.get(Report, got["1"].id)
        assert one.agency_code == "kota-yogyakarta.dpupkp" and one.channel == "local_app"
        assert one.category_code == "infrastruktur.jalan" and one.status == "received"
        # Naive DATETIME values are Asia/Jakarta time.
        assert one.submitted_at == T0.replace(tzinfo=WIB)
        assert db.session.get(Report, got["7"].id).status == "in_progress"
        assert [r.body for r in db.session.execute(sa.select(Response)).scalars()] == \
            ["Tindak lanjut 1"]
    assert first["cursor_after"]["reports"]["key"] == [(T0 + timedelta(hours=2)).isoformat(),
                                                       7]

    # More rows at the cursor's very timestamp, later rows, and a changed row.
    add_report(local_pg, 8, T0 + timedelta(hours=2))
    add_report(local_pg, 9, T0 + timedelta(hours=2))
    add_report(local_pg, 10, T0 + timedelta(hours=3))
    pg_exec(local_pg, "UPDATE pengaduan SET status = 'selesai', diubah_pada = %s "
            "WHERE id_pengaduan = 1", T0 + timedelta(hours=3))
    second = run(app, jss)
    assert second["status"] == "succeeded", second
    assert (second["counts"]["created"], second["counts"]["updated"]) == (3, 1), second
    got = hub_reports(app)
    assert len(got) == 10
    with app.app_context():
        assert db.session.get(Report, got["1"].id).status == "resolved"

    # Nothing new: nothing read. With a lookback window: re-read, nothing changed.
    assert run(app, jss)["counts"]["read"] == 0
    with app.app_context():
        db.session.get(Connector, jss).lookback_seconds = 600
        db.session.commit()
    again = run(app, jss)
    assert again["counts"]["read"] >= 2 and again["counts"]["created"] == 0
    assert again["counts"]["updated"] == 0 and len(hub_reports(app)) == 10


def test_the_connector_cannot_write(app, local_pg):
    add_report(local_pg, 1, T0)
    jss = connect(app, local_pg)
    with app.app_context():
        connector = registry.build(db.session.get(Connector, jss))
    # Inside the connector's own read transaction...
    with pytest.raises(ConnectorError) as err:
        with connector._connect() as cx, connector._transaction(cx):
            assert cx.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
            cx.exec_driver_sql("UPDATE pengaduan SET status = 'dirusak'")
    assert "read-only" in str(err.value) and err.value.retryable is False
    # ...and on any session it opens, even outside that transaction.
    with connector.engine.connect() as cx:
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            cx.exec_driver_sql("DELETE FROM pengaduan")
    assert pg_exec(local_pg, "SELECT status FROM pengaduan") == [("baru",)]
    for call in (lambda: connector.write_report({}), lambda: connector.write_response("1", {}),
                 lambda: connector.write_status("1", "selesai", None)):
        with pytest.raises(ConnectorError) as err:
            call()
        assert err.value.retryable is False
    assert connector.find_report("x") is None and connector.find_response("x") is None
    assert connector.check()["ok"] is True


@pytest.mark.parametrize("query", ["UPDATE pengaduan SET status = 'x'",
                                   "SELECT * FROM pengaduan; DROP TABLE pengaduan",
                                   "pengaduan; DROP TABLE pengaduan"])
def test_queries_that_are_not_one_select_are_refused(app, local_pg, query):
    jss = connect(app, local_pg, reports={"query": query})
    result = run(app, jss)
    assert result["status"] == "failed"
    assert "one statement" in result["error"] or "not a plain" in result["error"]
    assert pg_exec(local_pg, "SELECT count(*) FROM pengaduan") == [(0,)]


def test_bad_rows_are_reported_and_the_rest_arrive(app, local_pg):
    add_report(local_pg, 1, T0)
    add_report(local_pg, 2, T0)
    pg_exec(local_pg, "UPDATE pengaduan SET judul = NULL WHERE id_pengaduan = 2")
    result = run(app, connect(app, local_pg))
    assert result["status"] == "partial" and result["counts"]["failed"] == 1, result
    assert set(hub_reports(app)) == {"1"}


# --- MariaDB ---------------------------------------------------------------------------

@pytest.fixture
def local_mariadb():
    ukk.need_mariadb()
    url = sa.make_url(ukk.MARIADB_URL)
    conn = ukk.mariadb_connection()
    suffix = os.getpid()
    tables = (f"pengaduan_{suffix}", f"tindak_lanjut_{suffix}")
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {tables[0]} (id_pengaduan INT PRIMARY KEY, judul TEXT, "
                    "isi TEXT, kategori VARCHAR(50), status VARCHAR(20), opd VARCHAR(20), "
                    "kanal VARCHAR(20), nama_pelapor TEXT, telepon_pelapor TEXT, "
                    "anonim TINYINT, lokasi TEXT, lat DECIMAL(9,6), lng DECIMAL(9,6), "
                    "tanggal_lapor DATETIME, diubah_pada DATETIME)")
        cur.execute(f"CREATE TABLE {tables[1]} (id_tindak_lanjut INT PRIMARY KEY, "
                    "id_pengaduan INT, isi TEXT, petugas TEXT, waktu DATETIME, "
                    "diubah_pada DATETIME, dihapus TINYINT NOT NULL DEFAULT 0)")

    def execute(sql, *params):
        with conn.cursor() as cur:
            cur.execute(sql, params)
    yield url.render_as_string(False), tables, execute
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    conn.close()


def test_mariadb_backfill_keyset_and_read_only(app, local_mariadb):
    url, (reports, answers), execute = local_mariadb
    for ident in range(1, 6):  # all five share one timestamp; pages hold three
        add_report(url, ident, T0, table=reports, execute=execute)
    execute(f"INSERT INTO {answers} VALUES (1, 1, 'Sudah ditangani', 'Petugas', %s, %s, 0)",
            T0, T0)
    jss = connect(app, url, reports={"query": reports}, responses={
        "query": f"SELECT * FROM {answers} WHERE dihapus = 0 AND waktu > '2000-01-01 00:00'"})
    first = run(app, jss)
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 6
    add_report(url, 6, T0, table=reports, execute=execute)  # the cursor's own timestamp
    assert run(app, jss)["counts"]["created"] == 1
    assert sorted(hub_reports(app), key=int) == [str(i) for i in range(1, 7)]
    with app.app_context():
        connector = registry.build(db.session.get(Connector, jss))
    with pytest.raises(ConnectorError, match="(?i)read.only"):
        with connector._connect() as cx, connector._transaction(cx):
            cx.exec_driver_sql(f"UPDATE {reports} SET status = 'dirusak'")
    with connector.engine.connect() as cx:
        with pytest.raises(sa.exc.DBAPIError, match="(?i)read.only"):
            cx.exec_driver_sql(f"DELETE FROM {reports}")
