"""Finding a complaint in the officers' report list: by the hub's tracking number, by the
ticket number the local system gave it (its external ref), or by words of its title;
narrowed by status, unit, channel, deadline and the date it was submitted.

Tenancy is hub.services.access.visible's: only reports the caller's agency is or was
responsible for. The deadline filters are hub.services.needs_action's, so the home
page's counts and the lists behind its links agree.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from hub.auth import Principal
from hub.models import CHANNELS, STATUSES, Agency, Report, ReportExternalRef
from hub.services import access, needs_action, sla

PERIODS = ("month", "quarter", "year")
DUE_FILTERS = ("overdue", "soon")


@dataclass(frozen=True)
class Search:
    q: str = ""
    status: str | None = None
    unit: str | None = None        # the unit and every unit below it
    channel: str | None = None
    due: str | None = None         # "overdue" or "soon" (due within 24 hours)
    since: date | None = None      # submitted on or after this Jakarta date
    until: date | None = None      # submitted on or before this Jakarta date (inclusive)


def period_range(period: str, today: date) -> tuple[date, date]:
    """The first and last day of this month, quarter or year, as an officer means them."""
    if period == "month":
        first = today.replace(day=1)
        last = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    elif period == "quarter":
        start_month = (today.month - 1) // 3 * 3 + 1
        first = date(today.year, start_month, 1)
        last = date(today.year + (start_month == 10), (start_month + 2) % 12 + 1, 1)
    elif period == "year":
        first, last = date(today.year, 1, 1), date(today.year + 1, 1, 1)
    else:
        raise ValueError(f"unknown period {period!r}")
    return first, last - timedelta(days=1)


def jakarta_today(now: datetime) -> date:
    return now.astimezone(sla.JAKARTA).date()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=sla.JAKARTA)


def ticket_variants(q: str) -> list[str]:
    """The spellings of a ticket number to look for: as typed, and in upper and lower
    case (local systems write theirs either way, officers type them either way). Exact
    values, so an index on the external id can serve them."""
    return sorted({q, q.upper(), q.lower()})


def unit_subtree(principal, unit: str) -> frozenset:
    """The unit and every unit below it, within the caller's scope."""
    below = access.scope(Principal("unit-filter", unit, frozenset()))
    covered = access.scope(principal)
    return below if covered is None else below & covered


def statement(principal, search: Search, now: datetime) -> sa.Select:
    """The caller's reports matching `search`, most recent first (most urgent first when
    filtered by deadline). The caller checks `search.unit` is one of its own first."""
    stmt = access.visible(principal)
    if search.due in DUE_FILTERS:
        stmt = needs_action.responsible_now(principal, stmt).where(
            needs_action.overdue(now) if search.due == "overdue"
            else needs_action.due_soon(now))
    if search.status in STATUSES:
        stmt = stmt.where(Report.status == search.status)
    if search.channel in CHANNELS:
        stmt = stmt.where(Report.channel == search.channel)
    if search.unit:
        stmt = stmt.where(Report.agency_code.in_(sorted(unit_subtree(principal,
                                                                     search.unit))))
    if search.since is not None:
        stmt = stmt.where(Report.submitted_at >= _start_of(search.since))
    if search.until is not None:
        stmt = stmt.where(Report.submitted_at < _start_of(search.until + timedelta(days=1)))
    q = search.q.strip()
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        ticket = sa.exists().where(ReportExternalRef.report_id == Report.id,
                                   ReportExternalRef.external_id.in_(ticket_variants(q)))
        stmt = stmt.where(sa.or_(Report.title.ilike(f"%{escaped}%", escape="\\"),
                                 Report.tracking_id == q, ticket))
    if search.due in DUE_FILTERS:
        return stmt.order_by(Report.due_at, Report.id)
    return stmt.order_by(Report.submitted_at.desc(), Report.id)


def page(session, principal, search: Search, now: datetime, number: int,
         size: int) -> tuple[list, bool]:
    """(the page's reports, whether there are more)."""
    rows = session.execute(statement(principal, search, now)
                           .offset((number - 1) * size).limit(size + 1)).scalars().all()
    return rows[:size], len(rows) > size


def unit_names(session, codes) -> dict:
    """{agency code: its name} for the units a page shows."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    return dict(session.execute(sa.select(Agency.code, Agency.name)
                                .where(Agency.code.in_(wanted))).all())


def tickets(session, report_ids) -> dict:
    """{report id: [(system, external id)]}: the local ticket numbers of a page's reports."""
    ids = list(report_ids)
    if not ids:
        return {}
    out: dict = {}
    for report_id, system, external_id in session.execute(
            sa.select(ReportExternalRef.report_id, ReportExternalRef.system,
                      ReportExternalRef.external_id)
            .where(ReportExternalRef.report_id.in_(ids)).order_by(ReportExternalRef.id)):
        out.setdefault(report_id, []).append((system, external_id))
    return out
