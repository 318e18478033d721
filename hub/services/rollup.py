"""The report counts kept beside the reports (hub.models.rollup), in the same transaction
as the writes that change them, without database triggers.

Every ORM flush that adds, changes or deletes a Report adds its difference (the counts
the report stood for before, taken away; the ones it stands for now, added); the bulk
writer (hub.services.ingest.insert_rows) adds the rows it copies. The differences go in
as INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n, so concurrent writers add up
instead of overwriting each other. `rebuild` recounts everything from the reports.
"""
from collections import Counter as Tally

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from hub.models import Report, ReportDailyCount, ReportStatusCount
from hub.services import sla, storage

TZ_NAME = "Asia/Jakarta"
UTC_OFFSET_HOURS = 7  # Asia/Jakarta has no daylight saving time
TRACKED = ("agency_code", "submitted_at", "channel", "status", "dispositioned_at",
           "first_response_at", "resolved_at")
MEASURES = ("received", "dispositioned", "responded", "resolved")


def local(pg: bool, column):
    return sa.func.timezone(TZ_NAME, column) if pg else \
        sa.func.datetime(column, f"+{UTC_OFFSET_HOURS} hours")


def local_date(pg: bool, column):
    return sa.cast(local(pg, column), sa.Date) if pg else \
        sa.func.date(column, f"+{UTC_OFFSET_HOURS} hours")


def _counts(state: dict):
    """(daily key, measures), (status key) that one report in `state` stands for."""
    agency = state["agency_code"] or ""
    day = state["submitted_at"].astimezone(sla.JAKARTA).date()
    status = state["status"] or "received"
    measures = (1, state["dispositioned_at"] is not None,
                state["first_response_at"] is not None,
                state["resolved_at"] is not None or status == "closed")
    return (agency, day, state["channel"]), tuple(int(m) for m in measures), (agency, status)


class Difference:
    def __init__(self):
        self.daily: dict = {}
        self.status = Tally()

    def add(self, state: dict, sign: int) -> None:
        key, measures, status_key = _counts(state)
        current = self.daily.get(key, (0,) * len(MEASURES))
        self.daily[key] = tuple(c + sign * m for c, m in zip(current, measures, strict=True))
        self.status[status_key] += sign

    def write(self, session) -> None:
        daily = [{"agency_code": a, "day": d, "channel": c,
                  **dict(zip(MEASURES, m, strict=True))}
                 for (a, d, c), m in sorted(self.daily.items()) if any(m)]
        status = [{"agency_code": a, "status": s, "n": n}
                  for (a, s), n in sorted(self.status.items()) if n]
        connection = session.connection()
        # Sorted keys: concurrent writers lock shared rows in one order (no deadlock).
        if daily:
            connection.execute(storage.add_counts(
                session, ReportDailyCount.__table__, MEASURES), daily)
        if status:
            connection.execute(storage.add_counts(
                session, ReportStatusCount.__table__, ("n",)), status)


def add_inserted(session, rows: list[dict]) -> None:
    """Count report rows written without the ORM (the bulk writer)."""
    difference = Difference()
    for row in rows:
        difference.add({name: row.get(name) for name in TRACKED}, +1)
    difference.write(session)


def _before(report) -> dict:
    inspected = sa.inspect(report)
    state = {}
    for name in TRACKED:
        history = inspected.attrs[name].history
        state[name] = history.deleted[0] if history.deleted else getattr(report, name)
    return state


def _now(report) -> dict:
    return {name: getattr(report, name) for name in TRACKED}


@sa_event.listens_for(Session, "after_flush")
def _count_flushed(session, _context):
    difference = Difference()
    for report in session.new:
        if isinstance(report, Report):
            difference.add(_now(report), +1)
    for report in session.dirty:
        if isinstance(report, Report) and session.is_modified(report):
            before, now = _before(report), _now(report)
            if before != now:
                difference.add(before, -1)
                difference.add(now, +1)
    for report in session.deleted:
        if isinstance(report, Report):
            difference.add(_before(report), -1)
    if difference.daily or difference.status:
        difference.write(session)


def _keep_old_value(target, value, oldvalue, initiator):
    return value


# The value a change replaces must be known to take its counts away, even when it was
# never loaded (active history loads it before the change).
for _name in TRACKED:
    sa_event.listen(getattr(Report, _name), "set", _keep_old_value, active_history=True,
                    retval=True)


def rebuild(session) -> dict:
    """Recount both tables from the reports; returns {"days": rows, "statuses": rows}."""
    pg = storage.is_postgresql(session)
    storage.transaction_lock(session, "report-counts-rebuild")
    daily, status = ReportDailyCount.__table__, ReportStatusCount.__table__
    session.execute(sa.delete(daily))
    session.execute(sa.delete(status))
    agency = sa.func.coalesce(Report.agency_code, "")
    day = local_date(pg, Report.submitted_at)

    def count(cond):
        return sa.func.count(sa.case((cond, 1)))

    session.execute(sa.insert(daily).from_select(
        ["agency_code", "day", "channel", *MEASURES],
        sa.select(agency, day, Report.channel, sa.func.count(),
                  count(Report.dispositioned_at.isnot(None)),
                  count(Report.first_response_at.isnot(None)),
                  count(sa.or_(Report.resolved_at.isnot(None), Report.status == "closed")))
        .group_by(agency, day, Report.channel)))
    session.execute(sa.insert(status).from_select(
        ["agency_code", "status", "n"],
        sa.select(agency, Report.status, sa.func.count()).group_by(agency, Report.status)))
    return {"days": session.execute(sa.select(sa.func.count()).select_from(daily)).scalar(),
            "statuses": session.execute(
                sa.select(sa.func.count()).select_from(status)).scalar()}


def status_counts(session) -> dict:
    """{status: reports} over every agency."""
    total = sa.func.sum(ReportStatusCount.n)
    return {status: int(n) for status, n in session.execute(
        sa.select(ReportStatusCount.status, total).group_by(ReportStatusCount.status)
        .having(total != 0).order_by(ReportStatusCount.status))}
