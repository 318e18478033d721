"""What every UI page shares: the blueprint, its security headers and CSRF check, the
signed-in user and their principal, and the scope rule for a connector."""

import hmac
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from hub.auth import Principal
from hub.errors import Problem, settle_unexpected
from hub.extensions import db
from hub.models import Connector
from hub.services import access, needs_action
from hub.ui import held, i18n
from hub.ui import sessions as ui_sessions

# Templates live in hub/templates/ui and CSS/JS in hub/static (the app's own folders).
bp = Blueprint("ui", __name__, url_prefix="/ui")

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)


@bp.record_once
def _configure(state):
    app = state.app
    app.config["SESSION_COOKIE_SECURE"] = app.config.get("HUB_UI_COOKIE_SECURE",
                                                         not app.debug)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Flask's own default (31 days) is always present, so this is set, not defaulted.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=app.config.get("HUB_UI_SESSION_HOURS", 8))
    i18n.init_app(app)
    app.jinja_env.globals["t"] = i18n.t
    app.jinja_env.globals["tn"] = i18n.tn
    app.jinja_env.globals["ago"] = i18n.ago
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["lang"] = i18n.current_lang
    app.jinja_env.globals["duration"] = i18n.duration
    app.jinja_env.globals["has_t"] = i18n.has
    app.jinja_env.globals["cause_of"] = needs_action.cause_of
    app.jinja_env.globals["pause_of"] = needs_action.pause_of
    app.jinja_env.globals["held_detail"] = held.detail
    app.jinja_env.filters["dt"] = _format_dt
    app.jinja_env.filters["num"] = i18n.number
    app.jinja_env.filters["pct"] = i18n.percent


def _format_dt(value) -> str:
    """A timestamp in Asia/Jakarta (WIB), as officers read it, in their language."""
    return i18n.datetime_text(value)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.before_request
def _before():
    if request.method == "POST":
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = session.get("csrf")
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, description="csrf")
    g.user = load_user()
    if g.user is None and request.endpoint not in ("ui.login", "ui.set_lang"):
        return redirect(url_for("ui.login", next=request.full_path
                                if request.method == "GET" else None))


@bp.after_request
def _headers(resp):
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    resp.headers.setdefault("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _error_page(status: int, key: str, **kw):
    return render_template("ui/error.html", status=status, message=i18n.t(key, **kw)), status


@bp.errorhandler(404)
def _not_found(_e):
    return _error_page(404, "error.not_found")


@bp.errorhandler(Problem)
def _problem(problem):
    if problem.status == 404:
        return _error_page(404, "error.not_found")
    return _error_page(problem.status, "error.generic")


@bp.errorhandler(400)
def _bad_request(e):
    return _error_page(400, "error.csrf" if getattr(e, "description", "") == "csrf"
                       else "error.bad_request")


@bp.errorhandler(403)
def _forbidden(_e):
    return _error_page(403, "error.forbidden")


@bp.errorhandler(429)
def _too_many(_e):
    # Flask-Limiter adds Retry-After to the answer, whoever renders it.
    return _error_page(429, "error.too_many")


@bp.errorhandler(413)
def _too_large(_e):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _error_page(413, "error.too_large", mb=max(1, limit // 1048576))


@bp.errorhandler(Exception)
def _unexpected(error):
    """An officer gets a page in their language, never the API's problem+json: what
    happened, that nothing was saved, what to do; the details go to the log."""
    if isinstance(error, HTTPException):
        return _error_page(error.code or 500, "error.generic")
    problem = settle_unexpected(error)  # rolled back and logged as the API's are
    g.nav_counts = None  # the page must not need the database that just failed
    body, status = _error_page(problem.status, "error.unavailable" if problem.status == 503
                               else "error.internal")
    return body, status, problem.headers


ROLE_SCOPES = {
    "officer": frozenset({"reports:read", "reports:write", "mappings:write"}),
    "agency_admin": frozenset({"reports:read", "reports:write", "mappings:write"}),
    "national_admin": frozenset({"reports:read", "reports:write", "mappings:write", "admin"}),
}


def load_user():
    sid = session.get("sid")
    if sid is None:
        return None
    user = ui_sessions.user_of(sid)
    if user is None:
        session.pop("sid", None)
        return None
    g.principal = principal_for(user)
    return user


def principal_for(user) -> Principal:
    agency = "*" if user.role == "national_admin" else user.agency_code
    return Principal(client_id=f"user:{user.id}", agency=agency,
                     scopes=ROLE_SCOPES.get(user.role, frozenset({"reports:read"})))


def connector_in_scope(connector_id: str) -> Connector:
    """The connector, if it is the caller's agency's (or the caller is national); else
    404, as if it did not exist."""
    conn = db.session.get(Connector, connector_id)
    if conn is None or not access.in_scope(g.principal, conn.agency_code):
        abort(404)
    return conn
