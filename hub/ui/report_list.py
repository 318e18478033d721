"""The report list: find a complaint by tracking number, local ticket number or title,
and narrow it by status, unit, channel, deadline and submission date (with "this month /
quarter / year" presets). The queries are hub.services.report_search's."""
from datetime import date, datetime

from flask import g, render_template, request

from hub.extensions import db
from hub.models import CHANNELS, STATUSES, utcnow
from hub.services import access, report_search
from hub.ui import i18n
from hub.ui.base import bp

PAGE_SIZE = 50
_FORM = ("q", "status", "unit", "channel", "due", "since", "until")


def _date(value: str) -> date:
    """A YYYY-MM-DD from a date input (ValueError for anything else)."""
    return datetime.strptime(value, "%Y-%m-%d").date()


def read_form(args, units: dict, today: date):
    """(Search, the form's values as shown, errors by field, the preset chosen). A value
    that is not one of the choices is set aside with an error the officer can read; the
    list is then filtered by the rest."""
    form = {k: (args.get(k) or "").strip()[:200] for k in _FORM}
    errors: dict = {}
    period = args.get("period") or ""
    since = until = None
    if period in report_search.PERIODS:
        since, until = report_search.period_range(period, today)
        form["since"], form["until"] = since.isoformat(), until.isoformat()
    else:
        period = ""
        for name in ("since", "until"):
            if form[name]:
                try:
                    value = _date(form[name])
                except ValueError:
                    errors[name] = i18n.t("dashboard.err_date")
                    continue
                since, until = (value, until) if name == "since" else (since, value)
        if since and until and since > until:
            errors["until"] = i18n.t("reports.err_range")
            since = until = None
    for name, choices, key in (("status", STATUSES, "reports.err_status"),
                               ("channel", CHANNELS, "dashboard.err_channel"),
                               ("unit", units, "reports.err_unit"),
                               ("due", report_search.DUE_FILTERS, "reports.err_due")):
        if form[name] and form[name] not in choices:
            errors[name] = i18n.t(key)
    search = report_search.Search(
        q=form["q"], since=since, until=until,
        **{name: (form[name] or None) if name not in errors else None
           for name in ("status", "channel", "unit", "due")})
    return search, form, errors, period


@bp.route("/reports")
def reports():
    now = utcnow()
    units = dict(access.agencies_in_scope(db.session, g.principal))
    search, form, errors, period = read_form(request.args, units,
                                             report_search.jakarta_today(now))
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    rows, more = report_search.page(db.session, g.principal, search, now, page, PAGE_SIZE)
    names = report_search.unit_names(db.session, [r.agency_code for r in rows])
    # The links to other pages keep the filters as the officer set them.
    args = {k: v for k, v in form.items() if v and k not in errors}
    if period:
        args.pop("since", None), args.pop("until", None)
        args["period"] = period
    return render_template("ui/reports.html", reports=rows, more=more, page=page,
                           form=form, errors=errors, period=period, args=args,
                           units=units, names=names,
                           tickets=report_search.tickets(db.session, [r.id for r in rows]),
                           statuses=STATUSES, channels=CHANNELS,
                           periods=report_search.PERIODS, now=now)
