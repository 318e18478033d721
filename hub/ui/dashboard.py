"""The executive dashboard: the indicators of hub.services.stats (the same queries as
GET /api/v1/stats) per unit, channel and period, drawn as server-rendered SVG."""
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import g, render_template, request

from hub.errors import Problem
from hub.extensions import db
from hub.models import CHANNELS, Agency, Report, utcnow
from hub.services import access, report_search, sla, stats
from hub.ui import i18n
from hub.ui.base import bp

OVERDUE_LIST = 10


def _day(value: str):
    """A YYYY-MM-DD from a date input, as the start of that day in Asia/Jakarta."""
    return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(0),
                            tzinfo=sla.JAKARTA)


def _agency_choices():
    covered = access.scope(g.principal)
    stmt = sa.select(Agency.code, Agency.name).order_by(Agency.name)
    if covered is not None:
        stmt = stmt.where(Agency.code.in_(covered))
    return list(db.session.execute(stmt))


@bp.route("/dashboard")
def dashboard():
    form = {k: (request.args.get(k) or "").strip()[:64]
            for k in ("agency", "since", "until", "channel", "period")}
    errors = {}
    since = until = None
    try:
        since = _day(form["since"]) if form["since"] else None
    except ValueError:
        errors["since"] = i18n.t("dashboard.err_date")
    try:
        # The "until" date is inclusive for a person: up to the end of that day.
        until = _day(form["until"]) + timedelta(days=1) if form["until"] else None
    except ValueError:
        errors["until"] = i18n.t("dashboard.err_date")
    channel = form["channel"] or None
    if channel is not None and channel not in CHANNELS:
        errors["channel"], channel = i18n.t("dashboard.err_channel"), None
    grain = form["period"] if form["period"] in ("week", "month") else "month"
    try:
        filters = stats.filters_for(db.session, g.principal, agency=form["agency"] or None,
                                    since=since, until=until, channel=channel)
    except Problem as problem:
        if problem.status == 404:
            raise  # another agency's figures: the UI's 404, like its reports
        errors["agency" if "agency" in (problem.errors or {}) else "since"] = \
            i18n.t("dashboard.err_agency" if "agency" in (problem.errors or {})
                   else "dashboard.err_range")
        filters = stats.filters_for(db.session, g.principal)
    now = utcnow()
    data = stats.overview(db.session, filters, grain, now)
    overdue = db.session.execute(
        sa.select(Report).where(*stats.conditions(filters),
                                Report.status.notin_(("resolved", "closed", "rejected")),
                                Report.due_at < now)
        .order_by(Report.due_at).limit(OVERDUE_LIST)).scalars().all()
    return render_template("ui/dashboard.html", data=data, form=form, errors=errors,
                           grain=grain, channels=CHANNELS, agencies=_agency_choices(),
                           overdue=overdue, now=now,
                           units=report_search.unit_names(db.session,
                                                          [r.agency_code for r in overdue]),
                           first_response_days=stats.FIRST_RESPONSE_DAYS)
