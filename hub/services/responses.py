"""Posting responses (tindak lanjut), idempotent on the source system's own id."""

import sqlalchemy as sa

from hub.errors import Problem
from hub.ids import new_id
from hub.models import Response, ResponseExternalRef, utcnow
from hub.services import events, sla
from hub.services.access import require_responsible
from hub.services.reports import Actor, _bump


def find_by_ref(session, system, external_id):
    return session.execute(
        sa.select(Response).join(ResponseExternalRef)
        .where(ResponseExternalRef.system == system,
               ResponseExternalRef.external_id == external_id)).scalar_one_or_none()


def add_response(session, report, data: dict, actor: Actor, *, known_new: bool = False,
                 flush: bool = True) -> tuple[Response, bool]:
    """Returns (response, created). A response whose external_ref is already known is
    returned as it is, so connectors and retries never post it twice. `known_new`: the
    caller has looked its external_ref up already (a page of them at once) and found
    none; `flush=False` leaves the flush to the caller, who adds many."""
    principal = actor.principal
    ref = data.get("external_ref")
    if ref and not known_new:
        existing = find_by_ref(session, ref["system"], ref["external_id"])
        if existing is not None:
            if existing.report_id != report.id:
                raise Problem(409, "External id already used",
                              f"Response '{ref['external_id']}' of system '{ref['system']}' "
                              "belongs to another report.", slug="external-ref-conflict")
            return existing, False
    require_responsible(principal, report)
    agency = report.agency_code  # the responsible agency (or unit) answers
    if agency is None:
        raise Problem(409, "No responsible agency",
                      "Disposition the report to an agency before responding.",
                      slug="no-agency")
    now = utcnow()
    source = ref["system"] if ref else (actor.source_system or "hub")
    response = Response(id=new_id(), report_id=report.id, agency_code=agency,
                        author_name=data.get("author_name"), body=data["body"],
                        visibility=data.get("visibility", "public"), source=source,
                        created_at=data.get("created_at") or now,
                        created_by=principal.client_id)
    session.add(response)
    if ref:
        session.add(ResponseExternalRef(response_id=response.id, system=ref["system"],
                                        external_id=ref["external_id"]))
    _bump(report, now)
    events.record(session, report, "response.created", **actor.event_kwargs(),
                  data={"response_id": str(response.id), "visibility": response.visibility})
    if response.visibility == "public":
        if report.first_response_at is None:
            report.first_response_at = response.created_at
        if report.status == "dispositioned":
            # A follow-up means the agency is working on it (LAPOR!'s "Sedang Diproses").
            from hub.services.reports import apply_status
            apply_status(session, report, "in_progress", actor,
                         note="first response posted")
    report.due_at = sla.due_at(session, report)
    if flush:
        session.flush()
    return response, True


def known_refs(session, system: str, external_ids) -> set:
    """Which of these external ids of `system` the hub holds a response for."""
    from hub.services.ingest import among
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return set()
    return set(session.execute(sa.select(ResponseExternalRef.external_id).where(
        ResponseExternalRef.system == system,
        among(session, ResponseExternalRef.external_id, ids))).scalars())
