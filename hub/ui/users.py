"""Accounts. Agency admins manage their agency's accounts: officers (see and map) and
other admins; national admins manage every agency's. Another agency's account is 404;
an admin's own account and a national admin's are not changed from here (403). Every
signed-in user changes their own password on their account page."""
import re
import secrets

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from hub.extensions import db
from hub.models import Agency, User, utcnow
from hub.services import access
from hub.ui import i18n, login_throttle
from hub.ui import sessions as ui_sessions
from hub.ui.base import LOCKOUT, MAX_FAILED_LOGINS, bp
from hub.ui.connector_forms import require_editor

MIN_PASSWORD = 12
# Roles an admin may hand out: never more than its own.
GRANTABLE = {"agency_admin": ("officer", "agency_admin"),
             "national_admin": ("officer", "agency_admin")}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
# No look-alikes (0/O, 1/l/I): a temporary password is often read out over the phone.
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def temporary_password() -> str:
    """Four groups of five characters: about 115 random bits, easy to copy by hand."""
    return "-".join("".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(5))
                    for _ in range(4))


def _hash(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _in_scope(user) -> bool:
    if g.principal.is_national:
        return True
    return user.agency_code is not None and access.in_scope(g.principal, user.agency_code)


def _page(form=None, errors=None, status=200, row_errors=None, issued=None):
    covered = access.scope(g.principal)
    stmt = sa.select(User).order_by(User.agency_code, User.email)
    if covered is not None:
        stmt = stmt.where(User.agency_code.in_(covered))
    return render_template("ui/users.html", users=db.session.execute(stmt).scalars().all(),
                           agencies=access.agencies_in_scope(db.session, g.principal),
                           roles=GRANTABLE[g.user.role],
                           form=form or {"agency": g.user.agency_code or ""},
                           errors=errors or {}, row_errors=row_errors or {}, issued=issued,
                           min_password=MIN_PASSWORD, now=utcnow()), status


@bp.route("/users", methods=["GET", "POST"])
def users():
    require_editor()
    if request.method == "GET":
        return _page()
    form = {k: (request.form.get(k) or "").strip() for k in ("email", "name", "agency", "role")}
    form["email"] = form["email"].lower()
    password = request.form.get("password") or ""
    errors = {}
    if not _EMAIL.match(form["email"]):
        errors["email"] = i18n.t("users.err_email")
    elif db.session.execute(sa.select(User.id).where(User.email == form["email"])).first():
        errors["email"] = i18n.t("form.err_taken")
    if not form["name"] or len(form["name"]) > 200:
        errors["name"] = i18n.t("form.err_required")
    if form["role"] not in GRANTABLE[g.user.role]:
        errors["role"] = i18n.t("form.err_enum")
    if not form["agency"] or db.session.get(Agency, form["agency"]) is None or \
            not access.in_scope(g.principal, form["agency"]):
        errors["agency"] = i18n.t("form.err_agency")
    if len(password) < MIN_PASSWORD:
        errors["password"] = i18n.tn("users.err_password", MIN_PASSWORD)
    if errors:
        return _page(form, errors, 422)
    db.session.add(User(email=form["email"], name=form["name"], agency_code=form["agency"],
                        role=form["role"], active=True, failed_logins=0,
                        password_hash=_hash(password)))
    db.session.commit()
    flash(i18n.t("users.created", email=form["email"]), "ok")
    return redirect(url_for("ui.users"))


def _managed(user_id: int) -> User:
    """An account the signed-in admin may change: 404 outside its scope; 403 for its
    own account (nobody locks or demotes themselves out from here) and a national
    admin's (above every agency admin)."""
    require_editor()
    user = db.session.get(User, user_id)
    if user is None or not _in_scope(user):
        abort(404)
    if user.id == g.user.id or user.role == "national_admin":
        abort(403)
    return user


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def user_activate(user_id):
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id):
    return _set_active(user_id, False)


def _set_active(user_id: int, active: bool):
    user = _managed(user_id)
    user.active = active
    if not active:
        ui_sessions.end_all_of(user.id)  # signed out everywhere, even once reactivated
    db.session.commit()
    flash(i18n.t("users." + ("activated" if active else "deactivated"), email=user.email),
          "ok")
    return redirect(url_for("ui.users"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
def user_role(user_id):
    user = _managed(user_id)
    role = request.form.get("role") or ""
    if role not in GRANTABLE[g.user.role]:
        return _page(row_errors={user.id: i18n.t("users.err_role")}, status=422)
    if role != user.role:
        user.role = role
        # Signed out everywhere: the user signs in again knowing what they may now do.
        ui_sessions.end_all_of(user.id)
    db.session.commit()
    flash(i18n.t("users.role_changed", email=user.email, role=i18n.t("role." + role)), "ok")
    return redirect(url_for("ui.users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def user_reset_password(user_id):
    user = _managed(user_id)
    password = temporary_password()
    user.password_hash = _hash(password)
    user.failed_logins, user.locked_until = 0, None
    login_throttle.clear_all(user.email)  # a locked-out user can sign in with it at once
    ui_sessions.end_all_of(user.id)
    db.session.commit()
    # Shown once, in this answer only: a flash message would travel in the session
    # cookie, which is only signed, not encrypted, and is stored by the browser.
    return _page(issued={"email": user.email, "password": password})


# -- one's own account ---------------------------------------------------------------

def _account_page(errors=None, status=200):
    agency = db.session.get(Agency, g.user.agency_code) if g.user.agency_code else None
    return render_template("ui/account.html", errors=errors or {}, agency=agency,
                           min_password=MIN_PASSWORD, now=utcnow()), status


@bp.route("/account", methods=["GET", "POST"])
def account():
    if request.method == "GET":
        return _account_page()
    current = request.form.get("current") or ""
    new = request.form.get("new") or ""
    errors = {}
    address = request.remote_addr or "unknown"
    # Wrong current passwords count as failed sign-ins: a borrowed session cannot be
    # used to guess the password at leisure.
    attempt, _ = login_throttle.claim(g.user.email, address, MAX_FAILED_LOGINS, LOCKOUT)
    if attempt > MAX_FAILED_LOGINS:
        errors["current"] = i18n.t("login.locked")
    elif not check_password_hash(g.user.password_hash, current):
        errors["current"] = i18n.t("login.locked" if attempt == MAX_FAILED_LOGINS
                                   else "account.err_current")
    else:
        # The right password is no failed try, whatever else the form gets wrong (as a
        # sign-in that succeeds clears its count).
        login_throttle.clear(g.user.email, address)
        db.session.commit()
    if len(new) < MIN_PASSWORD:
        errors["new"] = i18n.tn("users.err_password", MIN_PASSWORD)
    elif new == current:
        errors["new"] = i18n.t("account.err_same")
    if new != (request.form.get("again") or ""):
        errors["again"] = i18n.t("account.err_again")
    if errors:
        return _account_page(errors, 422)
    g.user.password_hash = _hash(new)
    ui_sessions.end_all_of(g.user.id, keep=session.get("sid"))
    db.session.commit()
    flash(i18n.t("account.password_changed"), "ok")
    return redirect(url_for("ui.account"))
