"""PUT /sources/{system}/reports/{external_id}: upsert by the caller's own id."""
from flask import request
from flask_smorest import Blueprint

from hub.api.common import BEARER, actor, with_etag
from hub.auth import current_principal, require
from hub.errors import Problem
from hub.extensions import db
from hub.schemas.fastload import FastLoad
from hub.schemas.reports import ExternalRefSchema, ReportOutSchema, SourceReportInSchema
from hub.services import ingest_plan, source_systems
from hub.services.idempotency import transactional
from hub.services.representations import report_dict

blp = Blueprint("sources", __name__, description="Upsert by a source system's own id")

RESULT_HEADER = "Hub-Upsert-Result"


# Checked for every item of a batch: the fast path, with the schema's own messages.
_EXTERNAL_REF = FastLoad(ExternalRefSchema())


def check_ref(system, external_id):
    errors = _EXTERNAL_REF.validate({"system": system, "external_id": external_id})
    if errors:
        from hub.errors import validation_problem
        raise validation_problem(errors)


@blp.route("/sources/<string:system>/reports/<path:external_id>", methods=["PUT"],
           parameters=[  # the rules check_ref applies, so the OpenAPI states them too
               {"in": "path", "name": "system", "schema": {
                   "type": "string", "minLength": 1, "maxLength": 64,
                   "pattern": r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"}},
               {"in": "path", "name": "external_id", "schema": {
                   "type": "string", "minLength": 1, "maxLength": 200}}])
@blp.doc(security=BEARER)
@require("reports:write")
@transactional()
@blp.arguments(SourceReportInSchema)
@blp.response(200, ReportOutSchema, description="Updated, unchanged or stale "
              "(see the Hub-Upsert-Result header)")
@blp.alt_response(201, schema=ReportOutSchema, description="Created")
def upsert(data, system, external_id):
    """Create the report, or update it if this copy is newer; replays change nothing

    The `Hub-Upsert-Result` header says `created`, `updated`, `unchanged` (same payload,
    or nothing differs) or `stale` (older than what the hub holds: ignored)."""
    system = source_systems.normalise(system)
    check_ref(system, external_id)
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise Problem(400, "Malformed JSON", "The request body must be a JSON object.",
                      slug="malformed-json")
    report, result = ingest_plan.upsert_one(
        db.session, system, external_id, data, actor(system), raw_payload=raw,
        if_match=request.headers.get("If-Match"))
    db.session.flush()
    return with_etag(report_dict(report, current_principal()), report,
                     201 if result == "created" else 200, {RESULT_HEADER: result})
