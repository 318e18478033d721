"""One path for every report a source system sends: plan the records, then apply the plan.

A report arrives three ways: one `PUT /sources/{system}/reports/{id}`, the upserts of a
`POST /sync/batches`, or a page a connector read. All three go through here. First the
records are PLANNED: each gets a verdict, with the reason, from what the hub holds of it;
then the plan is APPLIED by a writer: the ORM writer (`upsert_one`) for one record and
for whatever must be applied in order, the bulk writer (`create_together`, binary COPY on
PostgreSQL through `ingest.insert_built`) for the new reports of a batch or a page. The
connector's page writer (`hub/sync/pipeline.py`) writes drafts built here
(`build_created`) on a connection of its own.

The rule, the same on every path:

- **Identity.** A record is `(system, external_id)`, the system name in lower case and
  claimed by the writer's agency (`source_systems.check_writer`; a connector's system is
  its agency's). Writers of one system are serialised (`reports.lock_source_system`), so
  two copies of one new id cannot both create it; the bulk writer relies on that lock
  too, and a creation that still collides rolls back whole and goes one by one.
- **Lookup.** The hub's copy is the `report_external_refs` row of that key: its report,
  its `source_updated_at` (the source's time stamp of the copy taken) and its
  `payload_hash` (`reports.payload_fingerprint` of the payload taken: keys sorted,
  compact). Many keys are looked up with one unique-index probe per id (`copies`).
- **Verdict** (`verdict`), in this order: no copy -> **created**; a copy whose
  `source_updated_at` is later than the incoming one -> **stale** (ignored; the time
  stamp is the source's own, capped at the hub's clock when a connector reads it, so a
  fast local clock cannot make later changes look old; a reconciliation's full read,
  the source's present state, skips this check); the very payload taken before ->
  **unchanged** (a replay changes nothing, writes nothing); anything else -> **update**:
  the ORM writer applies it (fields, then the status walked step by step), and it may
  still prove unchanged when no field differs. A record the caller cannot take yet is
  **held**, with why: a connector holds a record with a local value nobody mapped (or
  one already waiting), and its applier writes the hold, never guessing.
- **Together or in order.** The bulk writer takes only what the order of the records
  cannot change: a creation of a key's first copy, and (when the caller's records are
  not interleaved with other operations) the stale and unchanged answers of a key named
  once whose report no other record names. Everything else is applied one by one, in
  order, and planned again then (`upsert_one`): a record named twice, two records of one
  report, a batch that also holds responses or status changes, a record that did not
  load (the one-record path gives the failure; a batch answers it at once).
- **Echoes.** A record the hub itself pushed (it names its hub id) is never imported
  again: the connector's applier links it and takes only a forward status move
  (`hub/sync/inbound.py`), before any planning.
- **One transaction.** Nothing here commits. The report's rows, its `report.created` /
  `report.updated` / `report.status_changed` events (the change feed and the webhooks'
  outbox, `report_events`) go in with the caller's transaction (a batch item's or a
  failed bulk creation's savepoint rolls its events back with it); a connector page
  commits with its cursor.
"""
import logging
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace

import psycopg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.errors import Problem
from hub.models import Report, ReportExternalRef
from hub.services import events, ingest, source_systems
from hub.services import reports as report_service
from hub.services.access import require_responsible
from hub.services.tracking import reserve_tracking_ids

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Incoming:
    """A report record as its source sends it, ready to plan."""
    system: str
    external_id: str
    fingerprint: str | None = None    # of the payload as it would be stored
    source_updated_at: object = None  # the source's time stamp, when the plan checks it
    data: dict | None = None          # its fields, loaded (needed to create it)
    problem: Problem | None = None    # why it did not load
    held: str | None = None           # why the caller holds it

    @property
    def key(self) -> tuple[str, str]:
        return self.system, self.external_id


@dataclass(slots=True)
class Decision:
    """What the plan says of one record. verdict: created | unchanged | stale | update |
    held, or None: not decided together (the ORM writer decides it, in order)."""
    verdict: str | None
    reason: str
    copy: object = None               # what the hub holds (see copies), when it matters


def verdict(copy, fingerprint: str, incoming_at, *, newer_only: bool = True) -> str:
    """The rule, on the hub's copy (anything with source_updated_at and payload_hash, or
    None): created | stale | unchanged | update."""
    if copy is None:
        return "created"
    if newer_only and incoming_at is not None and copy.source_updated_at is not None \
            and incoming_at < copy.source_updated_at:
        return "stale"
    if copy.payload_hash == fingerprint:
        return "unchanged"
    return "update"


_REASONS = {"created": "new to the hub", "stale": "older than the copy the hub holds",
            "unchanged": "the payload the hub holds", "update": "a changed payload"}


def plan(session, records: list[Incoming], *, in_order: bool = False,
         lock: bool = False) -> list[Decision]:
    """A Decision per record, in order. in_order: the records are interleaved with other
    writes (a batch's responses, status changes) that could change what a known copy
    answers: only creations are decided together. lock: the known reports are locked as
    the ORM writer locks them (FOR UPDATE, in id order), so their answers hold to commit.
    """
    named = Counter(rec.key for rec in records if rec.held is None)
    known = copies(session, list(named), lock=lock and not in_order)
    reports_named = Counter(copy.report_id for copy in known.values())
    decisions, first = [], set()
    for rec in records:
        if rec.held is not None:
            decisions.append(Decision("held", rec.held))
            continue
        copy = known.get(rec.key)
        if copy is None:
            if rec.key in first:
                decisions.append(Decision(None, "a later copy of a record new here: "
                                                "applied after the first"))
            else:
                first.add(rec.key)
                decisions.append(Decision(None, "does not load") if rec.problem else
                                 Decision("created", _REASONS["created"]))
            continue
        if rec.problem is not None:
            decisions.append(Decision(None, "does not load", copy))
        elif copy.moved:
            decisions.append(Decision(None, "its reference moved while being read", copy))
        elif in_order:
            decisions.append(Decision(None, "interleaved with other writes: in order", copy))
        elif named[rec.key] > 1 or reports_named[copy.report_id] > 1:
            decisions.append(Decision(None, "its report is named more than once: their "
                                            "order decides", copy))
        else:
            word = verdict(copy, rec.fingerprint, rec.source_updated_at)
            decisions.append(Decision(word, _REASONS[word], copy))
    return decisions


def copies(session, keys: list, *, lock: bool = False) -> dict:
    """{(system, external_id): copy} for the keys the hub knows; a copy has report_id,
    source_updated_at, payload_hash, and with lock also tracking_id and version of its
    report, locked FOR UPDATE (moved: the ref changed report between two reads)."""
    ref, report = ReportExternalRef, Report
    out = {}
    for system, chunk in ingest.per_system(keys):
        # Each step a plan that holds without statistics (see ingest.ref_hashes): find
        # the reports by one unique-index probe per id, lock them by primary key in one
        # order for every writer, then read their refs, now stable.
        columns = (ref.report_id, ref.source_updated_at, ref.payload_hash)
        if not lock:
            for row in ingest.probe_refs(session, system, chunk, *columns):
                out[(system, row.external_id)] = SimpleNamespace(
                    report_id=row.report_id, source_updated_at=row.source_updated_at,
                    payload_hash=row.payload_hash, moved=False)
            continue
        found = ingest.probe_refs(session, system, chunk, ref.report_id)
        if not found:
            continue
        locked = {row.id: row for row in session.execute(
            sa.select(report.id, report.tracking_id, report.version)
            .where(ingest.among(session, report.id, {r.report_id for r in found}))
            .order_by(report.id).with_for_update())}
        for row in ingest.probe_refs(session, system, chunk, *columns):
            report_row = locked.get(row.report_id)
            out[(system, row.external_id)] = SimpleNamespace(
                report_id=row.report_id, source_updated_at=row.source_updated_at,
                payload_hash=row.payload_hash, moved=report_row is None,
                tracking_id=getattr(report_row, "tracking_id", None),
                version=getattr(report_row, "version", None))
    return out


def claim_systems(session, systems, principal) -> set:
    """Check the writer's claim on each source system and lock it once, in name order,
    before any record's savepoint, so a rolled-back record cannot take the check or the
    lock with it. Returns the systems the principal may write under; a record of any
    other fails on its own with the 403 (the ORM writer checks again)."""
    claimed = set()
    for system in sorted(systems):
        try:
            source_systems.check_writer(session, system, principal)
        except Problem:
            continue
        report_service.lock_source_system(session, system)
        claimed.add(system)
    return claimed


# --- the bulk writer ---------------------------------------------------------------------

# What makes a creation together fail as a whole, so that its records go one by one: a
# concurrent writer's row (a duplicate key), a value the database refuses. A lost
# connection is not among them. The bulk insert talks to psycopg directly (COPY), so
# its own exceptions are caught too.
ITEM_DATA_ERRORS = (sa.exc.DataError, psycopg.DataError)
TOGETHER_FAILS = (Problem, IntegrityError, psycopg.IntegrityError) + ITEM_DATA_ERRORS


def build_created(session, records: list[Incoming], actor_of) -> tuple[list, list, dict]:
    """Drafts of the new reports of records planned `created` (their data loaded), not
    written: (built, positions of the records built, {position: Problem} of those the
    rules refuse). actor_of(system) is who writes."""
    reserve_tracking_ids(session, len(records))
    built, at, refused = [], [], {}
    for position, rec in enumerate(records):
        data = rec.data
        try:
            built.append(report_service.build_report(
                session, data, actor_of(rec.system), external_ref=rec.key,
                status=data.get("status"), source_updated_at=data.get("source_updated_at"),
                payload_hash=rec.fingerprint))
        except Problem as problem:
            refused[position] = problem
            continue
        at.append(position)
    return built, at, refused


def create_together(session, records: list[Incoming], actor_of, *,
                    falls_back_on=TOGETHER_FAILS):
    """Create the records' reports in one insert per table, in a savepoint. Returns
    ({position: report draft}, {position: Problem}), or None when the creation failed as a
    whole (nothing of it stays): its records then go one by one."""
    built, at, refused = [], [], {}
    try:
        with events.savepoint(session):
            built, at, refused = build_created(session, records, actor_of)
            ingest.insert_built(session, built)
    except falls_back_on:
        log.warning("creating %d reports together failed; one by one instead",
                    len(built), exc_info=True)
        return None
    return {position: report for position, (report, _) in zip(at, built, strict=True)}, \
        refused


def apply_together(session, records: list[Incoming], actor_of, *,
                   in_order: bool = False) -> list:
    """Plan the records and apply what can be applied together; per record, in order:
    a Problem (it failed), None (the caller applies it one by one with upsert_one), or
    (result, report id, tracking id, version) with result created | unchanged | stale.
    The caller holds the lock of each record's system (lock_source_system)."""
    decisions = plan(session, records, in_order=in_order, lock=True)
    out: list = [None] * len(records)
    for i, (rec, decided) in enumerate(zip(records, decisions, strict=True)):
        if rec.problem is not None:
            out[i] = rec.problem
        elif decided.verdict in ("stale", "unchanged"):
            copy = decided.copy
            out[i] = (decided.verdict, copy.report_id, copy.tracking_id, copy.version)
    new = [i for i, decided in enumerate(decisions) if decided.verdict == "created"]
    if new:
        done = create_together(session, [records[i] for i in new], actor_of)
        if done is not None:
            created, refused = done
            for position, report in created.items():
                out[new[position]] = ("created", report.id, report.tracking_id,
                                      report.version)
            for position, problem in refused.items():
                out[new[position]] = problem
    return out


# --- the ORM writer ----------------------------------------------------------------------

def upsert_one(session, system: str, external_id: str, data: dict, actor, *,
               raw_payload: dict, if_match: str | None = None, newer_only: bool = True):
    """Plan and apply one record through the ORM. Returns (report, result) with result
    one of created | updated | unchanged | stale. newer_only=False takes the payload as
    the source's present state whatever its time stamp (a reconciliation's full read: a
    local clock set back stamps a later change earlier than the copy the hub holds)."""
    principal = actor.principal
    system = source_systems.normalise(system)
    source_systems.check_writer(session, system, principal)
    report_service.lock_source_system(session, system)
    fingerprint = report_service.payload_fingerprint(raw_payload)
    ref = report_service.find_by_ref(session, system, external_id)
    incoming_at = data.get("source_updated_at")
    report = None
    if ref is None:
        if if_match is not None:
            raise Problem(412, "Precondition failed",
                          "If-Match was sent but no such report exists yet.",
                          slug="precondition-failed")
    else:
        report = report_service.locked(session, ref.report_id)
        if if_match is not None and if_match.strip() not in (report.etag, "*"):
            raise Problem(412, "Precondition failed",
                          f"The report changed since you read it (now {report.etag}); "
                          "fetch it again and retry.", slug="precondition-failed")
    word = verdict(ref, fingerprint, incoming_at, newer_only=newer_only)
    if word == "created":
        report = report_service.create_report(
            session, data, actor, external_ref=(system, external_id),
            status=data.get("status"), source_updated_at=incoming_at,
            payload_hash=fingerprint)
        return report, "created"
    if word != "update":
        return report, word
    require_responsible(principal, report)
    changed = report_service.update_fields(session, report, data, actor)
    if data.get("status") and data["status"] != report.status:
        report_service.walk_to(session, report, data["status"], actor)
        changed = True
    ref.payload_hash = fingerprint
    if incoming_at is not None:
        ref.source_updated_at = incoming_at
    return report, "updated" if changed else "unchanged"
