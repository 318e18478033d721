"""One sync run of one connector: lease (hub.sync.lease), inbound streams, held-record
replay, outbound. Every page commits together with its cursor, so a rerun after any crash
starts exactly where the last commit left off."""
import logging
import random
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from connectors.base import ConnectorError
from hub import sqlite
from hub.extensions import db
from hub.models import Connector, HeldRecord, StreamState, SyncRecordError, SyncRun, utcnow
from hub.sync import registry
from hub.sync.inbound import RecordApplier, record_to_json, unsettled_ids
from hub.sync.lease import (
    LeaseLost,
    acquire_lease,
    release_lease,
    renew_lease,
    save_cursor,
    worker_name,
)
from hub.sync.mapping import MappingSet
from hub.sync.pipeline import PageWriter
from hub.sync.prefetch import prefetched, read_in_process

log = logging.getLogger(__name__)
COUNT_KEYS = ("read", "created", "updated", "unchanged", "stale", "echo", "held", "failed",
              "replayed", "pushed", "push_failed")


def _setting(name, default):
    return current_app.config.get(name, default)


def backoff_seconds(streak: int, base: int) -> float:
    """Exponential backoff with full jitter, capped at an hour."""
    return random.uniform(base, min(3600, base * 2 ** min(streak, 12)))


def built(conn):
    """The connector for a row, told what the hub holds open from it: a source that
    re-reads those by id (LAPOR!, whose listing drops a complaint forwarded away) finds
    their fate in a sync's read and in a reconciliation's full read alike."""
    connector = registry.build(conn)
    if hasattr(connector, "recheck"):
        connector.recheck(unsettled_ids(db.session, conn))
    return connector


@sqlite.writing()
def run_connector(connector_id: str, trigger: str = "schedule", owner: str | None = None):
    """Run one sync; returns the SyncRun id, or None when another worker holds the lease."""
    owner = owner or worker_name()
    if not acquire_lease(connector_id, owner):
        log.info("connector %s is being synced by another worker; skipped", connector_id)
        return None
    conn = db.session.get(Connector, connector_id)
    close_abandoned(connector_id)
    before = {s.stream: s.cursor for s in db.session.execute(
        sa.select(StreamState).where(StreamState.connector_id == connector_id)).scalars()}
    run = SyncRun(connector_id=connector_id, trigger=trigger, worker=owner, status="running",
                  started_at=utcnow(), counts={k: 0 for k in COUNT_KEYS},
                  cursor_before=before)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    counts = dict(run.counts)
    error, retryable = None, True
    unseen: list[str] = []  # what a stream could not see: the run is then not succeeded
    try:
        connector = built(conn)
        replay_held(conn, counts, run_id, owner)
        for stream in connector.streams:
            unseen += _read_stream(conn, connector, stream, counts, run_id, owner)
        from hub.sync.outbound import push, skip_all
        if getattr(connector, "writable", True):
            push(conn, connector, counts, owner)
        else:
            skip_all(conn)  # a read-only source (a recap, a SQL view) gets nothing pushed
    except Exception as exc:  # a bug must still end the run visibly, not leave it running
        error, retryable = stopped_by(exc, "sync run", run_id, connector_id)
    _finish(connector_id, run_id, counts, error, retryable, owner, unseen)
    return run_id


def stopped_by(exc: Exception, what: str, run_id, connector_id) -> tuple[str, bool]:
    """What a run that `exc` stopped records for the officer, and whether a retry may
    help; the details go to the operator's log. A lost database is raised instead: it is
    not the connector's failure, nothing can be recorded now, the run is closed as
    abandoned by the next one and the circuit must not count it (SQLite's "busy" is no
    outage: that run is recorded and the next one goes on)."""
    from hub.errors import database_unavailable
    if not isinstance(exc, (ConnectorError, LeaseLost)) and database_unavailable(exc) \
            and not sqlite.is_busy(exc):
        raise exc
    db.session.rollback()
    if isinstance(exc, ConnectorError):
        # The run's error is shown to the tenant: never the remote side's own words (a
        # body from wherever the connector pointed); those go to the operator's log.
        if exc.detail:
            log.warning("%s %s of %s: %s — %s", what, run_id, connector_id, exc,
                        exc.detail[:500])
        return str(exc), exc.retryable
    if isinstance(exc, LeaseLost):
        return "another worker took over this connector's lease (this run was too slow)", True
    # The officer reads run.error: the statement, its parameters and the driver's words
    # go to the log only.
    log.exception("%s %s of %s failed", what, run_id, connector_id)
    return officer_message(exc, run_id), True


def close_abandoned(connector_id: str) -> None:
    """Runs left "running" by a worker that died are closed as abandoned (the lease,
    just taken, says no other run of this connector is going on)."""
    db.session.execute(sa.update(SyncRun).where(
        SyncRun.connector_id == connector_id, SyncRun.status == "running")
        .values(status="abandoned", ended_at=utcnow(),
                error="the worker running it stopped before it finished"))


def officer_message(exc: Exception, run_id) -> str:
    """What the run's officer is told of an unexpected error: what happened and what to
    do, never the SQL, its parameters or a stack."""
    from sqlalchemy.exc import DBAPIError
    if isinstance(exc, DBAPIError):
        return (f"the hub's database did not take this run's writes (it was busy or out of "
                f"reach); the pages written before are kept and the next run continues "
                f"from there. If it happens again, tell the hub's operator (run {run_id}, "
                f"details in the hub's log).")
    return (f"the hub stopped this run on an unexpected error ({exc.__class__.__name__}); "
            f"the pages written before "
            f"are kept and the next run continues from there. Tell the hub's operator "
            f"(run {run_id}, details in the hub's log).")


def _read_stream(conn, connector, stream, counts, run_id, owner) -> list[str]:
    """Read one stream into the hub; returns what it could not see (empty: all)."""
    state = db.session.get(StreamState, (conn.id, stream))
    cursor = dict(state.cursor) if state and state.cursor else None
    if cursor and cursor.get("since") and conn.lookback_seconds:
        # Re-read a window before the cursor: late writes and clock skew in the local
        # system land there; the upsert makes re-reading free of side effects.
        since = datetime.fromisoformat(cursor["since"]) - timedelta(
            seconds=conn.lookback_seconds)
        cursor = {**cursor, "since": since.isoformat()}
    mappings = MappingSet.load(db.session, conn.id)
    pipelined = PageWriter.usable()
    if not getattr(connector, "reads_ahead", False):
        pages = _read_pages(connector, stream, cursor)
    elif pipelined:
        # HTTP sources on PostgreSQL: read, parse and map pages in a child process (its
        # own core and interpreter lock) while this one builds and the writer writes.
        pages = read_in_process(_read_pages(connector, stream, cursor, in_child=True))
    else:
        pages = prefetched(_read_pages(connector, stream, cursor))  # a thread will do
    last_keys: set = set()
    unseen: list[str] = []
    applier = RecordApplier(db.session, conn, mappings)
    writer = PageWriter(applier, stream, owner) if pipelined else None
    try:
        for page in pages:
            records = page.records
            # Whatever a connector's own checks, a page that only repeats the one before
            # it means the local paging does not advance: fail the run visibly, never loop.
            keys = {(r["external_id"], r["updated_at"]) for r in records}
            if keys and keys <= last_keys:
                raise ConnectorError(f"stream {stream}: a page repeats the records of the "
                                     "page before it; the local system's paging does not "
                                     "advance, stopping before anything is skipped")
            last_keys = keys
            unseen += page.incomplete
            if page.skipped:
                counts["skipped"] = counts.get("skipped", 0) + page.skipped
            if writer is None:
                _apply(applier, conn, stream, page, counts, run_id, owner)
                continue
            prepared = None
            if not page.rejected and not ({r["external_id"] for r in records}
                                          & writer.in_flight_ids()):
                prepared = applier.prepare_page(records)
                db.session.rollback()  # this side only read; its memos end with the page
            if _settle(writer, applier, conn, stream, counts, run_id, owner) and prepared:
                # The page before could not be written together and was applied one by
                # one: this page was built without seeing it. Build it again.
                prepared = applier.prepare_page(records)
                db.session.rollback()
            if prepared is None:
                _apply(applier, conn, stream, page, counts, run_id, owner)
            else:
                writer.submit(page, prepared)
        if writer is not None:
            _settle(writer, applier, conn, stream, counts, run_id, owner)
    finally:
        if applier.tidied:
            counts["tidied"] = counts.get("tidied", 0) + len(applier.tidied)
        if writer is not None:
            # Leaving early (the local system failed on the next page, say): the page in
            # flight still commits or rolls back whole, and is counted if it committed.
            done, error = writer.wait()
            if done is not None and error is None:
                _count(done.prepared.outcomes, counts)
            writer.close()
    return unseen


def _settle(writer, applier, conn, stream, counts, run_id, owner) -> bool:
    """Wait for the page in flight. Committed: count it. Not written (an error): apply
    it one record at a time, as a failed bulk create is; a lost lease ends the run.
    Returns whether the page had to be applied again."""
    done, error = writer.wait()
    if done is None:
        return False
    if error is None:
        _count(done.prepared.outcomes, counts)
        return False
    if isinstance(error, LeaseLost):
        raise error
    log.warning("writing a page of %d records together failed; one by one instead",
                len(done.page.records), exc_info=error)
    _apply(applier, conn, stream, done.page, counts, run_id, owner)
    return True


def _count(outcomes, counts) -> None:
    for outcome, _ in outcomes:
        counts["read"] += 1
        counts[outcome] = counts.get(outcome, 0) + 1


def _apply(applier, conn, stream, page, counts, run_id, owner) -> list:
    """The ordinary path: apply the page's records in this session and commit them with
    the page's cursor (none for a reconciliation's page: it leaves the cursor alone).
    Returns the records' outcomes."""
    outcomes = applier.apply_page(page.records)
    _count(outcomes, counts)
    for record, raw, (outcome, reason) in zip(page.records, page.raws, outcomes,
                                              strict=True):
        if outcome == "failed":
            db.session.add(SyncRecordError(run_id=run_id, connector_id=conn.id,
                                           stream=stream, external_id=record["external_id"],
                                           reason=reason, payload=_safe(raw)))
    for raw, why in page.rejected:
        counts["read"] += 1
        counts["failed"] += 1
        db.session.add(SyncRecordError(run_id=run_id, connector_id=conn.id, stream=stream,
                                       external_id=None, reason=f"unreadable record: {why}",
                                       payload=_safe(raw)))
    if page.cursor is not None:
        save_cursor(db.session, conn.id, stream, page.cursor)
    renew_lease(conn.id, owner)
    db.session.commit()  # the page's records and its cursor, together
    return outcomes


class ReadPage(NamedTuple):
    """A page as the sync engine takes it: records in the applier's form, the local
    records as read (kept for the officer when one fails), and the cursor after it."""
    cursor: dict
    records: list
    raws: list
    rejected: list
    incomplete: list = []
    skipped: int = 0  # rows that are no records (a recap's totals and signature lines)


def _read_pages(connector, stream, cursor, in_child: bool = False):
    """The connector's pages, converted where they are read (in the read-ahead thread or
    process, while the building side works)."""
    if in_child:
        # Connections inherited from the parent stay the parent's: the child opens its
        # own (closing its copies of the sockets leaves the parent's open).
        http = getattr(connector, "http", None)
        if http is not None:
            http.close()
    with closing(connector.read(stream, cursor)) as pages:  # closed early, reading stops
        for page in pages:
            now = datetime.now(timezone.utc)
            yield ReadPage(page.cursor, [record_to_json(r, now) for r in page.records],
                           [r.raw for r in page.records], page.rejected,
                           list(getattr(page, "incomplete", None) or []),
                           getattr(page, "skipped", 0))


def replay_held(conn, counts, run_id=None, owner=None, limit: int = 5000) -> int:
    """Apply held records again (after a mapping change, or to retry errors)."""
    mappings = MappingSet.load(db.session, conn.id)
    applier = RecordApplier(db.session, db.session.merge(conn), mappings)
    rows = db.session.execute(
        sa.select(HeldRecord).where(HeldRecord.connector_id == conn.id)
        # Reports before the responses that may be waiting for them, oldest first.
        .order_by(sa.case((HeldRecord.stream == "responses", 1), else_=0),
                  HeldRecord.source_updated_at, HeldRecord.id).limit(limit)).scalars().all()
    replayed = 0
    for held in rows:
        outcome, _ = applier.apply(dict(held.record))
        if outcome not in ("held", "failed"):
            replayed += 1
    counts["replayed"] = counts.get("replayed", 0) + replayed
    if owner:
        renew_lease(conn.id, owner)
    db.session.commit()
    return replayed


def _finish(connector_id, run_id, counts, error, retryable, owner, unseen=()) -> None:
    run = db.session.get(SyncRun, run_id)
    conn = db.session.get(Connector, connector_id)
    now = utcnow()
    run.ended_at, run.counts = now, counts
    run.cursor_after = {s.stream: s.cursor for s in db.session.execute(
        sa.select(StreamState).where(StreamState.connector_id == connector_id)).scalars()}
    conn.last_run_at = now
    if error is None and unseen:
        # Everything read was taken, but not everything there was: never "succeeded",
        # and the officer is told what was left unread and what to change.
        run.status = "partial"
        run.error = conn.last_error = "not everything was read: " + "; ".join(unseen)
        conn.failure_streak = 0
        conn.next_run_at = now + timedelta(seconds=conn.interval_seconds)
    elif error is None:
        run.status = "partial" if counts.get("failed") or counts.get("push_failed") \
            else "succeeded"
        conn.failure_streak, conn.last_error, conn.last_success_at = 0, None, now
        conn.next_run_at = now + timedelta(seconds=conn.interval_seconds)
    else:
        run.status, run.error = "failed", error
        conn.failure_streak += 1
        conn.last_error = error
        threshold = _setting("HUB_SYNC_CIRCUIT_THRESHOLD", 5)
        if not retryable or conn.failure_streak >= threshold:
            # The circuit opens: no more scheduled runs until someone resumes it.
            conn.paused = True
            conn.paused_reason = (f"paused after {conn.failure_streak} failed run(s) in a "
                                  f"row; last error: {error}")
        conn.next_run_at = now + timedelta(
            seconds=backoff_seconds(conn.failure_streak, conn.interval_seconds))
        from hub.sync import notify
        notify.sync_failed(conn, run)
    db.session.commit()
    release_lease(connector_id, owner)


def _safe(raw):
    """Keep a failed record for the officer, without its personal data."""
    if not isinstance(raw, dict):
        return {"value": str(raw)[:500]}
    hidden = {"pelapor", "reporter", "nama_pelapor", "telepon", "email", "phone", "nama"}
    return {k: ("[hidden]" if k in hidden else v) for k, v in raw.items()}
