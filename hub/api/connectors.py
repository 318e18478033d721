"""Connectors of the caller's agency: health, sync runs, held records, mappings, actions.

Not part of the fixed v1 contract (the spec leaves connectors to the implementer); the
mapping UI uses the same services.
"""
import sqlalchemy as sa
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from hub.api import paging
from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.errors import Problem, not_found
from hub.extensions import db
from hub.models import Connector, HeldRecord, SyncRecordError, SyncRun
from hub.schemas.fields import Timestamp
from hub.services import mapping_rules
from hub.services.access import in_scope
from hub.services.idempotency import transactional
from hub.sync import files

blp = Blueprint("connectors", __name__, description="Connectors to local systems")


class ConnectorSchema(Schema):
    id = fields.String()
    agency = fields.String(attribute="agency_code")
    kind = fields.String()
    name = fields.String()
    system = fields.String()
    interval_seconds = fields.Integer()
    paused = fields.Boolean()
    paused_reason = fields.String(allow_none=True)
    failure_streak = fields.Integer()
    circuit = fields.Function(lambda c: "open" if c.paused and c.failure_streak else
                              ("paused" if c.paused else "closed"))
    last_error = fields.String(allow_none=True)
    last_success_at = Timestamp(allow_none=True)
    last_run_at = Timestamp(allow_none=True)
    next_run_at = Timestamp(allow_none=True)
    reconcile_seconds = fields.Integer(allow_none=True)
    next_reconcile_at = Timestamp(allow_none=True)
    held = fields.Integer(dump_default=0)


class RunSchema(Schema):
    id = fields.Integer()
    kind = fields.String()  # sync or reconcile
    trigger = fields.String()
    status = fields.String()
    started_at = Timestamp()
    ended_at = Timestamp(allow_none=True)
    counts = fields.Dict()
    error = fields.String(allow_none=True)
    cursor_before = fields.Dict(allow_none=True)
    cursor_after = fields.Dict(allow_none=True)
    record_errors = fields.List(fields.Dict())


class HeldSchema(Schema):
    stream = fields.String()
    external_id = fields.String()
    reason = fields.String()
    missing = fields.List(fields.Dict())
    detail = fields.String(allow_none=True)
    attempts = fields.Integer()
    first_held_at = Timestamp()
    last_seen_at = Timestamp()


class ListOf(Schema):
    next_cursor = fields.String(allow_none=True)


class ConnectorList(ListOf):
    items = fields.List(fields.Nested(ConnectorSchema))


class RunList(ListOf):
    items = fields.List(fields.Nested(RunSchema))


class HeldList(ListOf):
    items = fields.List(fields.Nested(HeldSchema))


class PageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.String(validate=validate.Length(max=200))


def _connector(connector_id: str, for_update=False) -> Connector:
    conn = db.session.get(Connector, connector_id, with_for_update=for_update)
    if conn is None or not in_scope(current_principal(), conn.agency_code):
        raise not_found("connector")
    return conn


def _id_page(stmt, id_column, args, newest_first=False):
    """One keyset page ordered by an integer id; returns (rows, next_cursor)."""
    after = paging.decode(args.get("cursor"), paging.seq)
    if after:
        stmt = stmt.where(id_column < after[0] if newest_first else id_column > after[0])
    order = id_column.desc() if newest_first else id_column
    rows = db.session.execute(stmt.order_by(order).limit(args["limit"] + 1)).scalars().all()
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]
    return rows, paging.encode([rows[-1].id]) if more else None


def _held_counts(ids):
    rows = db.session.execute(sa.select(HeldRecord.connector_id, sa.func.count())
                              .where(HeldRecord.connector_id.in_(ids))
                              .group_by(HeldRecord.connector_id))
    return dict(rows.all())


@blp.route("/connectors")
@blp.doc(security=BEARER)
@require("reports:read")
@blp.response(200, ConnectorList)
def list_connectors():
    """The caller's connectors with their health at a glance"""
    principal = current_principal()
    rows = [c for c in db.session.execute(sa.select(Connector).order_by(Connector.id))
            .scalars() if in_scope(principal, c.agency_code)]
    held = _held_counts([c.id for c in rows])
    items = []
    for conn in rows:
        conn.held = held.get(conn.id, 0)
        items.append(conn)
    return {"items": items, "next_cursor": None}


@blp.route("/connectors/<string:connector_id>/runs")
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, RunList)
def runs(args, connector_id):
    """Sync runs, newest first, with counts, errors and the failed records"""
    _connector(connector_id)
    rows, next_cursor = _id_page(sa.select(SyncRun).where(SyncRun.connector_id ==
                                                          connector_id),
                                 SyncRun.id, args, newest_first=True)
    errors: dict = {}
    for err in db.session.execute(sa.select(SyncRecordError).where(
            SyncRecordError.run_id.in_([r.id for r in rows])).limit(1000)).scalars():
        errors.setdefault(err.run_id, []).append(
            {"stream": err.stream, "external_id": err.external_id, "reason": err.reason})
    for run in rows:
        run.record_errors = errors.get(run.id, [])
    return {"items": rows, "next_cursor": next_cursor}


@blp.route("/connectors/<string:connector_id>/held")
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, HeldList)
def held(args, connector_id):
    """Records held back: unmapped values, responses waiting for their report, errors"""
    _connector(connector_id)
    rows, next_cursor = _id_page(sa.select(HeldRecord).where(
        HeldRecord.connector_id == connector_id), HeldRecord.id, args)
    return {"items": rows, "next_cursor": next_cursor}


@blp.route("/connectors/<string:connector_id>/mappings", methods=["GET"])
# An OpenAPI response object must have a description; without it the whole document
# failed openapi-spec-validator.
@blp.doc(security=BEARER, responses={"200": {
    "description": "The connector's mappings as a YAML file (a download)",
    "content": {"application/yaml": {"schema": {"type": "string"}}}}})
@require("reports:read")
def export_mappings(connector_id):
    """The connector file (configuration and mappings, never secrets) as YAML"""
    _connector(connector_id)
    return files.dump_yaml(files.export_document(db.session, connector_id)), 200, {
        "Content-Type": "application/yaml; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{connector_id}.yaml"'}


class MappingTables(Schema):
    mappings = fields.Dict(required=True, metadata={
        "description": "{field: {local value: hub value}}; each named table is replaced"})


@blp.route("/connectors/<string:connector_id>/mappings", methods=["PUT"])
@blp.doc(security=BEARER)
@require("mappings:write")
@transactional()
@blp.arguments(MappingTables)
@blp.response(200, ConnectorSchema)
def put_mappings(body, connector_id):
    """Replace mapping tables, then replay the records they were holding"""
    conn = _connector(connector_id, for_update=True)
    tables = body["mappings"]
    if not all(isinstance(t, dict) and all(isinstance(v, str) for v in t.values())
               for t in tables.values()):
        raise Problem(422, "Validation failed", "Each table maps local values to hub codes "
                      "(strings).", slug="validation")
    mapping_rules.check_targets(db.session, current_principal(), tables)
    try:
        files.replace_mappings(db.session, conn.id, tables, current_principal().client_id)
    except files.FileError as exc:
        raise Problem(422, "Validation failed", str(exc), slug="validation") from None
    db.session.commit()
    from hub.sync.runner import replay_held
    replay_held(conn, {})
    conn = db.session.get(Connector, connector_id)
    conn.held = _held_counts([conn.id]).get(conn.id, 0)
    return conn


@blp.route("/connectors/<string:connector_id>/sync", methods=["POST"])
@blp.doc(security=BEARER)
@require("mappings:write")
@blp.response(202, ConnectorSchema)
def sync_now(connector_id):
    """Run a sync now (queued; without Redis it runs before this answers)"""
    conn = _connector(connector_id)
    from hub.tasks.jobs import sync_connector
    from hub.tasks.queue import enqueue
    enqueue(sync_connector, conn.id, "manual", queue="sync")
    db.session.expire_all()
    return _connector(connector_id)


@blp.route("/connectors/<string:connector_id>/<any(pause, resume):action>",
           methods=["POST"])
@blp.doc(security=BEARER)
@require("mappings:write")
@transactional()
@blp.response(200, ConnectorSchema)
def pause_resume(connector_id, action):
    """Pause or resume scheduled syncs; resuming closes an open circuit"""
    conn = _connector(connector_id, for_update=True)
    if action == "pause":
        conn.paused = True
        conn.paused_reason = (request.get_json(silent=True) or {}).get("reason") or \
            f"paused by {current_principal().client_id}"
    else:
        conn.paused, conn.paused_reason, conn.failure_streak = False, None, 0
        conn.next_run_at = None
    return conn
