"""Writing reports: create, upsert from a source system, status, dispositions.

Nothing here commits: the view (or batch) that calls it owns the transaction, so a
failure anywhere leaves no partial write.
"""
import hashlib
import json
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from hub.errors import Problem
from hub.ids import new_id
from hub.models import Agency, Category, Report, ReportAgency, ReportExternalRef, utcnow
from hub.services import events, lifecycle, sla, source_systems, storage
from hub.services.access import require_responsible
from hub.services.tracking import allocate_tracking_ids

# Fields whose values stay out of the timeline: only the fact that they changed is kept.
PERSONAL = {"reporter_name", "reporter_phone", "reporter_email"}


@dataclass
class Actor:
    """Who is writing: the API principal, plus the system the change comes from."""
    principal: object
    source_system: str | None = None

    def event_kwargs(self) -> dict:
        return {"actor": self.principal.client_id, "actor_agency": self.principal.agency,
                "source_system": self.source_system}


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "Validation failed", message, slug="validation",
                   errors={field: message})


def _known_codes(session, model, key: str) -> set:
    cache = session.info.setdefault("master_codes", {})
    if key not in cache:
        cache[key] = set(session.execute(sa.select(model.code)).scalars())
    return cache[key]


def check_category(session, code):
    if code is not None and code not in _known_codes(session, Category, "categories"):
        raise _invalid("category", f"unknown category '{code}'; the valid codes are listed "
                                   "at GET /api/v1/categories")


def check_agency(session, code, field="agency"):
    if code not in _known_codes(session, Agency, "agencies"):
        raise _invalid(field, f"unknown agency '{code}'; the valid codes are listed at "
                              "GET /api/v1/agencies")


def resolve_agency(session, requested, principal):
    if principal.is_national:
        if requested is not None:
            check_agency(session, requested)
        return requested
    if requested is None:
        return principal.agency
    from hub.services.access import in_scope
    if not in_scope(principal, requested):
        raise _invalid("agency", f"agency clients create reports for their own agency "
                                 f"('{principal.agency}') or a unit below it, and "
                                 "disposition them onwards")
    return requested


def _columns(data: dict) -> dict:
    loc = data.get("location") or {}
    privacy = data.get("privacy") or {}
    reporter = data.get("reporter") or {}
    return {
        "title": data["title"], "body": data["body"], "category_code": data["category"],
        "classification": data.get("classification", "complaint"), "channel": data["channel"],
        "location_text": loc.get("text"), "region_code": loc.get("region_code"),
        "lat": loc.get("lat"), "lon": loc.get("lon"), "occurred_at": data.get("occurred_at"),
        "anonymous": bool(privacy.get("anonymous")),
        "confidential": bool(privacy.get("confidential")),
        "reporter_name": reporter.get("name"), "reporter_phone": reporter.get("phone"),
        "reporter_email": reporter.get("email"),
    }


class Draft:
    """A row not yet in the session: plain attributes, none of the ORM's bookkeeping,
    which costs more than the rules themselves when thousands are built at once. The
    columns are the instance's own dict (no copy when built, none when written)."""

    __slots__ = ("_model", "__dict__")

    def __init__(self, model, **columns):
        self.__dict__ = columns
        self._model = model

    def columns(self) -> dict:
        return self.__dict__

    def to_orm(self):
        return self._model(**self.__dict__)


def build_report(session, data: dict, actor: Actor, *, external_ref=None, status=None,
                 source_updated_at=None, payload_hash=None) -> tuple[Draft, list]:
    """A new report (a Draft) with its companion rows and events, not in the session yet.

    create_report adds them through the ORM; the batch ingest path inserts many at once
    with executemany. Both share every rule here.
    """
    principal = actor.principal
    check_category(session, data["category"])
    agency = resolve_agency(session, data.get("agency"), principal)
    now = utcnow()
    report = Draft(Report, id=new_id(), tracking_id=allocate_tracking_ids(session, 1)[0],
                   submitted_at=data.get("submitted_at") or now, agency_code=agency,
                   status="received", version=1, source_system=actor.source_system,
                   created_by=principal.client_id, created_at=now, updated_at=now,
                   dispositioned_at=None, first_response_at=None, resolved_at=None,
                   due_at=None, **_columns(data))
    companions = []
    if agency is not None:
        companions.append(Draft(ReportAgency, report_id=report.id, agency_code=agency,
                                since=now))
    if external_ref is not None:
        companions.append(Draft(ReportExternalRef, report_id=report.id,
                                system=external_ref[0], external_id=external_ref[1],
                                source_updated_at=source_updated_at,
                                payload_hash=payload_hash))
    if status and status != "received":
        arrive_in(report, status)
    # One event: the report came into the hub in the status its source gave. The steps
    # before that happened in the source, unseen by the hub; events for them all stamped
    # now would be an audit trail of things that did not happen here (and were half the
    # rows of a backfill).
    events.record(session, report, "report.created", **actor.event_kwargs(),
                  data={"status": report.status, "agency": agency})
    report.due_at = sla.due_at(session, report)
    return report, companions


def arrive_in(report, status: str) -> None:
    """A new report that its source already moved along the life-cycle: the milestones
    of every step on the way are set, as a walk would set them, without the events."""
    steps = lifecycle.path(report.status, status)
    if steps is None:
        raise illegal_transition(report.status, status)
    for step in steps:
        _reach(report, step, report.created_at)


def create_report(session, data: dict, actor: Actor, **kwargs) -> Report:
    draft, companions = build_report(session, data, actor, **kwargs)
    report = draft.to_orm()
    session.add(report)
    session.add_all(c.to_orm() for c in companions)
    return report


def _bump(report, now=None):
    report.version += 1
    report.updated_at = now or utcnow()


def apply_status(session, report, target: str, actor: Actor, note=None, *,
                 deadline=True) -> None:
    """One legal step of the life-cycle, with its milestone and event. deadline=False
    leaves due_at to the caller (a walk of several steps sets it once, at the end)."""
    now = utcnow()
    before = report.status
    _reach(report, target, now)
    _bump(report, now)
    events.record(session, report, "report.status_changed", **actor.event_kwargs(),
                  data={"from": before, "to": target, "note": note})
    if deadline:
        report.due_at = sla.due_at(session, report)


def _reach(report, target: str, at) -> None:
    """The report enters `target` at `at`: its status and the milestone that step sets."""
    if target == "dispositioned":
        if report.agency_code is None:
            raise Problem(409, "No agency to disposition to",
                          "Use POST /api/v1/reports/{id}/dispositions with to_agency.",
                          slug="disposition-needs-agency")
        report.dispositioned_at = at
    elif target == "resolved":
        report.resolved_at = at
    elif target == "in_progress" and report.status == "resolved":
        report.resolved_at = None  # reopened: the resolution clock runs again
    report.status = target


def illegal_transition(current: str, target: str) -> Problem:
    allowed = list(lifecycle.allowed(current))
    detail = (f"A report in status '{current}' cannot move to '{target}'. "
              + (f"Allowed next: {', '.join(allowed)}." if allowed
                 else f"'{current}' is final."))
    return Problem(409, "Illegal status transition", detail, slug="illegal-transition",
                   current_status=current, allowed=allowed)


def change_status(session, report, target: str, actor: Actor, note=None) -> None:
    require_responsible(actor.principal, report)
    if target not in lifecycle.allowed(report.status):
        raise illegal_transition(report.status, target)
    apply_status(session, report, target, actor, note)


def walk_to(session, report, target: str, actor: Actor) -> None:
    steps = lifecycle.path(report.status, target)
    if steps is None:
        raise illegal_transition(report.status, target)
    # due_at depends only on where the walk ends: computed once, not per step (a backfill
    # walks most records two or three steps).
    for step in steps:
        apply_status(session, report, step, actor, deadline=False)
    if steps:
        report.due_at = sla.due_at(session, report)


def disposition(session, report, to_agency: str, actor: Actor, note=None) -> None:
    require_responsible(actor.principal, report)
    check_agency(session, to_agency, field="to_agency")
    if report.status not in lifecycle.DISPOSITION_FROM:
        raise Problem(409, "Cannot disposition now",
                      f"A report in status '{report.status}' cannot be dispositioned; "
                      f"dispositions are allowed from: {', '.join(lifecycle.DISPOSITION_FROM)}.",
                      slug="illegal-transition", current_status=report.status,
                      allowed=list(lifecycle.allowed(report.status)))
    if to_agency == report.agency_code and report.status != "verified":
        raise Problem(409, "Already responsible",
                      f"'{to_agency}' is already the responsible agency.", slug="no-op")
    now = utcnow()
    before_agency, before_status = report.agency_code, report.status
    report.agency_code, report.status = to_agency, "dispositioned"
    # The new agency's clocks start now (first response within 5 working days).
    report.dispositioned_at, report.first_response_at = now, None
    if session.get(ReportAgency, (report.id, to_agency)) is None:
        session.add(ReportAgency(report_id=report.id, agency_code=to_agency, since=now))
    _bump(report, now)
    events.record(session, report, "report.dispositioned", **actor.event_kwargs(),
                  data={"from_agency": before_agency, "to_agency": to_agency,
                        "from_status": before_status, "note": note})
    report.due_at = sla.due_at(session, report)


# --- upsert from a source system -------------------------------------------------------

def payload_fingerprint(payload: dict) -> str:
    """The hash that tells a replayed payload from a changed one: keys sorted, compact.
    orjson does it several times faster than json.dumps (it was a twentieth of a
    backfill); what it cannot write (an integer beyond 64 bits, a key that is not a
    string) takes json.dumps."""
    try:
        canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False, default=str).encode()
    return hashlib.sha256(canonical).hexdigest()


def lock_source_system(session, system: str) -> None:
    """Serialise writers of one source system so two pushes of the same new external id
    cannot both create it. SQLite already serialises writers."""
    locked = session.info.setdefault("locked_systems", set())
    if system in locked:
        return
    storage.transaction_lock(session, f"source:{system}")
    locked.add(system)


def locked(session, report_id):
    """The report, locked for the rest of the transaction, without its refs and
    attachments: an update never needs them, and their two eager loads were half of an
    update's cost (a view that shows the report loads them when it does)."""
    return session.get(Report, report_id, with_for_update=True,
                       options=[lazyload("*")])


def locked_many(session, report_ids) -> dict:
    """{id: report} locked for the rest of the transaction, in id order (two writers
    locking overlapping sets then wait for each other instead of deadlocking), without
    their refs and attachments, as locked() loads one."""
    stmt = (sa.select(Report).where(Report.id.in_(sorted(report_ids)))
            .order_by(Report.id).options(lazyload("*")).with_for_update())
    return {r.id: r for r in session.execute(stmt).scalars()}


def find_by_ref(session, system: str, external_id: str):
    system = source_systems.normalise(system)
    return session.execute(
        sa.select(ReportExternalRef).where(ReportExternalRef.system == system,
                                           ReportExternalRef.external_id == external_id)
    ).scalar_one_or_none()


def update_fields(session, report, data: dict, actor: Actor) -> bool:
    check_category(session, data["category"])
    if "agency" in data and data["agency"] not in (None, report.agency_code):
        raise _invalid("agency", "the responsible agency changes only through "
                                 "POST /api/v1/reports/{id}/dispositions")
    new = _columns(data)
    if data.get("submitted_at"):
        new["submitted_at"] = data["submitted_at"]
    changes = {}
    for column, value in new.items():
        old = getattr(report, column)
        if old != value:
            changes[column] = (None if column in PERSONAL
                               else {"from": _plain(old), "to": _plain(value)})
            setattr(report, column, value)
    if not changes:
        return False
    _bump(report)
    events.record(session, report, "report.updated", **actor.event_kwargs(),
                  data={"changes": changes})
    # submitted_at, classification and category move the deadline of the running clock.
    report.due_at = sla.due_at(session, report)
    return True


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
