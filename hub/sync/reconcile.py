"""Reconciliation: read a source whole, compare it with what the hub holds, take what
differs.

An incremental sync sees what a source says changed since its cursor. Many sources
cannot say: a SQL view without a last-modified column (its date is the complaint's, not
the row's last change), an Open311 server following the spec (start_date filters on when
a request was made), LAPOR! forwards. Their edits and status moves never come after the
cursor, nor do rows entered back-dated. A reconciliation reads every record (the
connector's full read; the cursor is neither read nor moved), page by page, and compares
each with what the hub keeps of it:

- a report with the fingerprint of the mapped fields the hub took last (kept on its
  reference): equal, it is counted unchanged and nothing is written;
- a response by its local id (responses are immutable once taken);
- everything else (a record the hub lacks, a changed one, an echo of the hub's own, one
  held) goes through the same inbound path as a sync's pages (RecordApplier, runner's
  page apply), so mapping, holding, events and idempotency are the sync's own.

Records the hub holds that the source no longer lists are counted (`gone`), never
deleted: a local deletion is for a person to judge. The run is a SyncRun of kind
"reconcile" under the connector's lease, so it never overlaps a sync of the connector.
"""
import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from connectors.base import ConnectorError, read_everything
from hub import sqlite
from hub.extensions import db
from hub.models import (
    Connector,
    ReportExternalRef,
    ResponseExternalRef,
    StreamState,
    SyncRun,
    utcnow,
)
from hub.services import storage
from hub.sync import registry
from hub.sync.inbound import RecordApplier, record_to_json
from hub.sync.lease import acquire_lease, release_lease, renew_lease, worker_name
from hub.sync.mapping import MappingSet
from hub.sync.runner import (
    COUNT_KEYS,
    ReadPage,
    _apply,
    built,
    close_abandoned,
    stopped_by,
)

log = logging.getLogger(__name__)
# missing: records the hub did not have; changed: records whose fields differed and were
# updated; gone: records the hub holds that the source no longer lists.
RECONCILE_KEYS = COUNT_KEYS + ("missing", "changed", "gone")
DEFAULT_EVERY = 24 * 3600
# Kinds whose sources, as the protocol has them, cannot report changes to existing records.
NO_CHANGE_CURSOR = {"open311", "lapor"}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value) -> int | None:
    """A manifest's `reconcile_every` ("24h", "30m", "7d", seconds, or off/0/false) in
    seconds; None is off."""
    if value is None or value is False:
        return None
    if isinstance(value, bool):
        raise ValueError("reconcile_every: say how often, e.g. 24h, or off")
    if isinstance(value, (int, float)):
        seconds = int(value)
    else:
        text = str(value).strip().lower()
        if text in ("off", "never", "no", "0", "false"):
            return None
        number, unit = (text[:-1], text[-1]) if text[-1:] in UNITS else (text, "s")
        try:
            seconds = int(float(number) * UNITS[unit])
        except ValueError:
            raise ValueError(f"reconcile_every: '{value}' is not a period (use e.g. 24h, "
                             "30m, 7d, or off)") from None
    if seconds <= 0:
        return None
    if seconds < 300:
        raise ValueError("reconcile_every: at least 5m (a reconciliation reads the whole "
                         "source)")
    return seconds


def reports_changes(kind: str, config: dict) -> bool:
    """Whether the source can tell the hub what changed (a change cursor)."""
    if kind in NO_CHANGE_CURSOR:
        return False
    try:
        cls, _ = registry.kinds()[kind]
    except KeyError:
        return True
    judge = getattr(cls, "reports_changes", None)
    return judge(config or {}) if callable(judge) else True


def default_every(kind: str, config: dict) -> int | None:
    """Unless declared: daily for sources without a change cursor, else never."""
    return None if reports_changes(kind, config) else DEFAULT_EVERY


def schedule(conn, every: int | None, now=None) -> None:
    """Set a connector's reconciliation period; the first one is one period away (its
    first sync reads everything anyway)."""
    conn.reconcile_seconds = every
    if every is None:
        conn.next_reconcile_at = None
    elif conn.next_reconcile_at is None or \
            conn.next_reconcile_at > (now or utcnow()) + timedelta(seconds=every):
        conn.next_reconcile_at = (now or utcnow()) + timedelta(seconds=every)


# --- the run -------------------------------------------------------------------------------

@sqlite.writing()
def reconcile_connector(connector_id: str, trigger: str = "manual", owner: str | None = None):
    """Run one reconciliation; returns the SyncRun id, or None when the connector is
    being synced or reconciled by another worker now."""
    owner = owner or worker_name()
    if not acquire_lease(connector_id, owner):
        log.info("connector %s is being synced by another worker; reconciliation "
                 "skipped", connector_id)
        _retry_soon(connector_id)
        return None
    conn = db.session.get(Connector, connector_id)
    close_abandoned(connector_id)
    before = {s.stream: s.cursor for s in db.session.execute(
        sa.select(StreamState).where(StreamState.connector_id == connector_id)).scalars()}
    run = SyncRun(connector_id=connector_id, kind="reconcile", trigger=trigger, worker=owner,
                  status="running", started_at=utcnow(),
                  counts={k: 0 for k in RECONCILE_KEYS}, cursor_before=before)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    counts = dict(run.counts)
    error, unseen, complete = None, [], set()
    try:
        connector = built(conn)
        seen: dict[str, set] = {}
        for stream in connector.streams:
            gaps = _reconcile_stream(conn, connector, stream, counts, run_id, owner,
                                     seen.setdefault(stream, set()))
            unseen += gaps
            if not gaps:
                complete.add(stream)
        counts["gone"] = _gone(conn, seen, complete)
    except Exception as exc:  # the run ends visibly, whatever stopped it
        error, _ = stopped_by(exc, "reconciliation", run_id, connector_id)
    _finish(connector_id, run_id, counts, error, unseen, owner)
    return run_id


def _pages(connector, stream):
    """The full read's pages in the engine's form; no cursor (the stream's is left be)."""
    from contextlib import closing
    with closing(read_everything(connector, stream)) as pages:
        for page in pages:
            now = datetime.now(timezone.utc)
            yield ReadPage(None, [record_to_json(r, now) for r in page.records],
                           [r.raw for r in page.records], page.rejected,
                           list(getattr(page, "incomplete", None) or []))


def _reconcile_stream(conn, connector, stream, counts, run_id, owner, seen: set) -> list:
    """Compare one stream's full read with the hub and apply what differs; returns what
    the stream could not see (empty: all of it)."""
    mappings = MappingSet.load(db.session, conn.id)
    applier = RecordApplier(db.session, conn, mappings, present_state=True)
    unseen, last_keys = [], set()
    for page in _pages(connector, stream):
        keys = {r["external_id"] for r in page.records}
        if keys and keys <= last_keys:
            raise ConnectorError(f"stream {stream}: a page repeats the records of the page "
                                 "before it; the local system's paging does not advance, "
                                 "stopping before anything is skipped")
        last_keys = keys
        seen |= keys
        unseen += page.incomplete
        differ, missing = _differing(applier, conn, page.records)
        counts["read"] += len(page.records) - len(differ)
        counts["unchanged"] += len(page.records) - len(differ)
        if not differ and not page.rejected:
            # Nothing to write: still keep the lease and end the page's transaction (on
            # SQLite it holds the write lock).
            renew_lease(conn.id, owner)
            db.session.commit()
            continue
        subset = ReadPage(None, [page.records[i] for i in differ],
                          [page.raws[i] for i in differ], page.rejected)
        outcomes = _apply(applier, conn, stream, subset, counts, run_id, owner)
        counts["missing"] += sum(1 for i in differ if i in missing)
        counts["changed"] += sum(1 for i, (outcome, _) in zip(differ, outcomes, strict=True)
                                 if i not in missing and outcome == "updated")
    if applier.tidied:
        counts["tidied"] = counts.get("tidied", 0) + len(applier.tidied)
    return unseen


def _differing(applier, conn, records) -> tuple[list[int], set[int]]:
    """Indexes of the page's records that differ from what the hub holds (to apply),
    and which of those the hub does not hold at all."""
    from hub.services.ingest import among, ref_hashes
    reports = [r["external_id"] for r in records if r["stream"] == "reports"]
    responses = [r["external_id"] for r in records if r["stream"] != "reports"]
    hashes = ref_hashes(db.session, conn.system, reports) if reports else {}
    taken = set(db.session.execute(sa.select(ResponseExternalRef.external_id).where(
        ResponseExternalRef.system == conn.system,
        among(db.session, ResponseExternalRef.external_id, responses))).scalars()) \
        if responses else set()
    held = applier.held_ids(records)
    differ, missing = [], set()
    for index, rec in enumerate(records):
        if rec["origin_hub_id"] or (rec["stream"], rec["external_id"]) in held:
            differ.append(index)  # the hub's own echo, or one held: the inbound path says
            continue
        if rec["stream"] == "reports":
            known = hashes.get(rec["external_id"], False)
            if known is False:
                missing.add(index)
            elif known is not None and known == applier.fingerprint(rec):
                continue
        elif rec["external_id"] in taken:
            continue
        else:
            missing.add(index)
        differ.append(index)
    return differ, missing


def _gone(conn, seen: dict, complete: set) -> int:
    """How many records the hub took from this source that its full read no longer
    lists; only for streams read whole (a partial read proves nothing gone)."""
    gone = 0
    for stream, model in (("reports", ReportExternalRef), ("responses", ResponseExternalRef)):
        if stream not in complete:
            continue
        taken = db.session.execute(sa.select(model.external_id).where(
            model.system == conn.system)).scalars()
        gone += sum(1 for external_id in taken if external_id not in seen[stream])
    return gone


def _finish(connector_id, run_id, counts, error, unseen, owner) -> None:
    run = db.session.get(SyncRun, run_id)
    conn = db.session.get(Connector, connector_id)
    now = utcnow()
    run.ended_at, run.counts = now, counts
    run.cursor_after = run.cursor_before  # a reconciliation leaves the cursors alone
    if error is not None:
        # Something was compared and taken, not everything there was: partial, never
        # succeeded; nothing compared at all: failed.
        run.status = "partial" if counts["read"] or counts["failed"] else "failed"
        run.error = (f"the reconciliation stopped after {counts['read']} record(s); the "
                     f"rest was not compared: {error}") if run.status == "partial" else error
    elif unseen:
        run.status = "partial"
        run.error = "not everything was read: " + "; ".join(unseen)
    else:
        run.status = "partial" if counts.get("failed") else "succeeded"
    every = conn.reconcile_seconds
    if run.status == "failed":
        from hub.sync import notify
        from hub.sync.runner import backoff_seconds
        if every:  # again soon, not a whole period later
            conn.next_reconcile_at = now + timedelta(seconds=min(
                every, backoff_seconds(1, max(conn.interval_seconds, 60))))
        notify.sync_failed(conn, run)
    elif every:
        conn.next_reconcile_at = now + timedelta(seconds=every)
    db.session.commit()
    release_lease(connector_id, owner)
    log.info("reconciliation %s of %s: %s (%s)", run_id, connector_id, run.status,
             {k: counts[k] for k in ("read", "missing", "changed", "gone")})


def _retry_soon(connector_id: str) -> None:
    """A sync holds the connector: try again in a few minutes rather than a day."""
    retry = timedelta(minutes=5)
    db.session.execute(sa.update(Connector).where(
        Connector.id == connector_id, Connector.reconcile_seconds.is_not(None))
        .values(next_reconcile_at=utcnow() + retry))
    db.session.commit()


# --- scheduling ------------------------------------------------------------------------------

@sqlite.writing()
def claim_due(session, now, limit: int = 20) -> list[str]:
    """Connectors whose reconciliation is due, claimed by moving next_reconcile_at a
    period ahead (the run sets the real next time); SKIP LOCKED as for syncs."""
    stmt = (sa.select(Connector).where(Connector.paused.is_(False),
                                       Connector.reconcile_seconds.is_not(None),
                                       Connector.next_reconcile_at <= now)
            .order_by(Connector.next_reconcile_at).limit(limit))
    due = session.execute(storage.claim(session, stmt)).scalars().all()
    for conn in due:
        conn.next_reconcile_at = now + timedelta(seconds=conn.reconcile_seconds)
    session.commit()
    return [c.id for c in due]
