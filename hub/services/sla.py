"""Working-day deadlines (LAPOR! rules): which clock runs, and when it is due.

Working days are Monday to Friday in Asia/Jakarta, minus the national holidays (and
cuti bersama) and the agency's own holidays, which an OPD inherits from its regency.
A clock of N working days that starts on some day ends at the end (23:59:59 WIB) of the
Nth working day after that day: the day a report arrives never counts, whatever the time,
and a report that arrives on a Saturday starts its clock on Monday. The date is the
Jakarta date, not the UTC one (a report filed Monday 03:00 WIB is a Monday report even
though it is still Sunday in UTC).

The limits are the national defaults (PermenPANRB 62/2018) unless the agency, or an
agency above it, overrides them (agency_sla_settings, field by field).
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, aliased

from hub.models import (
    SLA_FIELDS,
    TIERS,
    Agency,
    AgencySlaSettings,
    Category,
    Holiday,
    Report,
    ReportSlaTier,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_DAYS = {
    "verify_and_disposition": 3,
    "first_response": 5,
    "resolve": 14,                      # tidak berkadar pengawasan (the default tier)
    "resolve_information_request": 5,
    "resolve_light": 2,                 # ringan
    "resolve_normative": 5,             # normatif
    "resolve_supervision": 60,          # berkadar pengawasan
    "auto_close": 10,
}
NATIONAL = "national"  # the source of a limit nobody overrode
# Statuses whose running clock can be missed (a resolved report's clock is auto-close).
OVERDUE_STATUSES = ("received", "verified", "dispositioned", "in_progress")
END_OF_DAY = time(23, 59, 59)
_MEMO = "sla_memo"


def _memo(session, name: str) -> dict:
    return session.info.setdefault(_MEMO, {}).setdefault(name, {})


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_memo(session, transaction):
    # Settings and holidays change; what this transaction read must not outlive it.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_MEMO, None)


@sa_event.listens_for(Session, "after_flush")
def _forget_memo_on_change(session, flush_context):
    # A transaction that changes settings or holidays sees its own change at once.
    if _MEMO in session.info and any(
            isinstance(obj, (AgencySlaSettings, Holiday, Agency, ReportSlaTier))
            for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_MEMO, None)


# --- agencies: who inherits from whom ---------------------------------------------------

def _lineage_query(seed):
    # One recursive query for the whole chain (a backfill page touches a dozen units, each
    # three levels deep). UNION, not UNION ALL: a cycle in the data repeats a row and so
    # ends the recursion. `seed` picks the agencies to start from.
    up = sa.select(Agency.code, Agency.parent_code).where(seed).cte("lineage_up",
                                                                    recursive=True)
    above = aliased(Agency)
    up = up.union(sa.select(above.code, above.parent_code)
                  .join(up, above.code == up.c.parent_code))
    return sa.select(up.c.code, up.c.parent_code)


_LINEAGE_QUERY = _lineage_query(Agency.code == sa.bindparam("code"))  # built once


def prime_lineages(session, agency_codes) -> None:
    """Learn the lineage of many agencies in one query (a backfill page names a dozen
    units; one recursive query each was a tenth of building the page)."""
    memo = _memo(session, "lineage")
    wanted = {code for code in agency_codes if code is not None and code not in memo}
    if not wanted:
        return
    from hub.services.ingest import among
    parents = dict(session.execute(
        _lineage_query(among(session, Agency.code, sorted(wanted)))).all())
    for code in wanted:
        memo[code] = _chain(code, parents)


def _chain(agency_code, parents: dict) -> tuple:
    chain, code = [], agency_code
    while code is not None and code not in chain:  # a cycle in the data must not hang
        chain.append(code)
        code = parents.get(code)
    return tuple(chain)


def lineage(session, agency_code) -> tuple:
    """The agency and the agencies above it, nearest first; () for no agency."""
    if agency_code is None:
        return ()
    memo = _memo(session, "lineage")
    if agency_code not in memo:
        parents = dict(session.execute(_LINEAGE_QUERY, {"code": agency_code}).all())
        memo[agency_code] = _chain(agency_code, parents)
    return memo[agency_code]


def subtree(session, agency_code) -> set:
    """The agency and every agency below it: those whose clocks its settings govern."""
    memo = _memo(session, "children")  # the whole tree, read once per transaction
    if not memo:
        for code, parent in session.execute(sa.select(Agency.code, Agency.parent_code)):
            memo.setdefault(parent, []).append(code)
    children = memo
    found, stack = {agency_code}, [agency_code]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


# --- settings ---------------------------------------------------------------------------

@dataclass
class Settings:
    agency: str | None
    days: dict
    sources: dict  # limit -> the agency code it comes from, or "national"
    tier_rules: dict = field(default_factory=dict)
    tier_rule_sources: dict = field(default_factory=dict)


def _settings_rows(session) -> dict:
    """Every agency's overrides, read once per transaction: few agencies set any, and a
    page of reports from a dozen units would otherwise read them a dozen times."""
    memo = _memo(session, "settings_rows")
    if not memo:
        memo[None] = {r.agency_code: r for r in session.execute(
            sa.select(AgencySlaSettings)).scalars()}
    return memo[None]


def settings_for(session, agency_code) -> Settings:
    """The limits in force for an agency: its own overrides, else the nearest agency
    above it that set one, else the national default; field by field."""
    memo = _memo(session, "settings")
    if agency_code in memo:
        return memo[agency_code]
    chain = lineage(session, agency_code)
    rows = _settings_rows(session) if chain else {}
    days, sources = {}, {}
    for name in SLA_FIELDS:
        days[name], sources[name] = DEFAULT_DAYS[name], NATIONAL
        for code in chain:
            value = getattr(rows[code], name) if code in rows else None
            if value is not None:
                days[name], sources[name] = value, code
                break
    rules, rule_sources = {}, {}
    for code in reversed(chain):  # nearer agencies last, so their rules win
        for category, tier in ((rows[code].tier_rules or {}) if code in rows else {}).items():
            rules[category], rule_sources[category] = tier, code
    memo[agency_code] = Settings(agency_code, days, sources, rules, rule_sources)
    return memo[agency_code]


def category_rule(session, category_code, rules: dict) -> str | None:
    """The tier of the rule for a category or its nearest parent, or None."""
    if not rules or category_code is None:
        return None
    parents = _memo(session, "category_parents")
    if not parents:
        parents.update(session.execute(sa.select(Category.code, Category.parent_code)).all())
    code, seen = category_code, set()
    while code is not None and code not in seen:
        if code in rules:
            return rules[code]
        seen.add(code)
        code = parents.get(code)
    return None


# --- the calendar -----------------------------------------------------------------------

def _holidays_by_agency(session, year: int) -> dict:
    """{agency code, or None for national: its holiday dates} for one year, read once per
    transaction for all agencies (the table holds a few dozen rows a year)."""
    memo = _memo(session, "holiday_rows")
    if year not in memo:
        found: dict = {}
        for day, code in session.execute(
                sa.select(Holiday.date, Holiday.agency_code).where(
                    Holiday.date >= date(year, 1, 1), Holiday.date <= date(year, 12, 31))):
            found.setdefault(code, set()).add(day)
        memo[year] = found
    return memo[year]


def holidays(session, agency_code, year: int) -> set[date]:
    """Non-working weekdays and weekends alike that are holidays for this agency: the
    national ones and those of the agency or any agency above it."""
    chain = lineage(session, agency_code)
    memo = _memo(session, "holidays")
    key = (chain, year)
    if key not in memo:
        by_agency = _holidays_by_agency(session, year)
        memo[key] = set(by_agency.get(None, ())).union(
            *(by_agency.get(code, ()) for code in chain))
    return memo[key]


def add_working_days(session, start: datetime, days: int, agency_code=None) -> datetime:
    """The end (23:59:59 WIB, returned in UTC) of the `days`-th working day after the
    Jakarta date of `start`."""
    day = start.astimezone(JAKARTA).date()
    # Reports of one page mostly share a day and an agency: count each deadline once.
    memo = _memo(session, "deadlines")
    key = (day, days, agency_code)
    if key not in memo:
        remaining, year, off = days, None, set()
        while remaining > 0:
            day += timedelta(days=1)
            if day.year != year:
                year, off = day.year, holidays(session, agency_code, day.year)
            if day.weekday() < 5 and day not in off:
                remaining -= 1
        memo[key] = datetime.combine(day, END_OF_DAY, JAKARTA).astimezone(timezone.utc)
    return memo[key]


# --- the running clock ------------------------------------------------------------------

def clock_of(report) -> str | None:
    """Which clock runs for a report in its present state (see clock_sql)."""
    status = report.status
    if status in ("received", "verified"):
        return "verify_and_disposition"
    if status == "dispositioned" and report.first_response_at is None:
        return "first_response"
    if status in ("dispositioned", "in_progress"):
        return "resolve"
    if status == "resolved":
        return "auto_close"
    return None


def clock_sql():
    """clock_of as a SQL expression over reports, for the scans."""
    return sa.case(
        (Report.status.in_(("received", "verified")), "verify_and_disposition"),
        (sa.and_(Report.status == "dispositioned", Report.first_response_at.is_(None)),
         "first_response"),
        (Report.status.in_(("dispositioned", "in_progress")), "resolve"),
        (Report.status == "resolved", "auto_close"),
        else_=sa.null())


def report_tier(session, report) -> str | None:
    """The tier the handling agency set on this report, if any."""
    if not isinstance(report, Report) or report.id is None:
        return None  # a draft being built: nobody can have set one yet
    memo = _memo(session, "tiers")
    if report.id in memo:
        return memo[report.id]
    with session.no_autoflush:
        row = session.get(ReportSlaTier, report.id)
    return row.tier if row is not None else None


def prime_tiers(session, report_ids) -> None:
    """Learn the tiers set on many reports in one query (most have none: a get() each
    asked the database once per report of a page)."""
    from hub.services.ingest import among
    memo = _memo(session, "tiers")
    wanted = [i for i in report_ids if i not in memo]
    if not wanted:
        return
    found = dict(session.execute(sa.select(ReportSlaTier.report_id, ReportSlaTier.tier)
                                 .where(among(session, ReportSlaTier.report_id, wanted))).all())
    for report_id in wanted:
        memo[report_id] = found.get(report_id)


def tier_and_source(session, report, settings: Settings) -> tuple[str | None, str]:
    """(tier, where it comes from): a tier set on the report wins; else an information
    request has its own limit (tier None); else the category's rule; else standard."""
    own = report_tier(session, report)
    if own is not None:
        return own, "report"
    if report.classification == "information_request":
        return None, "classification"
    tier = category_rule(session, report.category_code, settings.tier_rules)
    return (tier, "category") if tier is not None else ("standard", "default")


def explain(session, report) -> dict:
    """The running clock and how its deadline was reached: {clock, started_at, limit,
    working_days, limit_source, tier, tier_source, due_at}; clock None when none runs."""
    clock = clock_of(report)
    if clock is None:
        return {"clock": None, "due_at": None}
    settings = settings_for(session, report.agency_code)
    tier = tier_source = None  # tiers only matter to the resolution clock
    if clock == "verify_and_disposition":
        start, limit = report.submitted_at, clock
    elif clock == "first_response":
        start, limit = report.dispositioned_at or report.updated_at, clock
    elif clock == "resolve":
        # Counted from the (latest) disposition; a reopened report is still bound by it.
        start = report.dispositioned_at or report.updated_at
        tier, tier_source = tier_and_source(session, report, settings)
        limit = "resolve_information_request" if tier is None else TIERS[tier]
    else:
        start, limit = report.resolved_at or report.updated_at, clock
    days = settings.days[limit]
    return {"clock": clock, "started_at": start, "limit": limit, "working_days": days,
            "limit_source": settings.sources[limit], "tier": tier, "tier_source": tier_source,
            "due_at": add_working_days(session, start, days, report.agency_code)}


def running(session, report) -> tuple[str | None, datetime | None]:
    """(clock, deadline) of the clock running for this report now, or (None, None)."""
    found = explain(session, report)
    return found["clock"], found["due_at"]


def due_at(session, report) -> datetime | None:
    """The deadline of the clock that is running for this report now, or None."""
    return running(session, report)[1]
