"""The public Open311 GeoReport v2 endpoint at /open311/v2, with mySociety's
servicerequestupdates. Services are hub categories, requests are hub reports (their
service_request_id is the public tracking id), updates are public responses.

GETs are public and need no key: confidential reports and internal responses never
appear, and no personal data is ever written (see hub.open311.representation). POSTs
carry an `api_key` that maps onto an API client (`hub open311-key <client_id>`), and
create through hub.services, so every rule, event and SLA clock applies.
"""
import logging
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, request
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from hub.auth import Principal
from hub.errors import Problem, flatten_errors
from hub.extensions import db
from hub.models import Agency, ApiClient, Category, Report, ReportEvent, Response, utcnow
from hub.models.open311 import Open311Key, Open311Token, hash_open311_key
from hub.open311 import representation as rep
from hub.open311.formats import FORMATS, Open311Error, parse_w3c, render, render_error
from hub.services import lifecycle
from hub.services import reports as report_service
from hub.services import responses as response_service
from hub.services.access import get_report
from hub.services.reports import Actor

log = logging.getLogger(__name__)
bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
SYSTEM = "open311-facade"  # source system of what arrives through this facade
MAX_PAGE_SIZE = 1000
MAX_PAGE = 10 ** 9
DEFAULT_WINDOW = timedelta(days=90)  # GeoReport v2: "a span of 90 days" by default
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-23T00:00:00Z"  # when this endpoint's shape last changed

OPEN_UPDATE_STATUSES = ("open", "investigating", "action_scheduled", "in_progress")
UPDATE_NOTE = "Open311 update "  # + response id: the note of a status change an update made
CLOSED_UPDATE_STATUSES = ("closed", "fixed", "no_further_action", "duplicate",
                          "not_councils_responsibility", "internal_referral")


# --- errors: always a GeoReport v2 error array, in the format that was asked for -------

def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.endswith(".xml") else "json"


@bp.errorhandler(Open311Error)
def _open311_error(error):
    db.session.rollback()
    return render_error(error, _fmt())


@bp.errorhandler(Problem)
def _problem(problem):
    # A rule of the hub's services (unknown category, illegal status move, ...).
    db.session.rollback()
    descriptions = [problem.detail or problem.title]
    if problem.errors:
        descriptions = [f"{k}: {v}" for k, v in flatten_errors(problem.errors).items()]
    status = 400 if problem.status == 422 else problem.status
    return render_error(Open311Error(status, *descriptions), _fmt())


@bp.errorhandler(HTTPException)
def _http_error(error):
    db.session.rollback()
    resp = render_error(Open311Error(error.code or 500, error.description or error.name),
                        _fmt())
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        resp.headers["Allow"] = ", ".join(error.valid_methods)
    return resp


@bp.errorhandler(Exception)
def _unexpected(error):
    from sqlalchemy.exc import InterfaceError, OperationalError
    db.session.rollback()
    if isinstance(error, (OperationalError, InterfaceError)):
        resp = render_error(Open311Error(503, "The hub's database is not reachable right "
                                              "now; nothing was saved. Retry later."), _fmt())
        resp.headers["Retry-After"] = "5"
        return resp
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(Open311Error(500, "The hub failed unexpectedly; nothing was saved."),
                        _fmt())


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown(rest):
    """Anything else under /open311/v2 answers in Open311's error shape too."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "open311._unknown":
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound(f"No Open311 resource at /open311/v2/{rest}; see discovery.json.")


# --- input helpers ---------------------------------------------------------------------

def _arg(name: str, source=None) -> str | None:
    value = (source if source is not None else request.args).get(name)
    if value is None or not value.strip():
        return None
    if "\x00" in value:
        raise Open311Error(400, f"{name} contains a NUL character")
    return value.strip()


def _paging() -> tuple[int, int]:
    try:
        page = int(_arg("page") or 1)
        size = int(_arg("page_size") or MAX_PAGE_SIZE)
    except ValueError:
        raise Open311Error(400, "page and page_size must be whole numbers") from None
    # The page bound keeps the row offset a number the database takes (a bigint).
    if not 1 <= page <= MAX_PAGE or not 1 <= size <= MAX_PAGE_SIZE:
        raise Open311Error(400, f"page must be 1..{MAX_PAGE} and page_size "
                                f"1..{MAX_PAGE_SIZE}")
    return page, size


def _window():
    start = _arg("start_date")
    end = _arg("end_date")
    start = parse_w3c(start, "start_date") if start else None
    end = parse_w3c(end, "end_date") if end else None
    if start and end and start > end:
        raise Open311Error(400, "start_date is after end_date")
    if start and end and end - start > DEFAULT_WINDOW:
        # GeoReport v2: the span between the two may not exceed 90 days.
        raise Open311Error(400, "start_date and end_date may be at most 90 days apart; "
                                "ask for a shorter range (or several)")
    return start, end


def _principal_from_key() -> Principal:
    """The API client an api_key belongs to; a missing or wrong key is 403."""
    key = _arg("api_key", request.values)
    if key is None:
        raise Open311Error(403, "api_key is required for this call; ask the hub "
                                "administrator for one")
    row = db.session.execute(
        sa.select(ApiClient).join(Open311Key, Open311Key.client_id == ApiClient.id)
        .where(Open311Key.key_hash == hash_open311_key(key))).scalar_one_or_none()
    if row is None or not row.active:
        raise Open311Error(403, "Invalid api_key")
    principal = Principal(row.id, row.agency_code, frozenset(row.scopes.split()))
    if not principal.has("reports:write"):
        raise Open311Error(403, "This api_key's client may not write reports "
                                "(it lacks the reports:write scope)")
    return principal


# --- discovery and services ------------------------------------------------------------

@bp.get(f"/discovery.{FMT}")
def discovery(fmt):
    body = {
        "changeset": CHANGESET,
        "contact": "The SP4N-LAPOR! integration hub administrator",
        "key_service": "api_key values are issued by the hub administrator "
                       "(`hub open311-key <client_id>`) to registered API clients",
        "endpoints": [{"specification": SPEC_URL, "url": request.url_root + "open311/v2",
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["application/json", "text/xml"]}],
    }
    return render(body, fmt, "discovery")


def _categories():
    return db.session.execute(sa.select(Category).order_by(Category.code)).scalars().all()


@bp.get(f"/services.{FMT}")
def services(fmt):
    categories = _categories()
    names = {c.code: c.name for c in categories}
    return render([rep.service(c, names.get(c.parent_code)) for c in categories], fmt,
                  "services")


@bp.get(f"/services/<string:code>.{FMT}")
def service_definition(code, fmt):
    category = db.session.get(Category, code)
    if category is None:
        raise Open311Error(404, f"service_code '{code}' not found")
    return render(rep.service_definition(category), fmt, "service_definition")


# --- service requests ------------------------------------------------------------------

def _public_requests():
    """Reports the public may see (never confidential), with their names for Open311."""
    return (sa.select(Report, Category.name, Agency.name)
            .outerjoin(Category, Category.code == Report.category_code)
            .outerjoin(Agency, Agency.code == Report.agency_code)
            .where(Report.confidential.is_(False))
            .options(lazyload(Report.external_refs), lazyload(Report.attachments)))


def _hub_statuses(open311_statuses: str) -> list[str]:
    wanted = {s.strip().lower() for s in open311_statuses.split(",") if s.strip()}
    bad = wanted - {"open", "closed"}
    if bad:
        raise Open311Error(400, f"status must be open or closed, not {', '.join(sorted(bad))}")
    from hub.models import STATUSES
    return [s for s in STATUSES if rep.open311_status(s) in wanted]


@bp.get(f"/requests.{FMT}")
def list_requests(fmt):
    page, size = _paging()
    stmt = _public_requests()
    ids = _arg("service_request_id")
    if ids:
        # The spec: with service_request_id, every other filter is ignored.
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > MAX_PAGE_SIZE:
            raise Open311Error(400, f"at most {MAX_PAGE_SIZE} service_request_id values")
        stmt = stmt.where(Report.tracking_id.in_(wanted))
    else:
        codes = _arg("service_code")
        if codes:
            stmt = stmt.where(Report.category_code.in_(
                [c.strip() for c in codes.split(",") if c.strip()]))
        statuses = _arg("status")
        if statuses:
            stmt = stmt.where(Report.status.in_(_hub_statuses(statuses)))
        start, end = _window()
        if start is None and end is None:
            start = utcnow() - DEFAULT_WINDOW
        if start is not None:
            stmt = stmt.where(Report.submitted_at >= start)
        if end is not None:
            stmt = stmt.where(Report.submitted_at <= end)
    rows = db.session.execute(
        stmt.order_by(Report.submitted_at.desc(), Report.tracking_id.desc())
        .offset((page - 1) * size).limit(size)).all()
    return render([rep.service_request(r, cat, agency) for r, cat, agency in rows], fmt,
                  "service_requests")


@bp.get(f"/requests/<string:sid>.{FMT}")
def one_request(sid, fmt):
    row = db.session.execute(_public_requests().where(Report.tracking_id == sid)).first()
    if row is None:
        # A confidential report is as absent as a missing one.
        raise Open311Error(404, f"service_request_id '{sid}' not found")
    return render([rep.service_request(*row)], fmt, "service_requests")


@bp.get(f"/tokens/<string:token>.{FMT}")
def token_lookup(token, fmt):
    row = db.session.execute(
        sa.select(Report.tracking_id).join(Open311Token, Open311Token.report_id == Report.id)
        .where(Open311Token.token == token, Report.confidential.is_(False))).first()
    if row is None:
        raise Open311Error(404, f"token '{token}' not found")
    return render([{"service_request_id": row.tracking_id, "token": token}], fmt,
                  "service_requests")


def _text(form, name: str, max_len: int, required: bool = False) -> str | None:
    value = _arg(name, form)
    if value is None:
        if required:
            raise Open311Error(400, f"{name} is required")
        return None
    if len(value) > max_len:
        raise Open311Error(400, f"{name} is longer than {max_len} characters")
    return value


def _coordinate(form, name: str, limit: float) -> float | None:
    value = _arg(name, form)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} '{value}' is not a number") from None
    if not -limit <= number <= limit:  # also refuses nan and inf
        raise Open311Error(400, f"{name} must be between -{limit:g} and {limit:g}")
    return number


def _attributes(form) -> dict:
    found = {}
    for key in form:
        if key.startswith("attribute[") and key.endswith("]"):
            code = key[len("attribute["):-1]
            if code not in rep.ATTRIBUTE_CODES:
                raise Open311Error(400, f"attribute[{code}] is not an attribute of this "
                                        f"service; see services/{{service_code}}.json")
            found[code] = _arg(key, form)
    out = {}
    for code, value in found.items():
        if value is None:
            continue
        attribute = rep.ATTRIBUTE_CODES[code]
        if attribute["datatype"] == "datetime":
            out[code] = parse_w3c(value, f"attribute[{code}]")
            continue
        keys = [v["key"] for v in attribute["values"]]
        if value not in keys:
            raise Open311Error(400, f"attribute[{code}] must be one of {', '.join(keys)}")
        out[code] = value
    return out


def _title(description: str) -> str:
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    return first if len(first) <= 200 else first[:199].rstrip() + "…"


@bp.post(f"/requests.{FMT}")
def create_request(fmt):
    principal = _principal_from_key()
    form = request.form
    code = _text(form, "service_code", 100, required=True)
    category = db.session.get(Category, code)
    if category is None:
        raise Open311Error(400, f"service_code '{code}' not found; see services.json")
    # Optional in GeoReport v2: without one the report is titled by its service.
    description = _text(form, "description", 20000)
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long go together: send both or neither")
    address = _text(form, "address_string", 500)
    if lat is None and address is None:
        raise Open311Error(400, "a location is required: lat & long, or address_string "
                                "(this endpoint has no address_id repository)")
    attributes = _attributes(form)
    names = [n for n in (_text(form, "first_name", 100), _text(form, "last_name", 100)) if n]
    data = {
        "title": _title(description) if description else _title(category.name),
        "body": description or "", "category": code,
        "classification": attributes.get("classification", "complaint"),
        "channel": "open311",
        "location": {"text": address, "lat": lat, "lon": lon},
        "occurred_at": attributes.get("occurred_at"),
        "privacy": {"anonymous": attributes.get("anonymous") == "true",
                    "confidential": attributes.get("confidential") == "true"},
        "reporter": {"name": " ".join(names) or None,
                     "phone": _text(form, "phone", 50), "email": _text(form, "email", 254)},
    }
    report = report_service.create_report(db.session, data, Actor(principal, SYSTEM))
    db.session.flush()  # the report row first: the token refers to it
    token = secrets.token_urlsafe(18)
    db.session.add(Open311Token(token=token, report_id=report.id))
    db.session.commit()
    return render([{"service_request_id": report.tracking_id, "token": token,
                    "service_notice": f"Laporan diterima. Nomor pelacakan {report.tracking_id}.",
                    "account_id": None}], fmt, "service_requests", 201)


# --- mySociety's servicerequestupdates -------------------------------------------------

@bp.get(f"/servicerequestupdates.{FMT}")
def list_updates(fmt):
    page, size = _paging()
    start, end = _window()
    stmt = (sa.select(Response, Report.tracking_id, Report.status)
            .join(Report, Report.id == Response.report_id)
            .where(Report.confidential.is_(False), Response.visibility == "public")
            .options(lazyload(Response.external_refs), lazyload(Response.attachments)))
    if start is not None:
        stmt = stmt.where(Response.created_at >= start)
    if end is not None:
        stmt = stmt.where(Response.created_at <= end)
    rows = db.session.execute(stmt.order_by(Response.created_at, Response.id)
                              .offset((page - 1) * size).limit(size)).all()
    after = _status_after({r.Response.report_id for r in rows})
    body = [rep.request_update(r.Response, r.tracking_id, rep.open311_status(
        after.get(str(r.Response.id), r.status))) for r in rows]
    return render(body, fmt, "service_request_updates")


def _status_after(report_ids: set) -> dict:
    """{response id: hub status right after it was posted}, from the reports' timelines.
    A status change made by the same Open311 update names it in its note (see
    create_update), so "FIXED" with a description reads back as one closing update."""
    if not report_ids:
        return {}
    events = db.session.execute(
        sa.select(ReportEvent.report_id, ReportEvent.type, ReportEvent.data)
        .where(ReportEvent.report_id.in_(report_ids),
               ReportEvent.type.in_(("report.created", "report.status_changed",
                                     "report.dispositioned", "response.created")))
        .order_by(ReportEvent.report_id, ReportEvent.seq)).all()
    out, status, current = {}, "received", None
    for ev in events:
        if ev.report_id != current:
            current, status = ev.report_id, "received"
        data = ev.data or {}
        if ev.type == "report.created":
            status = data.get("status") or "received"
        elif ev.type == "report.dispositioned":
            status = "dispositioned"
        elif ev.type == "report.status_changed":
            status = data.get("to") or status
            note = data.get("note") or ""
            if note.startswith(UPDATE_NOTE) and note[len(UPDATE_NOTE):] in out:
                out[note[len(UPDATE_NOTE):]] = status
        elif ev.type == "response.created" and data.get("response_id"):
            out[data["response_id"]] = status
    return out


def _apply_update_status(report, wanted: str, actor: Actor, response_id) -> None:
    """An update's status moves the report only along legal steps of the life-cycle."""
    note = f"{UPDATE_NOTE}{response_id}"
    if wanted in OPEN_UPDATE_STATUSES:
        if report.status == "resolved":
            report_service.change_status(db.session, report, "in_progress", actor, note=note)
        elif report.status in ("closed", "rejected"):
            raise Open311Error(400, f"report {report.tracking_id} is {report.status} "
                                    "(final) and cannot be reopened")
        return
    if rep.open311_status(report.status) == "closed":
        return
    if "resolved" not in lifecycle.allowed(report.status):
        raise Open311Error(400, f"report {report.tracking_id} is {report.status}: it "
                                "must be dispositioned and followed up before it can be "
                                "closed")
    report_service.change_status(db.session, report, "resolved", actor, note=note)


@bp.post(f"/servicerequestupdates.{FMT}")
def create_update(fmt):
    principal = _principal_from_key()
    form = request.form
    sid = _text(form, "service_request_id", 20, required=True)
    status = _text(form, "status", 40, required=True).lower()
    if status not in OPEN_UPDATE_STATUSES + CLOSED_UPDATE_STATUSES:
        raise Open311Error(400, "status must be one of " + ", ".join(
            s.upper() for s in OPEN_UPDATE_STATUSES + CLOSED_UPDATE_STATUSES))
    updated = parse_w3c(_text(form, "updated_datetime", 40, required=True),
                        "updated_datetime")
    description = _text(form, "description", 20000, required=True)
    update_id = _text(form, "update_id", 120) or secrets.token_hex(16)
    author = " ".join(n for n in (_text(form, "first_name", 100),
                                  _text(form, "last_name", 100)) if n) or None
    try:
        report = get_report(db.session, sid, principal, for_update=True)
    except Problem:
        raise Open311Error(404, f"service_request_id '{sid}' not found") from None
    actor = Actor(principal, SYSTEM)
    response, created = response_service.add_response(db.session, report, {
        "body": description, "visibility": "public", "author_name": author,
        "created_at": min(updated, utcnow()),  # a clock ahead never dates it in the future
        "external_ref": {"system": SYSTEM, "external_id": f"{principal.client_id}:{update_id}"},
    }, actor)
    if created:
        _apply_update_status(report, status, actor, response.id)
    db.session.commit()
    return render([{"update_id": str(response.id)}], fmt, "service_request_updates",
                  201 if created else 200)
