"""Per-agency SLA settings and agency holidays.

Reading is open to any client with `reports:read` (limits and holidays are not private);
changing needs the `admin` scope, and an agency's admin client changes only its own agency
and the units below it. A change recomputes the deadlines of the open reports it governs
(a job: RQ with Redis, in-process without). National holidays come from the CLI
(`hub holidays load`), not from here.
"""
import logging
from datetime import date

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.api.common import BEARER, actor, check_if_match, with_etag
from hub.auth import current_principal, require
from hub.errors import Problem
from hub.extensions import db
from hub.models import SLA_FIELDS, TIERS, Agency, AgencySlaSettings, Category, ReportSlaTier, utcnow
from hub.schemas.fields import Choice, Text, Timestamp
from hub.services import access, calendar, events, sla
from hub.services.idempotency import transactional
from hub.services.sla import DEFAULT_DAYS

log = logging.getLogger(__name__)
blp = Blueprint("sla", __name__, description="SLA clocks: per-agency limits and holidays")

_LIMITS_DOC = {
    "verify_and_disposition": "verify and disposition a new report (national default 3)",
    "first_response": "first public response after disposition (5)",
    "resolve": "resolve a report of the standard tier, tidak berkadar pengawasan (14)",
    "resolve_information_request": "resolve an information request (5)",
    "resolve_light": "resolve a report of the light tier, ringan (2)",
    "resolve_normative": "resolve a report of the normative tier, normatif (5)",
    "resolve_supervision": "resolve a supervision case, berkadar pengawasan (60)",
    "auto_close": "close a resolved report nobody disputed (10)",
}


def _limit(name: str):
    return fields.Integer(allow_none=True, validate=validate.Range(1, 365), metadata={
        "description": f"working days to {_LIMITS_DOC[name]}; null: inherited"})


class SlaSettingsInSchema(Schema):
    """The agency's overrides; a limit left out or null is inherited (from the agency
    above, else the national default). PUT replaces all of the agency's overrides."""
    verify_and_disposition = _limit("verify_and_disposition")
    first_response = _limit("first_response")
    resolve = _limit("resolve")
    resolve_information_request = _limit("resolve_information_request")
    resolve_light = _limit("resolve_light")
    resolve_normative = _limit("resolve_normative")
    resolve_supervision = _limit("resolve_supervision")
    auto_close = _limit("auto_close")
    tier_rules = fields.Dict(
        keys=Text(validate=validate.Length(1, 100)), values=Choice(tuple(TIERS)),
        allow_none=True, metadata={"description": (
            "category code -> tier (light | normative | standard | supervision); a rule "
            "covers the category's subcategories and replaces a parent agency's rule for "
            "the same category. Reports of other categories are standard; information "
            "requests always use resolve_information_request.")})


class SlaSettingsOutSchema(Schema):
    agency = fields.String()
    effective = fields.Dict(metadata={"description": "the limits in force (working days) "
                                                     "and tier_rules, after inheritance"})
    overrides = fields.Dict(metadata={"description": "what this agency itself set; null "
                                                     "means inherited"})
    sources = fields.Dict(metadata={"description": "limit -> the agency it comes from, or "
                                                   "'national' for the default"})
    defaults = fields.Dict(metadata={"description": "the national defaults"})
    updated_at = Timestamp(allow_none=True)
    updated_by = fields.String(allow_none=True)


class HolidayQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(1900, 2999))


class HolidayInSchema(Schema):
    date = fields.Date(required=True, metadata={"description": "YYYY-MM-DD (a Jakarta "
                                                              "calendar day)"})
    name = Text(required=True, validate=validate.Length(1, 200))
    kind = Text(load_default=calendar.AGENCY_KIND, validate=validate.Length(1, 20))

    @validates_schema
    def _name_not_blank(self, data, **kwargs):
        if "name" in data and not data["name"].strip():
            raise ValidationError("must not be blank", "name")


class HolidayOutSchema(Schema):
    date = fields.Date()
    name = fields.String()
    kind = fields.String()
    agency = fields.String(allow_none=True, attribute="agency_code", metadata={
        "description": "null for a national holiday; else the agency that set it (this "
                       "agency or one above it)"})


class HolidayListSchema(Schema):
    items = fields.List(fields.Nested(HolidayOutSchema))
    next_cursor = fields.String(allow_none=True)


# --- helpers ----------------------------------------------------------------------------

def _agency(code: str) -> Agency:
    agency = db.session.get(Agency, code)
    if agency is None:
        raise Problem(404, "Not found", f"No agency '{code}'; the valid codes are listed at "
                                        "GET /api/v1/agencies.", slug="not-found")
    return agency


def _may_manage(code: str) -> None:
    principal = current_principal()
    if not access.in_scope(principal, code):
        raise Problem(403, "Not your agency",
                      f"Your client manages '{principal.agency}' and the units below it, "
                      f"not '{code}'.", slug="not-your-agency")


def _settings_body(code: str) -> dict:
    effective = sla.settings_for(db.session, code)
    own = db.session.get(AgencySlaSettings, code)
    return {
        "agency": code,
        "effective": {**effective.days, "tier_rules": effective.tier_rules},
        "overrides": {**{f: getattr(own, f) if own else None for f in SLA_FIELDS},
                      "tier_rules": own.tier_rules if own else None},
        "sources": effective.sources,
        "defaults": dict(DEFAULT_DAYS),
        "updated_at": own.updated_at if own else None,
        "updated_by": own.updated_by if own else None,
    }


def _recompute_after_commit(code: str | None) -> None:
    """The change is committed; recomputing deadlines is a job. Run in-process (no
    Redis) and failing, it must not turn the committed change into a 500: it is logged,
    and `hub sla recompute --agency CODE` repairs it."""
    from hub.tasks.queue import enqueue
    from hub.tasks.sla import recompute_job
    try:
        enqueue(recompute_job, code)
    except Exception:
        db.session.rollback()
        log.exception("recomputing deadlines for %s failed; run `hub sla recompute "
                      "--agency %s`", code, code)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(404, "Not found", f"'{value}' is not a date (YYYY-MM-DD).",
                      slug="not-found") from None


# --- settings ---------------------------------------------------------------------------

@blp.route("/agencies/<string:code>/sla", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.response(200, SlaSettingsOutSchema)
def get_settings(code):
    """The SLA limits in force for an agency, with what it overrides and where each
    inherited limit comes from"""
    _agency(code)
    return _settings_body(code)


@blp.route("/agencies/<string:code>/sla", methods=["PUT"])
@blp.doc(security=BEARER)
@require("admin")
@blp.arguments(SlaSettingsInSchema)
@blp.response(200, SlaSettingsOutSchema)
def put_settings(data, code):
    """Set an agency's SLA overrides (admin); a limit left out or null is inherited

    The deadlines of the open reports of the agency and its units are recomputed."""
    _agency(code)
    _may_manage(code)
    rules = data.get("tier_rules") or None
    if rules:
        known = set(db.session.execute(
            sa.select(Category.code).where(Category.code.in_(list(rules)))).scalars())
        unknown = sorted(set(rules) - known)
        if unknown:
            raise Problem(422, "Validation failed", "Unknown categories in tier_rules.",
                          slug="validation", errors={f"tier_rules.{c}": "unknown category; "
                                                     "see GET /api/v1/categories"
                                                     for c in unknown})
    own = db.session.get(AgencySlaSettings, code, with_for_update=True)
    if own is None:
        own = AgencySlaSettings(agency_code=code)
        db.session.add(own)
    for name in SLA_FIELDS:
        setattr(own, name, data.get(name))
    own.tier_rules = rules
    own.updated_at, own.updated_by = utcnow(), current_principal().client_id
    db.session.commit()
    _recompute_after_commit(code)
    return _settings_body(code)


# --- holidays ---------------------------------------------------------------------------

@blp.route("/agencies/<string:code>/holidays", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(HolidayQuerySchema, location="query")
@blp.response(200, HolidayListSchema)
def list_holidays(args, code):
    """The non-working days of an agency: national ones, its own and those of the
    agencies above it; all in one page, optionally for one `year`"""
    _agency(code)
    rows = calendar.agency_holidays(db.session, sla.lineage(db.session, code),
                                    args.get("year"))
    return {"items": rows, "next_cursor": None}


@blp.route("/agencies/<string:code>/holidays", methods=["POST"])
@blp.doc(security=BEARER)
@require("admin")
@blp.arguments(HolidayInSchema)
@blp.response(201, HolidayOutSchema)
def add_holiday(data, code):
    """Add a holiday of this agency (admin); its units inherit it. The same date twice
    is 409. Deadlines of open reports are recomputed."""
    _agency(code)
    _may_manage(code)
    holiday = calendar.add_agency_holiday(db.session, code, data["date"],
                                          data["name"].strip(), data["kind"])
    day = holiday.date
    db.session.commit()
    _recompute_after_commit(code)
    return holiday, 201, {"Location": f"/api/v1/agencies/{code}/holidays/{day}"}


@blp.route("/agencies/<string:code>/holidays/<string:day>", methods=["DELETE"])
@blp.doc(security=BEARER)
@require("admin")
@blp.response(204)
def delete_holiday(code, day):
    """Remove one of this agency's holidays (admin); national holidays are managed with
    `hub holidays load`. Deadlines of open reports are recomputed."""
    _agency(code)
    _may_manage(code)
    if not calendar.remove_agency_holiday(db.session, code, _day(day)):
        raise Problem(404, "Not found", f"'{code}' has no holiday of its own on {day}.",
                      slug="not-found")
    db.session.commit()
    _recompute_after_commit(code)
    return "", 204


# --- one report's clock -----------------------------------------------------------------

class ReportTierInSchema(Schema):
    tier = Choice(tuple(TIERS), required=True, allow_none=True, metadata={
        "description": "light (ringan) | normative (normatif) | standard (tidak berkadar "
                       "pengawasan) | supervision (berkadar pengawasan); null: back to the "
                       "category's tier"})


class ReportSlaSchema(Schema):
    report_id = fields.UUID()
    clock = fields.String(allow_none=True, metadata={
        "description": "verify_and_disposition | first_response | resolve | auto_close; "
                       "null when no clock runs"})
    due_at = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    limit = fields.String(allow_none=True, metadata={"description": "the limit in use"})
    working_days = fields.Integer(allow_none=True)
    limit_source = fields.String(allow_none=True, metadata={
        "description": "the agency whose setting applies, or 'national'"})
    tier = fields.String(allow_none=True, metadata={
        "description": "the resolution tier (resolve clock only; null for an information "
                       "request)"})
    tier_source = fields.String(allow_none=True, metadata={
        "description": "report | category | classification | default"})
    report_tier = fields.String(allow_none=True, metadata={
        "description": "the tier set on this report, if any"})


def _report_sla(report) -> dict:
    own = db.session.get(ReportSlaTier, report.id)
    return {"report_id": report.id, **sla.explain(db.session, report),
            "report_tier": own.tier if own else None}


@blp.route("/reports/<string:report_id>/sla", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.response(200, ReportSlaSchema)
def get_report_sla(report_id):
    """Which clock runs for a report and how its due_at was reached"""
    report = access.get_report(db.session, report_id, current_principal())
    return with_etag(_report_sla(report), report)


@blp.route("/reports/<string:report_id>/sla", methods=["PUT"])
@blp.doc(security=BEARER)
@require("reports:write")
@transactional()
@blp.arguments(ReportTierInSchema)
@blp.response(200, ReportSlaSchema)
def put_report_sla(data, report_id):
    """Set the resolution tier of one report (the responsible agency), e.g. a supervision
    case; it wins over the category's tier. due_at is recomputed.

    Sending `If-Match` with the ETag you read protects against lost updates (412)."""
    principal = current_principal()
    report = access.get_report(db.session, report_id, principal, for_update=True)
    check_if_match(report)
    access.require_responsible(principal, report)
    own = db.session.get(ReportSlaTier, report.id)
    before = own.tier if own else None
    if data["tier"] != before:
        if data["tier"] is None:
            db.session.delete(own)
        elif own is None:
            db.session.add(ReportSlaTier(report_id=report.id, tier=data["tier"],
                                         set_by=principal.client_id, set_at=utcnow()))
        else:
            own.tier, own.set_by, own.set_at = data["tier"], principal.client_id, utcnow()
        db.session.flush()
        from hub.services.reports import _bump
        _bump(report)
        events.record(db.session, report, "report.updated", **actor().event_kwargs(),
                      data={"changes": {"sla_tier": {"from": before, "to": data["tier"]}}})
        report.due_at = sla.due_at(db.session, report)
    return with_etag(_report_sla(report), report)
