"""SQL connector: read a local system's own database when the app has no API.

Many regional apps (CodeIgniter/Laravel on MariaDB, some on PostgreSQL) were never given
an API; their database is the only door. This connector reads it and never writes (see
mappings/kota-yogyakarta/jogja-smart-service.yaml):

  url        postgresql://user@host/db or mysql://user@host/db (MariaDB too); the secret
             `password` is merged in, so it never sits in the connector file. Run by the
             hub, the tenant names a `source` instead and the hub fills in the URL and
             credentials the operator configured for it (hub.sync.destinations)
  streams    per stream a `query` (a view/table name, or one SELECT), its `since_column`
             (last-modified timestamp; optional: without one, new rows are read by id and
             changes only by a reconciliation) and `id_column` (unique), and field specs
             as in the REST connector (paths are column names)
  paging     keyset on (since_column, id_column): rows sharing one timestamp are never
             skipped at a page boundary, which LIMIT/OFFSET or `since >` alone would do

Read-only is enforced three times, because the hub must never damage a local system:
ask for a SELECT-only database user (the real guarantee), every session starts read-only,
and every page is read in a READ ONLY transaction that is rolled back.
"""
import re
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from connectors import fieldmap
from connectors.base import DEFAULTS_SCHEMA, ConnectorError, LocalRecord, Page, ReadOnly
from connectors.declarative import schema

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["source", "streams"],
    "properties": {
        "source": {"type": "string", "title": "Database source (one the hub's operator "
                   "configured for your agency)"},
        "timezone": {"type": "string", "title": "Time zone of naive timestamps",
                     "default": None},
        "timeout_seconds": {"type": "number", "default": 30},
        "page_size": {"type": "integer", "default": 500, "minimum": 1},
        "streams": {**schema.SQL_STREAMS, "title": "Per stream: query, since_column, "
                    "id_column, fields"},
        "defaults": DEFAULTS_SCHEMA,
    },
    "additionalProperties": False,
    "secrets": [],  # the source's credentials are the operator's, never the tenant's
}

DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
           "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def _plain(value):
    """Database values -> values the engine can store as JSON (Decimal, UUID, bytes)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return value


def _jsonable(value):
    return value.isoformat() if isinstance(value, (datetime, date)) else value


class SqlViewConnector(ReadOnly):
    kind = "sql"
    writable = False  # reading another system's tables is tolerated; writing never is

    def __init__(self, config: dict, secrets: dict | None = None):
        self.config = config
        self.tz = config.get("timezone")
        self.page_size = int(config.get("page_size", 500))
        self.streams = tuple(config.get("streams", {}))
        url = sa.make_url(config["url"])
        backend = url.drivername.split("+")[0]
        if backend not in DRIVERS:
            raise ConnectorError(f"database kind '{backend}' is not supported (use a "
                                 "postgresql:// or mysql:// URL)", retryable=False)
        if "+" not in url.drivername:
            url = url.set(drivername=DRIVERS[backend])
        if (secrets or {}).get("password"):
            url = url.set(password=secrets["password"])
        self.postgres = backend in ("postgresql", "postgres")
        timeout = self.timeout = max(1, int(float(config.get("timeout_seconds", 30))))
        if self.postgres:
            # Session-wide read-only and a statement timeout, set at connection start-up
            # (a SET inside a transaction would be undone by its rollback).
            args = {"connect_timeout": timeout,
                    "options": f"-c default_transaction_read_only=on "
                               f"-c statement_timeout={timeout * 1000}"}
        else:
            args = {"connect_timeout": timeout, "read_timeout": timeout,
                    "init_command": "SET SESSION TRANSACTION READ ONLY"}
        # One connection per run at most; the local server is not ours to crowd.
        self.engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
        self.quote = self.engine.dialect.identifier_preparer.quote
        for stream, cfg in config.get("streams", {}).items():
            self._source(stream, cfg)  # bad config fails at build time, loudly

    # --- SQL ----------------------------------------------------------------------------

    def _name(self, stream: str, name: str) -> str:
        if not isinstance(name, str) or not NAME.match(name):
            raise ConnectorError(f"stream {stream}: '{name}' is not a plain column or view "
                                 "name", retryable=False)
        return ".".join(self.quote(part) for part in name.split("."))

    def _source(self, stream: str, cfg: dict) -> str:
        query = (cfg.get("query") or "").strip().rstrip(";")
        if SELECT.match(query):
            if ";" in query:
                raise ConnectorError(f"stream {stream}: the query must be one statement",
                                     retryable=False)
            # text() reads ":name" as a bind parameter; the query's own colons ('10:30',
            # ::casts) are escaped so they reach the database as written.
            return "(" + query.replace(":", "\\:") + ") AS src"
        return f"{self._name(stream, query)} AS src"

    @contextmanager
    def _transaction(self, connection):
        """One READ ONLY transaction, always rolled back (there is nothing to commit)."""
        connection.exec_driver_sql("SET TRANSACTION READ ONLY" if self.postgres
                                   else "START TRANSACTION READ ONLY")
        try:
            yield connection
        finally:
            connection.rollback()

    @contextmanager
    def _connect(self):
        try:
            with self.engine.connect() as connection:
                yield connection
        except sa.exc.DBAPIError as exc:
            raise self._error(exc) from None

    def _error(self, exc) -> ConnectorError:
        """A database failure in words that carry none of the database's own: its
        messages can quote row values, host names and the server's configuration."""
        orig = getattr(exc, "orig", exc)
        # MariaDB's own error number says more than its SQLSTATE (42000 is any syntax or
        # access error there); PostgreSQL has only the SQLSTATE.
        number = orig.args[0] if getattr(orig, "args", None) and \
            isinstance(orig.args[0], int) else None
        code = number or getattr(orig, "sqlstate", None)
        text = str(orig).lower()
        where = f" (error {code})" if code else ""
        if code == "57014" or code in (3024, 1969) or "statement timeout" in text:
            return ConnectorError(f"the local database: a query ran longer than "
                                  f"{self.timeout} s and was stopped{where}")
        if code in ("28P01", "28000", 1045, 1044) or "authentication" in text or \
                "access denied" in text:
            return ConnectorError("the local database refused the source's credentials"
                                  f"{where}; ask the operator", retryable=False)
        if code == "25006" or code == 1792 or "read-only" in text or "read only" in text:
            return ConnectorError("the local database refused a write (the connector's "
                                  f"session is read-only){where}", retryable=False)
        if code in ("42501", 1142, 1143) or "permission denied" in text or \
                "command denied" in text:
            return ConnectorError("the local database does not let the source's account "
                                  f"read a stream's table or view{where}; ask the local "
                                  "administrator to grant it SELECT", retryable=False)
        if isinstance(exc, (sa.exc.ProgrammingError, sa.exc.DataError)) or \
                "does not exist" in text or "unknown column" in text:
            return ConnectorError("the local database rejected a stream's query (a table, "
                                  "view or column that does not exist, invalid SQL or a "
                                  f"value of the wrong type){where}; check the streams",
                                  retryable=False)
        # Bad credentials and bad queries need a person; a server that is down does not.
        return ConnectorError(f"cannot use the local database{where}; it may be down or "
                              "unreachable")

    # --- reading ------------------------------------------------------------------------

    def read(self, stream: str, cursor: dict | None):
        cfg = self.config["streams"][stream]
        if not cfg.get("since_column"):
            # No column says when a row last changed: new rows are found by their id
            # (after the last one read), changes only by a reconciliation (read_all).
            yield from self._read_by_id(stream, cfg, (cursor or {}).get("after"))
            return
        since_col = self._name(stream, cfg["since_column"])
        id_col = self._name(stream, cfg["id_column"])
        base = (f"SELECT * FROM {self._source(stream, cfg)} WHERE src.{since_col} IS NOT "
                f"NULL")
        order = f" ORDER BY src.{since_col}, src.{id_col} LIMIT :limit"
        cursor = cursor or {}
        key = cursor.get("key")  # [since, id] of the last row read
        since = cursor.get("since")
        with self._connect() as connection:
            while True:
                params = {"limit": self.page_size}
                if key and since == key[0]:
                    where = (f" AND (src.{since_col} > :since OR (src.{since_col} = :since "
                             f"AND src.{id_col} > :after))")
                    params.update(since=datetime.fromisoformat(key[0]), after=key[1])
                elif since:
                    # The engine moved `since` back by its lookback window (late commits
                    # land there): read the window again, inclusively.
                    where = f" AND src.{since_col} >= :since"
                    params["since"] = datetime.fromisoformat(since)
                else:
                    where = ""
                rows = self._rows(connection, base + where + order, params)
                if rows:
                    last = rows[-1]
                    stamp = last[cfg["since_column"]]
                    if not isinstance(stamp, (datetime, date)):
                        raise ConnectorError(f"stream {stream}: since_column "
                                             f"'{cfg['since_column']}' must be a timestamp",
                                             retryable=False)
                    key = [stamp.isoformat(), last[cfg["id_column"]]]
                    since = key[0]
                records, rejected = self._records(stream, cfg, rows)
                # Nothing new after a lookback re-read: keep the key where it was.
                yield Page(records, {"since": key[0], "key": key} if key else {}, rejected)
                if len(rows) < self.page_size:
                    return

    def read_all(self, stream: str):
        """Every row of the stream, whatever its since column holds (NULL too, or a date
        that is the complaint's and not the row's last change): keyset on the id alone.
        The reconciliation reads this; the stream's cursor is neither read nor moved."""
        yield from self._read_by_id(stream, self.config["streams"][stream], None)

    def _read_by_id(self, stream: str, cfg: dict, after):
        id_col = self._name(stream, cfg["id_column"])
        base = f"SELECT * FROM {self._source(stream, cfg)}"
        order = f" ORDER BY src.{id_col} LIMIT :limit"
        with self._connect() as connection:
            while True:
                params = {"limit": self.page_size}
                where = ""
                if after is not None:
                    where = f" WHERE src.{id_col} > :after"
                    params["after"] = after
                rows = self._rows(connection, base + where + order, params)
                if rows:
                    after = rows[-1][cfg["id_column"]]
                records, rejected = self._records(stream, cfg, rows)
                yield Page(records, {"after": after} if after is not None else {}, rejected)
                if len(rows) < self.page_size:
                    return

    def _rows(self, connection, sql: str, params: dict) -> list[dict]:
        with self._transaction(connection):
            return [{k: _plain(v) for k, v in row.items()} for row in
                    connection.execute(sa.text(sql), params).mappings()]

    def _records(self, stream: str, cfg: dict, rows: list) -> tuple[list, list]:
        records, rejected = [], []
        for row in rows:
            try:
                records.append(self._record(stream, cfg, row))
            except ValueError as exc:
                rejected.append(({k: _jsonable(v) for k, v in row.items()},
                                 f"{cfg['id_column']} {row.get(cfg['id_column'])}: {exc}"))
        return records, rejected

    @staticmethod
    def reports_changes(config: dict) -> bool:
        """Whether every stream names a column that moves on each change: without one,
        edits and status moves reach the hub only through a reconciliation."""
        return all(cfg.get("since_column") for cfg in (config.get("streams") or {}).values())

    def _record(self, stream: str, cfg: dict, row: dict) -> LocalRecord:
        flat = fieldmap.extract(row, cfg.get("fields", {}), self.tz)
        external_id = flat.pop("external_id", None)
        if external_id in (None, ""):
            external_id = row.get(cfg["id_column"])
        updated_at = flat.pop("updated_at", None)
        if updated_at is None and cfg.get("since_column"):
            updated_at = fieldmap.parse_datetime(row[cfg["since_column"]], self.tz)
        report_ref = flat.pop("report_external_id", None)
        fields: dict = {}
        for path, value in flat.items():
            fieldmap.set_path(fields, path, value)
        return LocalRecord(stream=stream, external_id=str(external_id), updated_at=updated_at,
                           fields=fields, report_external_id=str(report_ref)
                           if report_ref is not None else None,
                           raw={k: _jsonable(v) for k, v in row.items()})

    # --- writing: never -----------------------------------------------------------------

    read_only_reason = ("the SQL connector only reads the local "
                        "database; the local app must take hub changes itself")
    refusals = {"report": "create a report", "response": "add a response",
                "status": "change a status"}

    def check(self) -> dict:
        """Reach the database and prove every stream's query and columns exist."""
        started = time.perf_counter()
        with self._connect() as connection, self._transaction(connection):
            for stream, cfg in self.config["streams"].items():
                columns = [cfg["id_column"]] + ([cfg["since_column"]]
                                                if cfg.get("since_column") else [])
                connection.execute(sa.text(
                    "SELECT " + ", ".join(f"src.{self._name(stream, c)}" for c in columns) +
                    f" FROM {self._source(stream, cfg)} WHERE 1 = 0"))
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000)}


CONNECTOR = SqlViewConnector
