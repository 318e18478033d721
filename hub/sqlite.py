"""The embedded default's SQLite: one writer at a time, and writers wait their turn.

SQLite lets one transaction write at a time. A transaction that starts as a reader and
writes later cannot wait for its turn: if another writer committed meanwhile its snapshot
is stale and SQLite answers "database is locked" at once, whatever the busy timeout. So
the driver's own transaction handling is switched off and the hub begins transactions
itself: a write request (not GET, HEAD, OPTIONS) and the work inside `writing()` (a sync
run, the SLA scan, the scheduler's claim) begin with BEGIN IMMEDIATE, which takes the
write lock up front and waits up to the busy timeout for it; everything else begins a
plain BEGIN and never blocks a writer. What still fails busy (a read that writes after
all, a writer that waited out the whole timeout) is retried whole by `retrying`, after a
rollback.
"""
import contextvars
import logging
import random
import sqlite3
import time
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

# How long a writer waits for the write lock before SQLite gives up.
BUSY_TIMEOUT_SECONDS = 30
# Attempts of a unit of work that SQLite refused busy, the first one included.
ATTEMPTS = 4
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def engine_options() -> dict:
    return {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS}}


def install(engine) -> None:
    """Pragmas on every new connection, and the hub's own BEGIN on every transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # the driver opens no transaction by itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN" if _reads_only() else "BEGIN IMMEDIATE")


_writing = contextvars.ContextVar("hub_sqlite_writing", default=False)


@contextmanager
def writing():
    """Transactions begun inside (a function, when used as a decorator) are writes: on
    SQLite they take the write lock when they begin. Elsewhere this changes nothing."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def _reads_only() -> bool:
    if _writing.get():
        return False
    from flask import has_request_context, request
    return not has_request_context() or request.method in READ_METHODS


def is_busy(error: BaseException) -> bool:
    """SQLite refused because another connection holds the lock (SQLITE_BUSY, any kind)."""
    orig = getattr(error, "orig", error)
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "database is locked" in str(orig)


def retrying(work, session, what: str = "unit of work", before_retry=None):
    """work() again, after a rollback and a short random pause, while SQLite answers busy.

    work must be whole: everything it writes is in the session's transaction, so a rolled
    back attempt leaves nothing behind."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as exc:
            if not is_busy(exc) or attempt == ATTEMPTS:
                raise
            session.rollback()
            if before_retry is not None:
                before_retry()
            log.info("SQLite busy during %s (attempt %d of %d); retrying", what, attempt,
                     ATTEMPTS)
            time.sleep(random.uniform(0.05, 0.2) * attempt)


def dispatch_retrying(app_dispatch):
    """A request's view, retried whole while SQLite answers busy (see `retrying`)."""
    from flask import request

    from hub.extensions import db

    def rewind_uploads():
        for upload in request.files.values():
            upload.stream.seek(0)

    return retrying(app_dispatch, db.session, f"{request.method} {request.path}",
                    before_retry=rewind_uploads)
