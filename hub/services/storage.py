"""Where PostgreSQL (production) and SQLite (the embedded default) differ, decided in one
place: the rest of the hub asks for an operation, not for a dialect.

- insert(): the dialect's INSERT, which has ON CONFLICT DO NOTHING / DO UPDATE on both.
- claim(): FOR UPDATE SKIP LOCKED where the database has it, so several workers claim
  disjoint rows; SQLite serialises writers, so a plain read claims as safely there.
- add_counts(): counters that add up under concurrent writers (ON CONFLICT DO UPDATE
  SET n = n + excluded.n, on both).
- transaction_lock(): a lock held until the transaction ends (an advisory lock on
  PostgreSQL; on SQLite the write transaction itself is already exclusive).
- is_postgresql(): for the few paths that are PostgreSQL-only by design (binary COPY,
  JSON built in SQL, prepared statements, sequences); each says why where it asks.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect


def is_postgresql(session_or_connection) -> bool:
    bind = session_or_connection.get_bind() if hasattr(session_or_connection, "get_bind") \
        else session_or_connection
    return bind.dialect.name == "postgresql"


def insert(session, table):
    """INSERT for `table` with the dialect's on_conflict_do_nothing/do_update."""
    return (pg_dialect.insert if is_postgresql(session) else sqlite_dialect.insert)(table)


def claim(session, stmt, of=None):
    """stmt, locking the rows it selects and skipping rows another worker has locked."""
    return stmt.with_for_update(skip_locked=True, of=of) if is_postgresql(session) else stmt


def transaction_lock(session, key: str) -> None:
    """Serialise transactions that name the same key until this one ends."""
    if is_postgresql(session):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": key})


def add_counts(session, table, measures):
    """INSERT of counter rows that, where the key exists, adds to it instead
    (ON CONFLICT DO UPDATE SET n = n + excluded.n): concurrent writers' counts add up."""
    stmt = insert(session, table)
    keys = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(index_elements=keys, set_={
        name: table.c[name] + stmt.excluded[name] for name in measures})
