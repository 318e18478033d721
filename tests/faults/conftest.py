"""Helpers for fault tests: pause a request mid-transaction with a lock held from a side
connection, find the paused backend, and free ports for servers we start ourselves."""
import contextlib
import time

import psycopg
import pytest
import sqlalchemy as sa

# The Sleman simulator and its connector, for the local-system and Redis fault tests.
from tests.sync.conftest import connector, run_sync, sim, sleman_doc  # noqa: F401


def plain_url(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq one, for a side connection of our own."""
    return sa.make_url(database_url).set(drivername="postgresql").render_as_string(False)


@contextlib.contextmanager
def events_counter_held(database_url: str):
    """Lock the `events` counter row. Every write that records a report event flushes
    everything, then waits on this row just before COMMIT: the request is paused with its
    whole transaction written but not committed."""
    with psycopg.connect(plain_url(database_url)) as conn:
        conn.execute("SELECT value FROM counters WHERE name = 'events' FOR UPDATE")
        yield conn
        conn.rollback()


def lock_waiter_pids(database_url: str, timeout: float = 20.0, at_least: int = 1) -> list[int]:
    """Backends of our database waiting on a row lock (the paused requests)."""
    name = sa.make_url(database_url).database
    deadline = time.time() + timeout
    with psycopg.connect(plain_url(database_url), autocommit=True) as conn:
        while True:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = "
                "'Lock' AND pid <> pg_backend_pid()", (name,))]
            if len(pids) >= at_least or time.time() > deadline:
                return pids
            time.sleep(0.05)


def terminate(database_url: str, pids) -> None:
    with psycopg.connect(plain_url(database_url), autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture
def db_url(app):
    return app.config["SQLALCHEMY_DATABASE_URI"]
