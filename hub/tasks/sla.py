"""SLA jobs: flag missed deadlines, auto-close resolved reports, recompute deadlines.

All three are safe to run twice and side by side (several `hub scheduler`s, RQ retries):
- a missed deadline is a unique sla_breaches row (report, clock, due_at), inserted with
  ON CONFLICT DO NOTHING; only the transaction whose insert returned the row records the
  `report.overdue` event, so the event exists exactly once;
- auto-close claims reports with FOR UPDATE SKIP LOCKED and re-checks them locked;
- recomputing a deadline is idempotent.
"""
import logging
from types import SimpleNamespace

import sqlalchemy as sa

from hub import sqlite
from hub.models import Report, SlaBreach, utcnow
from hub.services import events, sla, storage

log = logging.getLogger(__name__)
BATCH = 500


class _System:
    """The principal of changes the hub makes by itself (events show actor "system")."""
    client_id = "system"
    agency = None
    is_national = True
    is_admin = True


@sqlite.writing()
def flag_overdue(session, now=None, batch: int = BATCH) -> int:
    """Record one `report.overdue` event per missed deadline not flagged yet. Commits
    per batch; returns how many this call flagged."""
    now = now or utcnow()
    clock = sla.clock_sql().label("clock")
    flagged = 0
    while True:
        already = sa.exists().where(SlaBreach.report_id == Report.id,
                                    SlaBreach.clock == clock.element,
                                    SlaBreach.due_at == Report.due_at)
        rows = session.execute(
            sa.select(Report.id, clock, Report.due_at, Report.agency_code, Report.version)
            .where(Report.status.in_(sla.OVERDUE_STATUSES), Report.due_at.is_not(None),
                   Report.due_at < now, ~already)
            .order_by(Report.due_at, Report.id).limit(batch)).all()
        if not rows:
            return flagged
        won = session.execute(
            storage.insert(session, SlaBreach)
            .values([{"report_id": r.id, "clock": r.clock, "due_at": r.due_at,
                      "agency_code": r.agency_code, "detected_at": now} for r in rows])
            .on_conflict_do_nothing(index_elements=["report_id", "clock", "due_at"])
            .returning(SlaBreach.report_id)).scalars().all()
        mine = set(won)  # a report has one running clock, so its id names the row
        for r in rows:
            if r.id in mine:
                events.record(session, SimpleNamespace(id=r.id, version=r.version),
                              "report.overdue", actor="system", actor_agency=r.agency_code,
                              data={"clock": r.clock, "due_at": _iso(r.due_at),
                                    "agency": r.agency_code})
        session.commit()
        flagged += len(mine)
        if len(rows) < batch:
            return flagged


@sqlite.writing()
def auto_close(session, now=None, batch: int = BATCH) -> int:
    """Close resolved reports whose auto-close deadline passed with no dispute (a dispute
    reopens the report, so a report still `resolved` was not disputed)."""
    from hub.services.reports import Actor, apply_status
    now = now or utcnow()
    actor = Actor(_System())
    closed = 0
    while True:
        stmt = (sa.select(Report).where(Report.status == "resolved",
                                        Report.due_at.is_not(None), Report.due_at < now)
                .order_by(Report.due_at, Report.id).limit(batch))
        stmt = storage.claim(session, stmt)
        reports = session.execute(stmt).scalars().all()
        for report in reports:
            clock, due = sla.running(session, report)
            if clock != "auto_close" or due is None or due >= now:
                # The calendar changed since due_at was stored: keep the true deadline.
                report.due_at = due
                continue
            days = sla.settings_for(session, report.agency_code).days["auto_close"]
            apply_status(session, report, "closed", actor,
                         note=f"closed automatically: no dispute within {days} working "
                              "days of resolution")
            closed += 1
        session.commit()
        if len(reports) < batch:
            return closed


@sqlite.writing()
def recompute(session, agency_code=None, batch: int = BATCH) -> int:
    """Recompute due_at of the open reports an agency's settings or holidays govern (the
    agency and the units below it; every open report when agency_code is None). Commits
    per batch; returns how many deadlines changed.

    Rows another transaction holds are skipped: that transaction is changing the report
    and computes its deadline itself."""
    where = [Report.status.notin_(("closed", "rejected"))]
    if agency_code is not None:
        where.append(Report.agency_code.in_(sorted(sla.subtree(session, agency_code))))
    changed, after = 0, None
    while True:
        stmt = sa.select(Report).where(*where).order_by(Report.id).limit(batch)
        if after is not None:
            stmt = stmt.where(Report.id > after)
        stmt = storage.claim(session, stmt)
        reports = session.execute(stmt).scalars().all()
        for report in reports:
            due = sla.due_at(session, report)
            if due != report.due_at:
                report.due_at = due
                changed += 1
        session.commit()
        if len(reports) < batch:
            return changed
        after = reports[-1].id


@sqlite.writing()
def scan(session, now=None) -> dict:
    """One pass of the scheduled SLA job."""
    return {"overdue": flag_overdue(session, now), "closed": auto_close(session, now)}


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


# --- RQ entry points (ids only; the database holds the state) ----------------------------

def scan_job():
    from hub.extensions import db
    from hub.tasks.context import app_context
    with app_context():
        result = scan(db.session)
        if any(result.values()):
            log.info("SLA scan: %s", result)
        return result


def recompute_job(agency_code=None):
    from hub.extensions import db
    from hub.tasks.context import app_context
    with app_context():
        return recompute(db.session, agency_code)
