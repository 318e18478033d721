"""Working-day deadlines (LAPOR! rules): which clock runs, and when it is due.

Working days are Monday to Friday in Asia/Jakarta, minus national holidays and the
agency's own. Defaults follow PermenPANRB 62/2018; per-agency overrides come later with
the SLA issue.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hub.models import Holiday

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_DAYS = {
    "verify_and_disposition": 3,
    "first_response": 5,
    "resolve": 14,
    "resolve_information_request": 5,
    "auto_close": 10,
}


def _holidays(session, agency_code, start: date, end: date) -> set[date]:
    cache = session.info.setdefault("holiday_cache", {})
    key = (agency_code, start.year, end.year)
    if key not in cache:
        rows = session.execute(
            sa.select(Holiday.date).where(
                Holiday.date >= date(start.year, 1, 1), Holiday.date <= date(end.year, 12, 31),
                sa.or_(Holiday.agency_code.is_(None), Holiday.agency_code == agency_code))
        ).scalars()
        cache[key] = set(rows)
    return cache[key]


def add_working_days(session, start: datetime, days: int, agency_code=None) -> datetime:
    local = start.astimezone(JAKARTA)
    horizon = local.date() + timedelta(days=days * 3 + 30)
    off = _holidays(session, agency_code, local.date(), horizon)
    current, remaining = local, days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current.date() not in off:
            remaining -= 1
    return current.astimezone(ZoneInfo("UTC"))


def due_at(session, report) -> datetime | None:
    """The deadline of the clock that is running for this report now, or None."""
    agency = report.agency_code
    status = report.status
    if status in ("received", "verified"):
        return add_working_days(session, report.submitted_at,
                                DEFAULT_DAYS["verify_and_disposition"], agency)
    if status == "dispositioned" and report.first_response_at is None:
        return add_working_days(session, report.dispositioned_at or report.updated_at,
                                DEFAULT_DAYS["first_response"], agency)
    if status in ("dispositioned", "in_progress"):
        key = ("resolve_information_request" if report.classification == "information_request"
               else "resolve")
        return add_working_days(session, report.dispositioned_at or report.updated_at,
                                DEFAULT_DAYS[key], agency)
    if status == "resolved":
        return add_working_days(session, report.resolved_at or report.updated_at,
                                DEFAULT_DAYS["auto_close"], agency)
    return None
