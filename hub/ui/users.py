"""Agency admins manage their agency's accounts: officers (see and map) and other
admins. National admins manage every agency's. Another agency's account is 404."""
import re

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for
from werkzeug.security import generate_password_hash

from hub.extensions import db
from hub.models import Agency, User
from hub.services import access
from hub.ui import i18n
from hub.ui.base import bp
from hub.ui.connector_forms import require_editor

MIN_PASSWORD = 12
# Roles an admin may hand out: never more than its own.
GRANTABLE = {"agency_admin": ("officer", "agency_admin"),
             "national_admin": ("officer", "agency_admin")}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def _in_scope(user) -> bool:
    if g.principal.is_national:
        return True
    return user.agency_code is not None and access.in_scope(g.principal, user.agency_code)


def _page(form=None, errors=None, status=200):
    covered = access.scope(g.principal)
    stmt = sa.select(User).order_by(User.agency_code, User.email)
    if covered is not None:
        stmt = stmt.where(User.agency_code.in_(covered))
    return render_template("ui/users.html", users=db.session.execute(stmt).scalars().all(),
                           agencies=access.agencies_in_scope(db.session, g.principal),
                           roles=GRANTABLE[g.user.role],
                           form=form or {"agency": g.user.agency_code or ""},
                           errors=errors or {}, min_password=MIN_PASSWORD), status


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
                        password_hash=generate_password_hash(password, method="scrypt")))
    db.session.commit()
    flash(i18n.t("users.created", email=form["email"]), "ok")
    return redirect(url_for("ui.users"))


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def user_activate(user_id):
    return _set_active(user_id, True)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id):
    return _set_active(user_id, False)


def _set_active(user_id: int, active: bool):
    require_editor()
    user = db.session.get(User, user_id)
    if user is None or not _in_scope(user):
        abort(404)
    if user.id == g.user.id or user.role == "national_admin":
        abort(403)  # nobody locks themselves (or a national admin) out from here
    user.active = active
    if not active:
        from hub.ui import sessions as ui_sessions
        ui_sessions.end_all_of(user.id)  # signed out everywhere, even once reactivated
    db.session.commit()
    flash(i18n.t("users." + ("activated" if active else "deactivated"), email=user.email),
          "ok")
    return redirect(url_for("ui.users"))
