"""Recording report events; global sequence numbers are assigned at commit.

Services call record(); the rows are written by a before_commit hook that bumps the
`events` counter last thing before COMMIT. That counter row stays locked until the
commit, so sequence numbers are handed out in commit order and a change-feed reader that
has seen seq N has seen everything below N. Holding the lock only around the final insert
keeps writers from queuing on it for the whole transaction.
"""
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from hub.models import Counter, ReportEvent, utcnow
from hub.services import snapshots
from hub.services.ingest import insert_rows

_PENDING = "pending_events"


def record(session, report, type_: str, *, actor=None, actor_agency=None,
           source_system=None, data=None, occurred_at=None) -> None:
    at = occurred_at or utcnow()
    session.info.setdefault(_PENDING, []).append({
        "report_id": report.id, "type": type_, "occurred_at": at,
        "actor": actor, "actor_agency": actor_agency, "source_system": source_system,
        "report_version": report.version, "data": data,
        # The event as it happened: who was responsible, and the report then.
        "agency_code": getattr(report, "agency_code", None),
        "report_state": snapshots.capture(report, at),
    })


def pending(session) -> list:
    return session.info.get(_PENDING, [])


def take_pending(session, mark: int) -> list:
    """Remove and return the rows recorded after `mark` (len(pending()) taken earlier):
    drafts built in one session and written by another carry their rows along."""
    rows = session.info.get(_PENDING, [])
    taken = rows[mark:]
    del rows[mark:]
    return taken


def add_pending(session, rows: list) -> None:
    session.info.setdefault(_PENDING, []).extend(rows)


@contextmanager
def savepoint(session):
    """A SAVEPOINT whose events are dropped too if it rolls back (batch items)."""
    mark = len(pending(session))
    nested = session.begin_nested()
    try:
        yield
        nested.commit()
    except BaseException:
        nested.rollback()
        del session.info.setdefault(_PENDING, [])[mark:]
        # Numbers drawn inside the savepoint from a counter row were rolled back with it.
        session.info.pop("tracking_pool", None)
        raise


def allocate(session, name: str, n: int) -> int:
    """Reserve n values of a counter; returns the last one. Locks the row till commit."""
    return session.execute(
        sa.update(Counter).where(Counter.name == name)
        .values(value=Counter.value + n).returning(Counter.value)).scalar_one()


@sa_event.listens_for(Session, "before_commit")
def _write_pending_events(session):
    if session.in_nested_transaction():
        return  # a SAVEPOINT releasing: the events wait for the real COMMIT
    rows = session.info.pop(_PENDING, None)
    if not rows:
        return
    session.flush()  # everything else first, so the counter lock is held briefly
    last = allocate(session, "events", len(rows))
    first = last - len(rows) + 1
    for offset, row in enumerate(rows):
        row["seq"] = first + offset
    # One COPY on PostgreSQL: several times cheaper per row than the ORM bulk insert.
    insert_rows(session, ReportEvent.__table__, rows)


# Per-transaction memos kept in session.info by the services; none may outlive the
# transaction (a lock memo would skip a lock the next transaction needs).
TRANSACTION_MEMOS = (_PENDING, "claimed_systems", "locked_systems", "tracking_pool",
                     "holiday_cache", "master_codes", "agency_scopes", "agency_scope_answers",
                     "sla_memo")


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_transaction_memos(session, transaction):
    # The outermost transaction ended (commit already consumed the events; rollback
    # drops them).
    if transaction.parent is None and not transaction.nested:
        for key in TRANSACTION_MEMOS:
            session.info.pop(key, None)
