"""POST /sync/batches: up to 1000 operations, each succeeding or failing on its own."""
import logging
from collections import Counter
from types import SimpleNamespace

import psycopg
import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import DataError, IntegrityError

from hub.api import plainjson
from hub.api.common import BEARER, actor
from hub.api.sources import check_ref
from hub.auth import current_principal, require
from hub.errors import Problem, database_unavailable, validation_problem
from hub.extensions import db
from hub.input_guard import checks_items_alone, find_nul, nul_problem
from hub.models import Report, ReportExternalRef
from hub.schemas.fastload import FastLoad
from hub.schemas.fields import Choice, Text
from hub.schemas.reports import (
    ExternalRefSchema,
    ResponseInSchema,
    SourceReportInSchema,
    StatusChangeSchema,
)
from hub.services import access, events, ingest, source_systems
from hub.services import reports as report_service
from hub.services.idempotency import transactional
from hub.services.responses import add_response
from hub.services.tracking import reserve_tracking_ids

log = logging.getLogger(__name__)
blp = Blueprint("sync", __name__, description="Batched sync for connectors and local systems")
MAX_OPERATIONS = 1000
OPS = ("upsert_report", "add_response", "change_status")


class OperationSchema(Schema):
    """One operation. `upsert_report` needs system, external_id and report;
    `add_response` and `change_status` name the report by `report` (hub id or tracking
    id) or `report_ref` ({system, external_id})."""

    op = Choice(OPS, required=True)
    system = Text()
    external_id = Text()
    report = fields.Raw(metadata={"description": "report fields (upsert_report) or a "
                                                 "hub id / tracking id"})
    report_ref = fields.Nested(ExternalRefSchema)
    response = fields.Dict()
    status = Text()
    note = Text(allow_none=True)


class RawItems(fields.List):
    """List(Raw(allow_none=True)): what it loads, a copy of the list, without a field
    call per item (a batch has 1000 of them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        inner = self.inner
        if type(value) is list and type(inner) is fields.Raw and inner.allow_none and \
                not inner.validators and not inner.pre_load and not inner.post_load:
            return list(value)
        return super()._deserialize(value, attr, data, **kwargs)


class BatchSchema(Schema):
    # Items are checked one by one in the batch (a non-object item fails alone with 422):
    # validating them here would let one malformed item reject the whole batch.
    operations = RawItems(fields.Raw(allow_none=True, metadata={"type": "object"}),
                             required=True,
                             validate=validate.Length(1, MAX_OPERATIONS),
                             metadata={"items": OperationSchema})


class ItemResultSchema(Schema):
    index = fields.Integer()
    # null when the item is not an object with a known op (it is reported as failed).
    op = fields.String(allow_none=True)
    status = fields.Integer(metadata={"description": "HTTP status this item would have had"})
    result = fields.String(metadata={"description": "created | updated | unchanged | stale "
                                                    "| failed"})
    id = fields.String(allow_none=True)
    tracking_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    error = fields.Dict(allow_none=True, metadata={"description": "problem+json of the item"})


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(ItemResultSchema))
    succeeded = fields.Integer()
    failed = fields.Integer()


# Schema instances are reusable and cost more to build than to run: build them once.
# Item loads go through the fast path: the same results and errors as the schemas' own.
OPERATION = FastLoad(OperationSchema())
SOURCE_REPORT = FastLoad(SourceReportInSchema())
RESPONSE_IN = FastLoad(ResponseInSchema())
STATUS_CHANGE = StatusChangeSchema()
EXTERNAL_REF = ExternalRefSchema()


def _load(schema, data):
    try:
        return schema.load(data)
    except ValidationError as err:
        raise validation_problem(err.messages) from None


def _target(op: dict):
    principal = current_principal()
    if op.get("report_ref"):
        ref = report_service.find_by_ref(db.session, op["report_ref"]["system"],
                                         op["report_ref"]["external_id"])
        if ref is None:
            raise Problem(404, "Not found", "No report with that report_ref.",
                          slug="not-found")
        return access.get_report(db.session, str(ref.report_id), principal, for_update=True)
    if isinstance(op.get("report"), str):
        return access.get_report(db.session, op["report"], principal, for_update=True)
    raise validation_problem({"report": ["name the report by `report` (id or tracking id) "
                                         "or `report_ref`"]})


def _run(raw: dict) -> dict:
    if not isinstance(raw, dict):
        raise validation_problem({"_schema": ["each operation must be a JSON object"]})
    op = _load(OPERATION, raw)
    kind = op["op"]
    if kind == "upsert_report":
        if not op.get("system") or not op.get("external_id") or \
                not isinstance(op.get("report"), dict):
            raise validation_problem({"_schema": ["upsert_report needs system, external_id "
                                                  "and a report object"]})
        check_ref(op["system"], op["external_id"])
        data = _load(SOURCE_REPORT, op["report"])
        report, result = report_service.upsert_from_source(
            db.session, op["system"], op["external_id"], data, actor(op["system"]),
            raw_payload=op["report"])
        status = 201 if result == "created" else 200
    elif kind == "add_response":
        data = _load(RESPONSE_IN, op.get("response") or {})
        report = _target(op)
        _, created = add_response(db.session, report, data, actor())
        result, status = ("created", 201) if created else ("unchanged", 200)
    else:
        data = _load(STATUS_CHANGE, {"status": op.get("status"), "note": op.get("note")})
        report = _target(op)
        if report.status == data["status"]:
            result = "unchanged"  # replaying a status change is not an error
        else:
            report_service.change_status(db.session, report, data["status"], actor(),
                                         data.get("note"))
            result = "updated"
        status = 200
    db.session.flush()
    return {"status": status, "result": result, "id": str(report.id),
            "tracking_id": report.tracking_id, "version": report.version}


def _normalise_systems(operations) -> None:
    """System names in their stored (lower-case) form, in place, before anything reads
    them: the bulk paths compare them as keys."""
    for raw in operations:
        if isinstance(raw, dict):
            if "system" in raw:
                raw["system"] = source_systems.normalise(raw["system"])
            ref = raw.get("report_ref")
            if isinstance(ref, dict) and "system" in ref:
                ref["system"] = source_systems.normalise(ref["system"])


def _claim_systems(operations) -> set:
    """Check the writer's claim on each source system and lock it once, outside the
    per-item savepoints, so a rolled-back item cannot take the check or the lock with
    it. Returns the systems the caller may write under."""
    systems = {op.get("system") for op in operations
               if isinstance(op, dict) and op.get("op") == "upsert_report"}
    claimed = set()
    for system in sorted(s for s in systems if isinstance(s, str)):
        if EXTERNAL_REF.validate({"system": system, "external_id": "x"}):
            continue  # the items themselves report the bad name
        try:
            source_systems.check_writer(db.session, system, current_principal())
        except Problem:
            continue  # each item of an unclaimed or foreign system fails with the 403
        report_service.lock_source_system(db.session, system)
        claimed.add(system)
    return claimed


def _failure(problem: Problem) -> dict:
    return {"status": problem.status, "result": "failed", "error": problem.to_dict()}


def _refused_by_database(error) -> dict:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return _failure(Problem(
        422, "Validation failed", f"The database refused a value of this item ({reason}); "
        "nothing of it was written. Shorten or correct the value and send it again.",
        slug="validation"))


# What a database refuses about one item's values (a value too long for its column, a
# character it cannot store). The bulk insert talks to psycopg directly (COPY), so its
# own exceptions are caught too; a lost connection (OperationalError) is not among them.
ITEM_DATA_ERRORS = (DataError, psycopg.DataError)


def _conflict() -> dict:
    return {"status": 409, "result": "failed", "error": Problem(
        409, "Conflict", "The item conflicts with data written concurrently; retry it.",
        slug="conflict").to_dict()}


def _unique_violation(error: IntegrityError) -> bool:
    """A duplicate key: another writer got there first, and a retry finds its row. Any
    other integrity error (a check, a NOT NULL, a trigger's refusal) is about the item's
    values, and a retry would fail the same way."""
    orig = getattr(error, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return "UNIQUE constraint failed" in str(orig)


def _nul_items(operations) -> dict:
    """{index: failure} of the items holding a NUL anywhere (checked one by one here:
    the whole-body check is off for batches, so one bad item cannot reject the rest)."""
    out = {}
    for index, raw in enumerate(operations):
        field = find_nul(raw)
        if field:
            out[index] = _failure(nul_problem(field, "field"))
    return out


def _bulk_creates(operations, claimed: set, skip=()) -> dict:
    """Create the batch's brand-new reports together; returns {index: outcome}.

    Only upserts of a claimed system whose (system, external_id) is new to the hub and
    first in the batch qualify; everything else is left to the per-item path. The system
    locks taken by _claim_systems keep the "new" check true until commit. If the bulk
    insert fails as a whole, nothing of it stays and every item takes the per-item path.
    """
    candidates = []
    seen = set()
    for index, raw in enumerate(operations):
        if index in skip or not isinstance(raw, dict) or raw.get("op") != "upsert_report" \
                or raw.get("system") not in claimed or not isinstance(raw.get("report"), dict):
            continue
        key = (raw["system"], raw.get("external_id"))
        if key in seen or not isinstance(key[1], str):
            continue
        seen.add(key)
        candidates.append((index, key, raw))
    if not candidates:
        return {}
    # The session itself, not the scoped proxy: the rules read session.info several
    # times per report, and each proxied access looks the session up again.
    session = db.session()
    known = ingest.existing_refs(session, [key for _, key, _ in candidates])
    outcomes, built, built_at = {}, [], []
    actors = {system: actor(system) for system in claimed}  # one per system, not per item
    try:
        with events.savepoint(session):
            reserve_tracking_ids(session, len(candidates) - len(known))
            for index, key, raw in candidates:
                if key in known:
                    continue
                try:
                    _load(OPERATION, raw)
                    check_ref(*key)
                    data = _load(SOURCE_REPORT, raw["report"])
                    built.append(report_service.build_report(
                        session, data, actors[key[0]], external_ref=key,
                        status=data.get("status"),
                        source_updated_at=data.get("source_updated_at"),
                        payload_hash=report_service.payload_fingerprint(raw["report"])))
                    built_at.append(index)
                except Problem as problem:
                    outcomes[index] = _failure(problem)
            ingest.insert_built(session, built)
    except (Problem, IntegrityError, psycopg.IntegrityError) + ITEM_DATA_ERRORS:
        log.warning("bulk create of %d reports failed; taking them one by one", len(built))
        return {}
    for index, (report, _) in zip(built_at, built, strict=False):
        outcomes[index] = {"status": 201, "result": "created", "id": str(report.id),
                           "tracking_id": report.tracking_id, "version": report.version}
    return outcomes


def _bulk_replays(operations, claimed: set, done: dict) -> dict:
    """Answer upserts that change nothing together; returns {index: outcome}.

    A connector's next sync sends many records again as they were. One by one each took
    a savepoint, a ref lookup and a locked load of the report with its relations. Here
    the refs and reports of the batch's known records are read, and the reports locked,
    in three statements per 500, and an item
    whose copy is older than the hub's (stale) or the very payload it holds (unchanged)
    is answered as upsert_from_source would answer it, in the same order of checks.
    Anything else (changed payloads, bad items) is left to the per-item path, as is
    every record named twice in the batch or whose report another item also names, and
    the whole batch if it holds responses or status changes: then the order of the items
    could decide the answer.
    """
    if any(isinstance(raw, dict) and raw.get("op") in ("add_response", "change_status")
           for raw in operations):
        return {}
    named = Counter((raw.get("system"), raw.get("external_id")) for raw in operations
                    if isinstance(raw, dict) and raw.get("op") == "upsert_report")
    candidates = {}
    for index, raw in enumerate(operations):
        if index in done or not isinstance(raw, dict) or raw.get("op") != "upsert_report":
            continue
        key = (raw.get("system"), raw.get("external_id"))
        if key[0] in claimed and type(key[1]) is str and named[key] == 1 and \
                isinstance(raw.get("report"), dict):
            candidates[key] = index
    if not candidates:
        return {}
    session = db.session()
    # Every known record the batch names (not only the candidates), to see which reports
    # more than one item would touch.
    held = _held_copies(session, [key for key in named
                                  if key[0] in claimed and type(key[1]) is str])
    reports_named = Counter(row.report_id for row in held.values())
    outcomes = {}
    for key, row in held.items():
        if key not in candidates or reports_named[row.report_id] > 1:
            continue  # named twice, or two records of one report: their order matters
        index = candidates[key]
        raw = operations[index]
        try:
            _load(OPERATION, raw)
            check_ref(*key)
            data = _load(SOURCE_REPORT, raw["report"])
        except Problem:
            continue  # the per-item path gives the failure
        incoming_at = data.get("source_updated_at")
        if incoming_at is not None and row.source_updated_at is not None \
                and incoming_at < row.source_updated_at:
            result = "stale"
        elif row.payload_hash == report_service.payload_fingerprint(raw["report"]):
            result = "unchanged"
        else:
            continue  # an update: the per-item path
        outcomes[index] = {"status": 200, "result": result, "id": str(row.report_id),
                           "tracking_id": row.tracking_id, "version": row.version}
    return outcomes


def _held_copies(session, keys: list) -> dict:
    """{(system, external_id): row} for the keys the hub knows, each report locked FOR
    UPDATE as upsert_from_source locks it (rows: report_id, source_updated_at,
    payload_hash, tracking_id, version)."""
    ref, report = ReportExternalRef, Report
    held = {}
    for system, chunk in ingest.per_system(keys):
        # Each step a plan that holds without statistics (see ingest.ref_hashes): find
        # the reports by one unique-index probe per id, lock them by primary key in one
        # order for every batch, then read their refs, now stable.
        found = ingest.probe_refs(session, system, chunk, ref.report_id)
        if not found:
            continue
        locked = {row.id: row for row in session.execute(
            sa.select(report.id, report.tracking_id, report.version)
            .where(ingest.among(session, report.id, {r.report_id for r in found}))
            .order_by(report.id).with_for_update())}
        for row in ingest.probe_refs(session, system, chunk, ref.report_id,
                                     ref.source_updated_at, ref.payload_hash):
            report_row = locked.get(row.report_id)
            if report_row is None:
                continue  # a ref that moved since it was found: the per-item path
            held[(system, row.external_id)] = SimpleNamespace(
                external_id=row.external_id, report_id=row.report_id,
                source_updated_at=row.source_updated_at, payload_hash=row.payload_hash,
                tracking_id=report_row.tracking_id, version=report_row.version)
    return held


@blp.route("/sync/batches", methods=["POST"])
@blp.doc(security=BEARER)
@require("reports:write")
@transactional(idempotent=True)
@blp.arguments(BatchSchema)
@blp.response(207, BatchResultSchema)
@checks_items_alone
def post_batch(body):
    """Apply up to 1000 operations (report upserts, responses, status changes)

    A bad operation is reported in its result and never rejects the good ones, which
    commit together. Results are in input order. New reports are created first, together
    (so a later operation may refer to a report created anywhere in the same batch); the
    other operations then run in order, each in its own savepoint."""
    operations = body["operations"]
    done = _nul_items(operations)
    _normalise_systems(operations)
    claimed = _claim_systems(operations)
    done.update(_bulk_creates(operations, claimed, skip=done))
    done.update(_bulk_replays(operations, claimed, done))
    results = []
    for index, raw in enumerate(operations):
        kind = raw.get("op") if isinstance(raw, dict) else None
        if index in done:
            results.append({"index": index, "op": kind, **done[index]})
            continue
        try:
            with events.savepoint(db.session):
                outcome = _run(raw)
        except Problem as problem:
            outcome = _failure(problem)
        except ITEM_DATA_ERRORS as error:
            outcome = _refused_by_database(error)
        except IntegrityError as error:
            outcome = _conflict() if _unique_violation(error) else _refused_by_database(error)
        except Exception as exc:  # a bug in one item must not lose the others
            if database_unavailable(exc):
                raise  # not this item's fault: the whole batch is answered 503
            log.exception("batch item %s failed", index)
            outcome = {"status": 500, "result": "failed", "error": Problem(
                500, "Internal error", "This item failed unexpectedly; it is logged.",
                slug="internal").to_dict()}
        results.append({"index": index, "op": kind, **outcome})
    failed = sum(1 for r in results if r["result"] == "failed")
    # The results are plain values already in BatchResultSchema's shape: written as they
    # are (marshmallow's dump of 1000 results copied them at a tenth of the batch's time).
    return plainjson.response(
        {"results": results, "succeeded": len(results) - failed, "failed": failed}, 207)
