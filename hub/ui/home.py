"""The officer's home: "Perlu tindakan" (needs action), the first page after sign-in.

What is the officer's to act on now, in their agency's scope (hub.services.needs_action):
connectors that stopped or keep failing, with the reason in words an officer can act on;
records held for a mapping, each a link to its connector's mapping queue; reports past
their deadline or due within a day. The navigation shows the same counts as badges.
"""
from flask import g, render_template

from hub.extensions import db
from hub.models import STATUSES, utcnow
from hub.services import needs_action, report_search
from hub.ui.base import bp


def nav_counts():
    """The navigation's badges for the signed-in user (once per request), or None."""
    if getattr(g, "user", None) is None or getattr(g, "principal", None) is None:
        return None
    if "nav_counts" not in g:
        g.nav_counts = needs_action.counts(db.session, g.principal, utcnow())
    return g.nav_counts


@bp.route("/")
def index():
    now = utcnow()
    problems = needs_action.connector_problems(db.session, g.principal)
    held = needs_action.held_summaries(db.session, g.principal)
    due = needs_action.deadlines(db.session, g.principal, now)
    units = report_search.unit_names(db.session, [r.agency_code for r in due.first])
    return render_template("ui/home.html", problems=problems, held=held, due=due,
                           units=units, statuses=STATUSES, now=now)
