"""The indicators agencies are judged on, aggregated in the database.

One module for GET /api/v1/stats and the UI dashboard, so both always show the same
numbers. Every figure is one SQL aggregate over `reports` (grouped by agency, channel
or period); nothing loops over reports in Python.

Definitions (documented in the README and the API description):

- A report counts for the agency (or unit) responsible for it *now*
  (`reports.agency_code`); a report forwarded to another agency counts there.
- The window (`since`, `until`) and the channel filter apply to `submitted_at` and
  `channel`: "reports received in this window".
- received: every report; dispositioned: it has a disposition (`dispositioned_at`);
  responded: it has a public follow-up (`first_response_at`); resolved: it was resolved
  (`resolved_at`, or closed); overdue: its running SLA clock (`due_at`) has passed and it
  is not resolved, closed or rejected.
- Responded in time: the first public response came at or before the first-response
  deadline, which is `dispositioned_at` (or `submitted_at` for a report answered
  without a disposition) plus 5 working days: the same rule as
  hub.services.sla.add_working_days (Asia/Jakarta weekdays minus national holidays and
  the agency's own). The share in time is in-time responses divided by the reports
  whose deadline has been tested: responded ones, and dispositioned ones still
  unanswered after their deadline (late by definition).
- Median hours to first response: from `submitted_at` to `first_response_at` (what
  the complainant waits), over responded reports; percentile_cont on PostgreSQL, the
  same median with window functions elsewhere (SQLite, the embedded default).
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from hub.auth import Principal
from hub.errors import Problem, not_found
from hub.models import Agency, Holiday, Report, ReportDailyCount, utcnow
from hub.services import access, rollup, sla, storage

TZ_NAME = rollup.TZ_NAME
UTC_OFFSET_HOURS = rollup.UTC_OFFSET_HOURS
FIRST_RESPONSE_DAYS = sla.DEFAULT_DAYS["first_response"]
GROUPS = ("agency", "channel", "week", "month")
METRICS = ("received", "dispositioned", "responded", "resolved", "overdue",
           "responded_in_time", "in_time_tested")


@dataclass(frozen=True)
class Filters:
    agencies: frozenset | None = None   # None: every agency (national callers)
    since: datetime | None = None       # submitted_at >= since
    until: datetime | None = None       # submitted_at < until
    channel: str | None = None
    agency: str | None = None           # the agency asked for (for echoing back)
    extra: dict = field(default_factory=dict, compare=False)


def filters_for(session, principal, *, agency=None, since=None, until=None,
                channel=None) -> Filters:
    """The caller's filters, narrowed to its tenant scope. An agency outside the
    caller's scope is 404, exactly like a report it may not see."""
    if since is not None and until is not None and since >= until:
        raise Problem(422, "Validation failed", "'since' must be before 'until'.",
                      slug="validation", errors={"since": "must be before until"})
    covered = access.scope(principal)
    if agency is not None:
        if session.get(Agency, agency) is None:
            raise Problem(422, "Validation failed", f"Unknown agency '{agency}'.",
                          slug="validation", errors={"agency": "unknown agency"})
        if covered is not None and agency not in covered:
            raise not_found("agency")
        # The agency and every unit below it (the same tree walk as tenant scopes).
        subtree = access.scope(Principal("stats", agency, frozenset()))
        covered = subtree if covered is None else subtree & covered
    return Filters(agencies=covered, since=since, until=until, channel=channel,
                   agency=agency)


# -- dialect-specific expressions ------------------------------------------------------

def _is_pg(session) -> bool:
    return storage.is_postgresql(session)


def _hours(pg: bool, start, end):
    """end - start in hours, as a float expression."""
    if pg:
        return sa.extract("epoch", end - start) / 3600.0
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 24.0


_local = rollup.local
_local_date = rollup.local_date


def _date_literal(pg: bool, day: date):
    return sa.literal(day, sa.Date) if pg else sa.literal(day.isoformat())


def _weekday(pg: bool, column):
    """Monday=0 .. Sunday=6 (Python's numbering) of a UTC column's local date."""
    if pg:
        return sa.cast(sa.extract("isodow", _local(pg, column)), sa.Integer) - 1
    # strftime('%w'): Sunday=0 .. Saturday=6.
    return (sa.cast(sa.func.strftime("%w", _local(pg, column)), sa.Integer) + 6) % 7


def period_key(pg: bool, grain: str, day=None):
    """The first day (local) of the week (Monday) or month of submitted_at (or of a
    local `day` column), as text."""
    col = Report.submitted_at
    if pg:
        local = _local(pg, col) if day is None else day
        return sa.func.to_char(sa.func.date_trunc(grain, local), "YYYY-MM-DD")
    shift = (col, f"+{UTC_OFFSET_HOURS} hours") if day is None else (day,)
    if grain == "month":
        return sa.func.strftime("%Y-%m-01", *shift)
    return sa.func.date(*shift, "weekday 0", "-6 days")


# -- the first-response deadline, as calendar days per start date ----------------------

def _offset_days(session, day: date, agency=None) -> int:
    start = datetime.combine(day, time(12), tzinfo=sla.JAKARTA)
    deadline = sla.add_working_days(session, start, FIRST_RESPONSE_DAYS, agency)
    return (deadline.astimezone(sla.JAKARTA).date() - day).days


class _Deadline:
    """Calendar days from `start` to its first-response deadline, as SQL.

    Without holidays the gap depends only on the weekday (Mon-Fri: 7 days for 5 working
    days): a CASE on the weekday. The few start dates a holiday pushes back are
    exceptions, computed with sla.add_working_days itself so the rule cannot drift from
    the SLA clocks, and joined on the report's local start date (a hash join: one lookup
    per report, where a CASE of hundreds of dates cost hundreds of comparisons each).
    An agency's own holidays win over the national ones."""

    def __init__(self, session, pg: bool, start, filters: Filters, span):
        monday = date(2024, 1, 1)  # any Monday; the base gap needs no holidays
        base = {wd: _plain_offset(monday + timedelta(days=wd)) for wd in range(7)}
        national, by_agency = self._exceptions(session, filters, span, base)
        self.joins = []
        local = _local_date(pg, start)
        offsets = []
        if by_agency:
            table = _rows(pg, "agency_deadlines", [
                {"day": d, "agency": a, "off": off} for (d, a), off in by_agency.items()])
            self.joins.append((table, sa.and_(table.c.day == local,
                                              table.c.agency == Report.agency_code)))
            offsets.append(table.c.off)
        if national:
            table = _rows(pg, "national_deadlines", [
                {"day": d, "off": off} for d, off in national.items()])
            self.joins.append((table, table.c.day == local))
            offsets.append(table.c.off)
        weekday = _weekday(pg, start)
        base_expr = sa.case(*[(weekday == wd, off) for wd, off in base.items()],
                            else_=FIRST_RESPONSE_DAYS + 2)
        self.days = sa.func.coalesce(*offsets, base_expr) if offsets else base_expr

    def select_from(self):
        joined = Report.__table__
        for table, on in self.joins:
            joined = joined.outerjoin(table, on)
        return joined

    @staticmethod
    def _exceptions(session, filters, span, base):
        """({day: days} national, {(day, agency): days}) where the gap is not the base."""
        if not (span and span[0] and span[1]):
            return {}, {}
        first, last = span
        horizon = timedelta(days=FIRST_RESPONSE_DAYS * 3 + 30)
        rows = session.execute(sa.select(Holiday.date, Holiday.agency_code).where(
            Holiday.date >= first, Holiday.date <= last + horizon)).all()
        affected: dict = {}
        for hday, agency in rows:
            # A holiday can only push back deadlines of starts in the weeks before it.
            for back in range(0, FIRST_RESPONSE_DAYS * 3 + 1):
                d = hday - timedelta(days=back)
                if first <= d <= last:
                    affected.setdefault(agency, set()).add(d)
        national_all = {d: _offset_days(session, d) for d in sorted(affected.get(None, ()))}
        national = {d: off for d, off in national_all.items() if off != base[d.weekday()]}
        by_agency = {}
        for agency, days in affected.items():
            if agency is None:
                continue
            # An agency's holiday is its units' too (sla.holidays follows the lineage).
            for code in sorted(sla.subtree(session, agency)):
                if filters.agencies is not None and code not in filters.agencies:
                    continue
                for d in sorted(days | set(national_all)):
                    off = _offset_days(session, d, code)
                    if off != national_all.get(d, base[d.weekday()]):
                        by_agency[(d, code)] = off
        return national, by_agency


def _rows(pg: bool, name: str, rows: list[dict]):
    """Literal rows as a table to join: VALUES on PostgreSQL (quick to plan however many
    rows); on SQLite, which has no VALUES with named columns, a UNION ALL of one-row
    SELECTs."""
    if pg:
        types = {"day": sa.Date, "agency": sa.String, "off": sa.Integer}
        return sa.values(*[sa.column(k, types[k]) for k in rows[0]], name=name).data(
            [tuple(row.values()) for row in rows])
    selects = [sa.select(*[(_date_literal(pg, v) if k == "day" else sa.literal(v)).label(k)
                           for k, v in row.items()]) for row in rows]
    combined = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return combined.subquery(name)


def _plain_offset(day: date) -> int:
    current, remaining = day, FIRST_RESPONSE_DAYS
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return (current - day).days


# -- the aggregate ---------------------------------------------------------------------

def conditions(filters: Filters):
    conds = []
    if filters.agencies is not None:
        conds.append(Report.agency_code.in_(sorted(filters.agencies)))
    if filters.since is not None:
        conds.append(Report.submitted_at >= filters.since)
    if filters.until is not None:
        conds.append(Report.submitted_at < filters.until)
    if filters.channel is not None:
        conds.append(Report.channel == filters.channel)
    return conds


def _key(pg: bool, group: str | None):
    if group is None:
        return sa.literal("all")
    if group == "agency":
        return sa.func.coalesce(Report.agency_code, "")
    if group == "channel":
        return Report.channel
    return period_key(pg, group)


def aggregate(session, filters: Filters, group: str | None = None, now=None,
              live: bool = False) -> list[dict]:
    """[{key, received, dispositioned, responded, resolved, overdue, responded_in_time,
    in_time_tested, share_responded_in_time, median_hours_to_first_response}]

    received, dispositioned, responded and resolved come from the kept daily counts
    (hub.services.rollup) when the window starts and ends on local midnights (as the
    dashboard's dates and the API's plain dates do); live=True, or a window cut inside a
    day, counts them from the reports."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"unknown grouping {group!r}")
    pg = _is_pg(session)
    now = now or utcnow()
    conds = conditions(filters)
    start = sa.func.coalesce(Report.dispositioned_at, Report.submitted_at)
    span = session.execute(sa.select(sa.func.min(_local_date(pg, start)),
                                     sa.func.max(_local_date(pg, start))).where(*conds)).one()
    span = tuple(date.fromisoformat(v) if isinstance(v, str) else v for v in span)
    deadline = _Deadline(session, pg, start, filters, span)
    limit_hours = deadline.days * 24
    now_param = sa.literal(now, Report.submitted_at.type)
    responded = Report.first_response_at.isnot(None)
    in_time = sa.and_(responded, _hours(pg, start, Report.first_response_at) <= limit_hours)
    late_unanswered = sa.and_(~responded, Report.dispositioned_at.isnot(None),
                              _hours(pg, start, now_param) > limit_hours)
    open_ = Report.status.notin_(("resolved", "closed", "rejected"))
    hours = _hours(pg, Report.submitted_at, Report.first_response_at)

    def count(cond):
        return sa.func.count(sa.case((cond, 1)))

    key = _key(pg, group).label("key")
    columns = [
        key,
        sa.func.count().label("received"),
        count(Report.dispositioned_at.isnot(None)).label("dispositioned"),
        count(responded).label("responded"),
        count(sa.or_(Report.resolved_at.isnot(None), Report.status == "closed"))
        .label("resolved"),
        count(sa.and_(open_, Report.due_at.isnot(None), Report.due_at < now_param))
        .label("overdue"),
        count(in_time).label("responded_in_time"),
        count(sa.or_(responded, late_unanswered)).label("in_time_tested"),
    ]
    if pg:
        columns.append(sa.func.percentile_cont(0.5).within_group(hours)
                       .label("median_hours"))
    stmt = sa.select(*columns).select_from(deadline.select_from()).where(*conds)
    if group is not None:
        stmt = stmt.group_by(key).order_by(key)
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    if not live and _whole_days(filters):
        kept = _kept_counts(session, pg, filters, group)
        for row in rows:
            row.update(kept.get(row["key"], dict.fromkeys(rollup.MEASURES, 0)))
    if group is None and rows and rows[0]["received"] == 0:
        rows[0]["median_hours"] = None
    if not pg:
        medians = _medians_portable(session, pg, conds, group, hours)
        for row in rows:
            row["median_hours"] = medians.get(row["key"])
    for row in rows:
        median = row.pop("median_hours", None)
        row["median_hours_to_first_response"] = None if median is None else \
            round(float(median), 1)
        tested = row["in_time_tested"]
        row["share_responded_in_time"] = None if not tested else \
            round(row["responded_in_time"] / tested, 4)
    return rows


def _whole_days(filters: Filters) -> bool:
    return all(t is None or t.astimezone(sla.JAKARTA).timetz().replace(tzinfo=None) == time(0)
               for t in (filters.since, filters.until))


def _kept_counts(session, pg: bool, filters: Filters, group) -> dict:
    """{key: {received, dispositioned, responded, resolved}} from the daily counts."""
    kept = ReportDailyCount
    conds = []
    if filters.agencies is not None:
        conds.append(kept.agency_code.in_(sorted(filters.agencies)))
    if filters.since is not None:
        conds.append(kept.day >= filters.since.astimezone(sla.JAKARTA).date())
    if filters.until is not None:
        conds.append(kept.day < filters.until.astimezone(sla.JAKARTA).date())
    if filters.channel is not None:
        conds.append(kept.channel == filters.channel)
    if group is None:
        key = sa.literal("all")
    elif group == "agency":
        key = kept.agency_code
    elif group == "channel":
        key = kept.channel
    else:
        key = period_key(pg, group, kept.day)
    key = key.label("key")
    sums = [sa.func.coalesce(sa.func.sum(getattr(kept, m)), 0).label(m)
            for m in rollup.MEASURES]
    stmt = sa.select(key, *sums).where(*conds)
    if group is not None:
        stmt = stmt.group_by(key)
    return {row.key: {m: int(getattr(row, m)) for m in rollup.MEASURES}
            for row in session.execute(stmt)}


def _medians_portable(session, pg, conds, group, hours) -> dict:
    """The median per group with window functions (SQLite has no percentile_cont):
    the middle row, or the mean of the two middle rows."""
    key = _key(pg, group).label("key")
    inner = sa.select(
        key, hours.label("h"),
        sa.func.row_number().over(partition_by=key, order_by=hours).label("rn"),
        sa.func.count().over(partition_by=key).label("n"),
    ).where(*conds, Report.first_response_at.isnot(None)).subquery()
    stmt = sa.select(inner.c.key, sa.func.avg(inner.c.h)).where(
        inner.c.rn.in_([(inner.c.n + 1) // 2, (inner.c.n + 2) // 2])).group_by(inner.c.key)
    return dict(session.execute(stmt).all())


def fill_periods(rows: list[dict], grain: str, since=None, until=None) -> list[dict]:
    """Every week or month between the first and last (or the window), zeros where no
    report arrived, so a chart over time has no silent gaps. Loops over periods only."""
    by_key = {r["key"]: r for r in rows}
    keys = sorted(by_key)
    if not keys and not (since and until):
        return []
    first = _period_start(since.astimezone(sla.JAKARTA).date(), grain) if since else \
        date.fromisoformat(keys[0])
    last_day = (until - timedelta(microseconds=1)).astimezone(sla.JAKARTA).date() \
        if until else date.fromisoformat(keys[-1])
    last = _period_start(last_day, grain)
    if keys:
        first = min(first, date.fromisoformat(keys[0]))
        last = max(last, date.fromisoformat(keys[-1]))
    out, current, guard = [], first, 0
    while current <= last and guard < 520:  # ten years of weeks at most
        k = current.isoformat()
        out.append(by_key.get(k) or _empty(k))
        current = _next_period(current, grain)
        guard += 1
    return out


def _period_start(day: date, grain: str) -> date:
    return day.replace(day=1) if grain == "month" else day - timedelta(days=day.weekday())


def _next_period(day: date, grain: str) -> date:
    if grain == "week":
        return day + timedelta(days=7)
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _empty(key) -> dict:
    row = {"key": key, **{m: 0 for m in METRICS}}
    row["median_hours_to_first_response"] = None
    row["share_responded_in_time"] = None
    return row


def overview(session, filters: Filters, grain: str = "month", now=None,
             live: bool = False) -> dict:
    """Everything the dashboard and the API show: totals, per agency (with names), per
    channel and over time (live: see aggregate)."""
    now = now or utcnow()
    totals = aggregate(session, filters, None, now, live)
    totals = totals[0] if totals else _empty("all")
    totals.pop("key", None)
    agencies = aggregate(session, filters, "agency", now, live)
    names = dict(session.execute(sa.select(Agency.code, Agency.name).where(
        Agency.code.in_([a["key"] for a in agencies]))).all()) if agencies else {}
    parents = dict(session.execute(sa.select(Agency.code, Agency.parent_code).where(
        Agency.code.in_([a["key"] for a in agencies]))).all()) if agencies else {}
    for row in agencies:
        code = row.pop("key")
        row["agency"] = code or None
        row["agency_name"] = names.get(code)
        row["parent"] = parents.get(code)
    channels = aggregate(session, filters, "channel", now, live)
    for row in channels:
        row["channel"] = row.pop("key")
    periods = fill_periods(aggregate(session, filters, grain, now, live), grain,
                           filters.since, filters.until)
    for row in periods:
        row["period"] = row.pop("key")
    return {"totals": totals, "agencies": agencies, "channels": channels,
            "periods": periods, "grain": grain, "generated_at": now}
