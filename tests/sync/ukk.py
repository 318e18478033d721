"""The common "pengaduan masyarakat" schema (no last-modified column), loaded from the
real MariaDB dump into a scratch database (PostgreSQL, or MariaDB itself, where the dump
comes from), and a SQL connector reading it.

A source is named by its URL: postgresql://... or mysql://...; every helper here takes
that URL and speaks the database's own dialect."""
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
MARIADB_URL = os.environ.get("HUB_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
# Set by `make test`, which starts MariaDB: there, an unreachable server fails the tests
# instead of skipping them.
REQUIRE_MARIADB = os.environ.get("HUB_TEST_REQUIRE_MARIADB") == "1"
TABLES = ("masyarakat", "pengaduan", "petugas", "tanggapan")
STATUS = {"0": "received", "proses": "in_progress", "selesai": "resolved"}


def dump_statements(dump: str) -> list[str]:
    """The dump's CREATE TABLE and INSERT statements, without its comments and session
    settings, one string each."""
    out = []
    for statement in re.split(r";\s*\n", dump):
        lines = [ln for ln in statement.splitlines()
                 if ln.strip() and not ln.lstrip().startswith(("--", "/*"))]
        text = "\n".join(lines).strip()
        if text.upper().startswith(("CREATE TABLE", "INSERT INTO")):
            out.append(text)
    return out


def postgres_ddl(dump: str) -> str:
    """The dump's tables and rows in PostgreSQL's words (types, quoting, no engine)."""
    out = []
    for text in dump_statements(dump):
        text = text.replace("`", '"')
        text = re.sub(r"\bint\(\d+\)", "integer", text)
        text = re.sub(r"\benum\([^)]*\)", "text", text)
        text = re.sub(r"\s+AUTO_INCREMENT\b", "", text)
        text = re.sub(r"\)\s*ENGINE=.*$", ")", text, flags=re.S)
        out.append(text)
    return ";\n".join(out) + ";"


def admin():
    return sa.make_url(ADMIN_URL).set(drivername="postgresql")


def mariadb_statements(dump: str) -> list[str]:
    """The dump's statements as a MariaDB server takes them one by one: its tables and
    rows, with the collation of MariaDB 11 (uca1400) spelled as older servers know it."""
    return [text.replace("utf8mb4_uca1400_ai_ci", "utf8mb4_unicode_ci")
            for text in dump_statements(dump)]


def is_mariadb(url: str) -> bool:
    return sa.make_url(url).get_backend_name() in ("mysql", "mariadb")


def mariadb_connection(url=None, database=None):
    import pymysql
    target = sa.make_url(url or MARIADB_URL)
    return pymysql.connect(host=target.host, port=target.port or 3306,
                           user=target.username, password=target.password or "",
                           database=database or target.database, autocommit=True,
                           connect_timeout=3)


def mariadb_reachable() -> str | None:
    """None when MariaDB answers, else why not."""
    try:
        import pymysql
    except ImportError:
        return "pymysql is not installed"
    try:
        mariadb_connection().close()
    except pymysql.err.OperationalError as exc:
        return f"MariaDB is not reachable at {MARIADB_URL}: {exc}"
    return None


def need_mariadb() -> None:
    """Skip a MariaDB test where no server answers; under `make test`, which starts one,
    fail it instead (a skip there would hide a lost test)."""
    import pytest
    if why := mariadb_reachable():
        if REQUIRE_MARIADB:
            pytest.fail(why)
        pytest.skip(why)


def create_source(name: str, *, stamped: bool = False, engine: str = "postgresql") -> str:
    """A scratch database holding the dump (plus, `stamped`, a last-modified column the
    app sets from its own clock), readable by a SELECT-only role; returns its URL."""
    if engine == "mariadb":
        return _create_mariadb_source(name, stamped=stamped)
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


def _create_mariadb_source(name: str, *, stamped: bool) -> str:
    conn = mariadb_connection()
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{name}`")
        for statement in mariadb_statements(DUMP.read_text(encoding="utf-8")):
            cur.execute(statement)
        if stamped:
            cur.execute("ALTER TABLE pengaduan ADD COLUMN diubah datetime")
            cur.execute("ALTER TABLE tanggapan ADD COLUMN diubah datetime")
            cur.execute("UPDATE pengaduan SET diubah = tgl_pengaduan")
        cur.execute(f"CREATE USER IF NOT EXISTS '{READER}'@'%'")
        # Per table, not per database, so that a test can take one table away.
        for table in TABLES:
            cur.execute(f"GRANT SELECT ON `{name}`.`{table}` TO '{READER}'@'%'")
    conn.close()
    return sa.make_url(MARIADB_URL).set(database=name).render_as_string(False)


def drop_source(name: str, engine: str = "postgresql") -> None:
    if engine == "mariadb":
        conn = mariadb_connection()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
        return
    with psycopg.connect(admin().render_as_string(False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reader_url(url: str) -> str:
    return sa.make_url(url).set(username=READER, password=None).render_as_string(False)


def execute(url, sql, *params):
    if is_mariadb(url):
        conn = mariadb_connection(url)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params or None)
                return list(cur.fetchall()) if cur.description else None
        finally:
            conn.close()
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def revoke(url: str, table: str) -> None:
    """The local administrator takes the reader's access to one table away."""
    _privilege(url, "REVOKE SELECT ON {} FROM {}", table)


def grant(url: str, table: str) -> None:
    _privilege(url, "GRANT SELECT ON {} TO {}", table)


def _privilege(url: str, statement: str, table: str) -> None:
    if is_mariadb(url):
        where = f"`{sa.make_url(url).database}`.`{table}`"
        execute(url, statement.format(where, f"'{READER}'@'%'"))
    else:
        execute(url, statement.format(table, f'"{READER}"'))


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
