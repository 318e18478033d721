"""POST /sync/batches: up to 1000 operations, each succeeding or failing on its own."""
import logging

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import IntegrityError

from hub.api import plainjson
from hub.api.common import BEARER, actor
from hub.api.sources import check_ref
from hub.auth import current_principal, require
from hub.errors import Problem, database_unavailable, validation_problem
from hub.extensions import db
from hub.input_guard import checks_items_alone, find_nul, nul_problem
from hub.schemas.fastload import FastLoad
from hub.schemas.fields import Choice, Text
from hub.schemas.reports import (
    ExternalRefSchema,
    ResponseInSchema,
    SourceReportInSchema,
    StatusChangeSchema,
)
from hub.services import access, events, ingest_plan, source_systems
from hub.services import reports as report_service
from hub.services.idempotency import transactional
from hub.services.responses import add_response

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


def _upsert_fields(op: dict) -> dict:
    """The loaded report fields of an upsert_report operation; a Problem if it is not
    one."""
    if not op.get("system") or not op.get("external_id") or \
            not isinstance(op.get("report"), dict):
        raise validation_problem({"_schema": ["upsert_report needs system, external_id "
                                              "and a report object"]})
    check_ref(op["system"], op["external_id"])
    return _load(SOURCE_REPORT, op["report"])


def _run(raw: dict) -> dict:
    if not isinstance(raw, dict):
        raise validation_problem({"_schema": ["each operation must be a JSON object"]})
    op = _load(OPERATION, raw)
    kind = op["op"]
    if kind == "upsert_report":
        data = _upsert_fields(op)
        report, result = ingest_plan.upsert_one(
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
    """The well-formed system names the batch upserts under that the caller may write
    under, each checked and locked once (ingest_plan.claim_systems)."""
    systems = {op.get("system") for op in operations
               if isinstance(op, dict) and op.get("op") == "upsert_report"}
    # A bad name is left to its items, which report it.
    named = [s for s in systems if isinstance(s, str)
             and not EXTERNAL_REF.validate({"system": s, "external_id": "x"})]
    return ingest_plan.claim_systems(db.session, named, current_principal())


def _failure(problem: Problem) -> dict:
    return {"status": problem.status, "result": "failed", "error": problem.to_dict()}


def _refused_by_database(error) -> dict:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return _failure(Problem(
        422, "Validation failed", f"The database refused a value of this item ({reason}); "
        "nothing of it was written. Shorten or correct the value and send it again.",
        slug="validation"))


# What a database refuses about one item's values (a value too long for its column, a
# character it cannot store); a lost connection (OperationalError) is not among them.
ITEM_DATA_ERRORS = ingest_plan.ITEM_DATA_ERRORS


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


def _together(operations, claimed: set, done: dict) -> dict:
    """{index: outcome} of the upserts that the ingest use case applies together
    (ingest_plan.apply_together: new reports in one insert per table, replays and stale
    copies answered from what the hub holds). Only upserts of a claimed system qualify;
    the others, and whatever the plan leaves, run one by one, in order."""
    picked = []
    for index, raw in enumerate(operations):
        if index in done or not isinstance(raw, dict) or raw.get("op") != "upsert_report" \
                or raw.get("system") not in claimed or type(raw.get("external_id")) is not str \
                or not isinstance(raw.get("report"), dict):
            continue
        try:
            data = _upsert_fields(_load(OPERATION, raw))
            record = ingest_plan.Incoming(
                raw["system"], raw["external_id"],
                fingerprint=report_service.payload_fingerprint(raw["report"]),
                source_updated_at=data.get("source_updated_at"), data=data)
        except Problem as problem:
            record = ingest_plan.Incoming(raw["system"], raw["external_id"], problem=problem)
        picked.append((index, record))
    if not picked:
        return {}
    # Responses and status changes among the items: their order could decide what a
    # known record answers, so only creations are taken together.
    in_order = any(isinstance(raw, dict) and raw.get("op") in ("add_response", "change_status")
                   for raw in operations)
    actors = {system: actor(system) for system in claimed}  # one per system, not per item
    # The session itself, not the scoped proxy: the rules read session.info several
    # times per report, and each proxied access looks the session up again.
    answers = ingest_plan.apply_together(db.session(), [record for _, record in picked],
                                         actors.__getitem__, in_order=in_order)
    outcomes = {}
    for (index, _), answer in zip(picked, answers, strict=True):
        if isinstance(answer, Problem):
            outcomes[index] = _failure(answer)
        elif answer is not None:
            result, report_id, tracking_id, version = answer
            outcomes[index] = {"status": 201 if result == "created" else 200,
                               "result": result, "id": str(report_id),
                               "tracking_id": tracking_id, "version": version}
    return outcomes


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
    done.update(_together(operations, claimed, done))
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
