"""Responses (tindak lanjut) to a report."""

import sqlalchemy as sa
from flask_smorest import Blueprint

from hub.api import paging
from hub.api.common import BEARER, actor
from hub.auth import current_principal, require
from hub.extensions import db
from hub.models import Response
from hub.schemas.reports import (
    PageQuerySchema,
    ResponseInSchema,
    ResponseListSchema,
    ResponseOutSchema,
)
from hub.services import access
from hub.services.idempotency import transactional
from hub.services.representations import response_dict
from hub.services.responses import add_response

blp = Blueprint("responses", __name__, description="Responses (tindak lanjut)")


@blp.route("/reports/<string:report_id>/responses", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ResponseListSchema)
def list_responses(args, report_id):
    """Responses to a report, oldest first"""
    report = access.get_report(db.session, report_id, current_principal())
    stmt = sa.select(Response).where(Response.report_id == report.id)
    key = paging.decode(args.get("cursor"), paging.timestamp, paging.uuid_key)
    if key:
        stmt = stmt.where(sa.tuple_(Response.created_at, Response.id) > sa.tuple_(
            sa.literal(key[0], Response.created_at.type), sa.literal(key[1], Response.id.type)))
    rows = db.session.execute(stmt.order_by(Response.created_at, Response.id)
                              .limit(args["limit"] + 1)).scalars().all()
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    cursor = paging.encode([rows[-1].created_at.isoformat(), str(rows[-1].id)]) if more \
        else None
    return {"items": [response_dict(r) for r in rows], "next_cursor": cursor}


@blp.route("/reports/<string:report_id>/responses", methods=["POST"])
@blp.doc(security=BEARER, parameters=[{"in": "header", "name": "Idempotency-Key",
                                       "schema": {"type": "string", "maxLength": 255}}])
@require("reports:write")
@transactional(idempotent=True)
@blp.arguments(ResponseInSchema)
@blp.response(201, ResponseOutSchema)
@blp.alt_response(200, schema=ResponseOutSchema,
                  description="The response with this external_ref already existed")
def post_response(data, report_id):
    """Post a response; idempotent on external_ref (200 with the existing one) or
    Idempotency-Key. The first public response moves a dispositioned report to in_progress."""
    report = access.get_report(db.session, report_id, current_principal(), for_update=True)
    response, created = add_response(db.session, report, data, actor())
    return response_dict(response), 201 if created else 200, {
        "Location": f"/api/v1/reports/{report.id}/responses"}
