"""Reports: create, list, read, status, dispositions, events, attachments."""
import json
import uuid

import sqlalchemy as sa
from flask import current_app, jsonify, request, send_file
from flask_smorest import Blueprint

from hub.api import paging
from hub.api.common import BEARER, actor, check_if_match, with_etag
from hub.auth import current_principal, require
from hub.errors import Problem, not_found
from hub.extensions import db
from hub.models import Attachment, Report, ReportEvent
from hub.schemas.reports import (
    AttachmentOutSchema,
    DispositionSchema,
    EventListSchema,
    PageQuerySchema,
    ReportInSchema,
    ReportListQuerySchema,
    ReportOutSchema,
    ReportPageSchema,
    StatusChangeSchema,
)
from hub.services import access, attachments, listing
from hub.services import reports as report_service
from hub.services.idempotency import transactional
from hub.services.representations import attachment_dict, report_dict, report_json

blp = Blueprint("reports", __name__, description="Reports and their life-cycle")


@blp.route("/reports", methods=["POST"])
@blp.doc(security=BEARER, parameters=[{"in": "header", "name": "Idempotency-Key",
                                       "schema": {"type": "string", "maxLength": 255}}])
@require("reports:write")
@transactional(idempotent=True)
@blp.arguments(ReportInSchema)
@blp.response(201, ReportOutSchema)
def create_report(data):
    """Create a report (status `received`); Idempotency-Key honoured"""
    report = report_service.create_report(db.session, data, actor())
    db.session.flush()
    return with_etag(report_dict(report, current_principal()), report, 201,
                     {"Location": f"/api/v1/reports/{report.id}"})


@blp.route("/reports", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
# An instance, not the class: webargs would build (deep-copy) the schema per request.
@blp.arguments(ReportListQuerySchema(), location="query")
@blp.response(200, ReportPageSchema)
def list_reports(args):
    """Reports the caller may see, oldest change first; keyset-paginated

    Filter by status, agency, category, channel and updated_since (inclusive). Ordered by
    (updated_at, id), so a client syncing with updated_since never misses a change."""
    principal = current_principal()
    after = paging.decode(args.get("cursor"), paging.timestamp, paging.uuid_key)
    filters = {field: args[field] for field in listing.FILTERS if field in args}
    limit = args["limit"]
    if listing.builds_json(db.session):
        # PostgreSQL writes each report's JSON (listing.page_json); Python only joins them.
        items = listing.page_json(db.session, principal, access.scope(principal), filters,
                                  args.get("updated_since"), after, limit + 1, ends_read=True)
        next_cursor = None
        if len(items) > limit:
            del items[limit:]
            next_cursor = paging.encode(list(listing.cursor_of(items[-1])))
        return _json_text('{"items":[' + ",".join(items) + '],"next_cursor":'
                          + json.dumps(next_cursor) + "}")
    stmt = access.visible(principal)
    for field, value in filters.items():
        stmt = stmt.where(listing.FILTERS[field] == value)
    if "updated_since" in args:
        stmt = stmt.where(Report.updated_at >= args["updated_since"])
    if after:
        stmt = stmt.where(sa.tuple_(Report.updated_at, Report.id) > sa.tuple_(
            sa.literal(after[0], Report.updated_at.type), sa.literal(after[1], Report.id.type)))
    rows = listing.report_views(db.session, stmt, (Report.updated_at, Report.id), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = paging.encode([last.updated_at.isoformat(), str(last.id)])
    # Already in JSON form (report_json): the schema documents it, nothing re-dumps it.
    return jsonify({"items": [report_json(r, principal) for r in rows],
                    "next_cursor": next_cursor})


def _json_text(text: str, headers=None):
    """A response of JSON already written, as jsonify would send it (its mimetype, its
    closing newline)."""
    return current_app.response_class(text + "\n", mimetype=current_app.json.mimetype,
                                      headers=headers)


@blp.route("/reports/<string:report_id>", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.response(200, ReportOutSchema)
def get_report(report_id):
    """One report, by hub id or tracking id"""
    if listing.builds_json(db.session):
        text, etag = access.read_report_json(db.session, report_id, current_principal(),
                                             ends_read=True)
        return _json_text(text, {"ETag": etag})
    report = access.read_report(db.session, report_id, current_principal())
    return with_etag(jsonify(report_json(report, current_principal())), report)


@blp.route("/reports/<string:report_id>/status", methods=["POST"])
@blp.doc(security=BEARER)
@require("reports:write")
@transactional()
@blp.arguments(StatusChangeSchema)
@blp.response(200, ReportOutSchema)
def change_status(data, report_id):
    """Move the report along its life-cycle; an illegal move is 409 naming the allowed ones

    Sending `If-Match` with the ETag you read protects against lost updates (412)."""
    report = access.get_report(db.session, report_id, current_principal(), for_update=True)
    check_if_match(report)
    report_service.change_status(db.session, report, data["status"], actor(), data.get("note"))
    return with_etag(report_dict(report, current_principal()), report)


@blp.route("/reports/<string:report_id>/dispositions", methods=["POST"])
@blp.doc(security=BEARER)
@require("reports:write")
@transactional()
@blp.arguments(DispositionSchema)
@blp.response(200, ReportOutSchema)
def disposition(data, report_id):
    """Disposition (or forward: "no wrong door") the report to an agency"""
    report = access.get_report(db.session, report_id, current_principal(), for_update=True)
    check_if_match(report)
    report_service.disposition(db.session, report, data["to_agency"], actor(),
                               data.get("note"))
    return with_etag(report_dict(report, current_principal()), report)


@blp.route("/reports/<string:report_id>/events", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, EventListSchema)
def events(args, report_id):
    """The audit timeline: who did what, when, from which system"""
    report = access.get_report(db.session, report_id, current_principal())
    after = paging.decode(args.get("cursor"), paging.seq)
    stmt = sa.select(ReportEvent).where(ReportEvent.report_id == report.id)
    if after:
        stmt = stmt.where(ReportEvent.seq > after[0])
    rows = db.session.execute(stmt.order_by(ReportEvent.seq).limit(args["limit"] + 1)
                              ).scalars().all()
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    return {"items": rows,
            "next_cursor": paging.encode([rows[-1].seq]) if more else None}


@blp.route("/reports/<string:report_id>/attachments", methods=["POST"])
@blp.doc(security=BEARER, requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}},
    "required": ["file"]}}}})
@require("reports:write")
@transactional(idempotent=True)
@blp.response(201, AttachmentOutSchema)
def upload_attachment(report_id):
    """Attach a file (multipart field `file`): JPEG, PNG, GIF, WebP, PDF or UTF-8 text,
    at most HUB_ATTACHMENT_MAX_BYTES (2 MiB by default)"""
    report = access.get_report(db.session, report_id, current_principal(), for_update=True)
    upload = request.files.get("file")
    if upload is None:
        raise Problem(422, "Validation failed", "Send the file as multipart field 'file'.",
                      slug="validation", errors={"file": "missing"})
    access.require_responsible(current_principal(), report)
    att = attachments.save(db.session, report, upload, actor())
    db.session.flush()
    return attachment_dict(att), 201, {"Location": attachment_dict(att)["url"]}


@blp.route("/reports/<string:report_id>/attachments/<string:attachment_id>",
           methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
def download_attachment(report_id, attachment_id):
    """Download an attachment (always as a download, never rendered inline)"""
    report = access.get_report(db.session, report_id, current_principal())
    try:
        att_uuid = uuid.UUID(attachment_id)
    except ValueError:
        raise not_found("attachment") from None
    att = db.session.get(Attachment, att_uuid)
    if att is None or att.report_id != report.id:
        raise not_found("attachment")
    resp = send_file(attachments.path_of(att), mimetype=att.content_type,
                     as_attachment=True, download_name=att.filename, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp
