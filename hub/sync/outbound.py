"""Hub changes out to the local system, in event order, each exactly once in effect.

The connector's `outbound_seq` is its position in the hub's event log (report_events).
Each event becomes at most one push, recorded in outbound_pushes. A push is marked
`in_flight` and committed *before* the local call; if the worker dies after the local
system accepted it, the retry first asks the local system whether it already has the
record (find_report) instead of writing it again. A failed push stops the queue, so the
pushes of one report are never reordered.
"""
import logging

import sqlalchemy as sa

from connectors.base import ConnectorError
from hub.extensions import db
from hub.models import (
    OutboundPush,
    Report,
    ReportAgency,
    ReportEvent,
    ReportExternalRef,
    Response,
    ResponseExternalRef,
    utcnow,
)
from hub.services.access import scope
from hub.sync.inbound import connector_principal
from hub.sync.lease import renew_lease
from hub.sync.mapping import MappingSet

log = logging.getLogger(__name__)
BATCH = 200


def push(conn, connector, counts, owner) -> None:
    principal = connector_principal(conn)
    agencies = scope(principal)
    mappings = MappingSet.load(db.session, conn.id)
    while True:
        conn = db.session.merge(conn)
        # Seqs become visible in commit order, so everything up to the newest seq seen now
        # is final: the position may jump there past events that are not ours to push.
        horizon = db.session.execute(sa.select(sa.func.max(ReportEvent.seq))).scalar() or 0
        events = db.session.execute(
            sa.select(ReportEvent).where(
                ReportEvent.seq > conn.outbound_seq, ReportEvent.seq <= horizon,
                # Never echo a change back to the system it came from.
                sa.or_(ReportEvent.source_system.is_(None),
                       ReportEvent.source_system != conn.system),
                sa.exists().where(ReportAgency.report_id == ReportEvent.report_id,
                                  ReportAgency.agency_code.in_(agencies)))
            .order_by(ReportEvent.seq).limit(BATCH)).scalars().all()
        for event in events:
            _push_one(conn, connector, mappings, event, agencies, counts)
            conn = db.session.merge(conn)
            conn.outbound_seq = event.seq
            db.session.commit()
        if len(events) < BATCH:
            conn = db.session.merge(conn)
            conn.outbound_seq = max(conn.outbound_seq, horizon)
            renew_lease(conn.id, owner)
            db.session.commit()
            return
        renew_lease(conn.id, owner)


def _link(model, system, external_id):
    return db.session.execute(sa.select(model).where(
        model.system == system, model.external_id == external_id)).scalar_one_or_none()


def _local_report_id(report_id, system):
    return db.session.execute(sa.select(ReportExternalRef.external_id).where(
        ReportExternalRef.report_id == report_id,
        ReportExternalRef.system == system)).scalar_one_or_none()


def _push_one(conn, connector, mappings, event, agencies, counts) -> None:
    if event.source_system == conn.system:
        return  # it came from this local system: never echo it back
    report = db.session.get(Report, event.report_id)
    if report is None or report.agency_code not in agencies:
        return  # forwarded away: the local system no longer handles it
    local_id = _local_report_id(report.id, conn.system)
    if event.type in ("report.created", "report.dispositioned"):
        if local_id is None:
            _do(conn, event, report, "create_report", counts,
                lambda: _create(conn, connector, mappings, report))
    elif event.type == "response.created" and local_id is not None:
        import uuid
        response = db.session.get(Response, uuid.UUID(event.data["response_id"])) \
            if event.data else None
        if response is not None and not any(r.system == conn.system
                                            for r in response.external_refs):
            _do(conn, event, report, "write_response", counts,
                lambda: _respond(conn, connector, local_id, response))
    elif event.type == "report.status_changed" and local_id is not None:
        if event.data["to"] != report.status:
            # Superseded: a later event carries the newer status (and a report created in
            # the local system late was created with its current status already).
            return
        local_status = mappings.outbound_status(event.data["to"])
        if local_status is None:
            # Not every hub status has a local word (e.g. `verified`); skipping is right.
            return
        _do(conn, event, report, "write_status", counts,
            lambda: connector.write_status(local_id, local_status, event.data.get("note")))


def _do(conn, event, report, action, counts, call) -> None:
    push_row = db.session.get(OutboundPush, (conn.id, event.seq))
    if push_row is not None and push_row.status == "done":
        return
    if push_row is None:
        push_row = OutboundPush(connector_id=conn.id, event_seq=event.seq,
                                report_id=report.id, action=action, attempts=0)
        db.session.add(push_row)
    push_row.status, push_row.attempts = "in_flight", push_row.attempts + 1
    push_row.updated_at = utcnow()
    db.session.commit()  # remember the attempt before the local system sees it
    try:
        result = call()
    except ConnectorError as exc:
        push_row = db.session.merge(push_row)
        push_row.status, push_row.last_error = "failed", str(exc)
        counts["push_failed"] = counts.get("push_failed", 0) + 1
        db.session.commit()
        raise
    push_row = db.session.merge(push_row)
    push_row.status, push_row.external_id, push_row.last_error = "done", result, None
    counts["pushed"] = counts.get("pushed", 0) + 1


def _create(conn, connector, mappings, report) -> str:
    hub_id = str(report.id)
    local_id = connector.find_report(hub_id)  # written before a crash? then just link it
    if local_id is None:
        local_id = connector.write_report(_report_values(conn, mappings, report))
    if _link(ReportExternalRef, conn.system, local_id) is None:
        db.session.add(ReportExternalRef(report_id=report.id, system=conn.system,
                                         external_id=local_id))
    return local_id


def _respond(conn, connector, local_report_id, response) -> str:
    local_id = connector.find_response(str(response.id))  # written before a crash?
    if local_id is None:
        local_id = connector.write_response(local_report_id, {
            "hub_id": str(response.id), "body": response.body,
            "author_name": response.author_name or response.agency_code,
            "public": response.visibility == "public"})
    if local_id and _link(ResponseExternalRef, conn.system, local_id) is None:
        db.session.add(ResponseExternalRef(response_id=response.id, system=conn.system,
                                           external_id=local_id))
    return local_id


def _report_values(conn, mappings, report) -> dict:
    """The values a write template may use. The local system belongs to the responsible
    agency, so it gets the contact data; an anonymous reporter's identity never leaves."""
    anonymous = report.anonymous
    return {
        "hub_id": str(report.id), "tracking_id": report.tracking_id,
        "title": report.title, "body": report.body,
        "category": mappings.outbound("category", report.category_code),
        "status": mappings.outbound_status(report.status),
        "unit": mappings.outbound("unit", report.agency_code),
        "channel": mappings.outbound("channel", report.channel) or "lapor",
        "reporter_name": None if anonymous else report.reporter_name,
        "reporter_phone": None if anonymous else report.reporter_phone,
        "reporter_email": None if anonymous else report.reporter_email,
        "anonymous": anonymous, "confidential": report.confidential,
        "address": report.location_text, "lat": report.lat, "lon": report.lon,
        "submitted_at": report.submitted_at.isoformat(),
    }


def skip_all(conn) -> None:
    """Move a read-only connector's outbound position to the end: it cannot take pushes,
    and a queue it can never drain must not fail (and pause) every run."""
    conn = db.session.merge(conn)
    horizon = db.session.execute(sa.select(sa.func.max(ReportEvent.seq))).scalar() or 0
    conn.outbound_seq = max(conn.outbound_seq, horizon)
    db.session.commit()
