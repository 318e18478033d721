"""The common "pengaduan masyarakat" schema (no last-modified column), loaded from the
real MariaDB dump into a scratch PostgreSQL database, and a SQL connector reading it."""
import os
import re
from pathlib import Path

import psycopg
import sqlalchemy as sa

from hub.extensions import db
from hub.sync import files
from tests.conftest import ADMIN_URL

DUMP = Path("/work/shared/realworld/fixtures/sql/ukk_pengaduanmasyarakat.sql")
if not DUMP.exists():  # a checkout elsewhere: the copy next to the worktrees
    DUMP = Path(__file__).resolve().parents[3] / "shared/realworld/fixtures/sql" / \
        "ukk_pengaduanmasyarakat.sql"
READER = f"ukk_reader_{os.getpid()}"
STATUS = {"0": "received", "proses": "in_progress", "selesai": "resolved"}


def postgres_ddl(dump: str) -> str:
    """The dump's tables and rows in PostgreSQL's words (types, quoting, no engine)."""
    out = []
    for statement in re.split(r";\s*\n", dump):
        lines = [ln for ln in statement.splitlines()
                 if ln.strip() and not ln.lstrip().startswith(("--", "/*"))]
        text = "\n".join(lines).strip()
        if not text.upper().startswith(("CREATE TABLE", "INSERT INTO")):
            continue
        text = text.replace("`", '"')
        text = re.sub(r"\bint\(\d+\)", "integer", text)
        text = re.sub(r"\benum\([^)]*\)", "text", text)
        text = re.sub(r"\s+AUTO_INCREMENT\b", "", text)
        text = re.sub(r"\)\s*ENGINE=.*$", ")", text, flags=re.S)
        out.append(text)
    return ";\n".join(out) + ";"


def admin():
    return sa.make_url(ADMIN_URL).set(drivername="postgresql")


def create_source(name: str, *, stamped: bool = False) -> str:
    """A scratch database holding the dump (plus, `stamped`, a last-modified column the
    app sets from its own clock), readable by a SELECT-only role; returns its URL."""
    with psycopg.connect(admin().render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (READER,)).fetchone():
            conn.execute(f'CREATE ROLE "{READER}" LOGIN')
    url = admin().set(database=name).render_as_string(False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(postgres_ddl(DUMP.read_text(encoding="utf-8")))
        if stamped:
            conn.execute("ALTER TABLE pengaduan ADD COLUMN diubah timestamp")
            conn.execute("ALTER TABLE tanggapan ADD COLUMN diubah timestamp")
            conn.execute("UPDATE pengaduan SET diubah = tgl_pengaduan")
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{READER}"')
    return url


def drop_source(name: str) -> None:
    with psycopg.connect(admin().render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reader_url(url: str) -> str:
    return sa.make_url(url).set(username=READER, password=None).render_as_string(False)


def execute(url, sql, *params):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def document(cid: str, source: str, *, stamped: bool = False, page_size: int = 4,
             lookback: int = 0, **extra) -> dict:
    """The connector an officer writes for this schema. Without a last-modified column
    its only date is the complaint's (tgl_pengaduan): the since column a sync can use."""
    since = "diubah" if stamped else "tgl_pengaduan"
    response_since = "diubah" if stamped else "tgl_tanggapan"
    return {"connector": {
        "id": cid, "agency": "kota-yogyakarta", "kind": "sql", "system": cid,
        "lookback_seconds": lookback, **extra,
        "config": {
            "source": source, "timezone": "Asia/Jakarta", "page_size": page_size,
            "defaults": {"category": "infrastruktur.jalan", "channel": "local_app"},
            "streams": {
                "reports": {
                    "query": "SELECT p.*, m.nama, m.telp FROM pengaduan p LEFT JOIN "
                             "masyarakat m ON m.nik = p.nik",
                    "since_column": since, "id_column": "id_pengaduan",
                    "fields": {"external_id": {"path": "id_pengaduan", "type": "str"},
                               "submitted_at": {"path": "tgl_pengaduan",
                                                "type": "datetime"},
                               "title": "isi_laporan", "body": "isi_laporan",
                               "status": "status", "reporter.name": "nama",
                               "reporter.phone": "telp"}},
                "responses": {
                    "query": "tanggapan", "since_column": response_since,
                    "id_column": "id_tanggapan",
                    "fields": {"external_id": {"path": "id_tanggapan", "type": "str"},
                               "report_external_id": {"path": "id_pengaduan",
                                                      "type": "str"},
                               "created_at": {"path": "tgl_tanggapan", "type": "datetime"},
                               "body": "tanggapan"}}}}},
        "mappings": {"status": {"0": "received", "proses": "in_progress",
                                "selesai": "resolved"}}}


def connect(app, url: str, cid: str, **kwargs) -> str:
    app.config["HUB_SQL_SOURCES"] = {**(app.config.get("HUB_SQL_SOURCES") or {}),
                                     cid: {"url": reader_url(url),
                                           "agencies": ["kota-yogyakarta"]}}
    with app.app_context():
        conn = files.import_document(db.session, document(cid, cid, **kwargs))
        db.session.commit()
        return conn.id
