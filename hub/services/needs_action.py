"""What a liaison officer has to act on now, in their agency's scope: connectors that
stopped or keep failing (and why, in words they can act on), records held for a mapping,
and reports past their deadline or due within a day.

The officers' home page (hub/ui/home.py) and the navigation's badges read these; the
reports list filters on the same deadline conditions, so a count on the home page is the
number of rows its "see all" link lists.

Tenancy is the rest of the UI's (hub.services.access): a connector is the caller's if its
agency is in the caller's scope; a report needs the caller's action if the agency
responsible for it now is (the dashboard counts overdue reports the same way), and it is
one the caller may read besides.
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from hub.models import Connector, HeldRecord, Report
from hub.services import access

# Resolved, closed and rejected reports have no deadline an officer can still miss (the
# dashboard's overdue count leaves out the same three).
SETTLED = ("resolved", "closed", "rejected")
DUE_SOON = timedelta(hours=24)
REPORTS_SHOWN = 10

# -- why a connector stopped ------------------------------------------------------------

# The sync engine's and the connectors' own words (connectors/http.py, hub/egress.py,
# hub/sync/runner.py), from the most specific: each maps to a sentence and what to do.
_CAUSES = (
    ("auth", re.compile(r"refused .*\(http 40[13]\b|check the connector's secrets|"
                        r"refused the source's credentials")),
    ("permission", re.compile(r"does not let the source's account read")),
    ("query", re.compile(r"rejected a stream's query|is not a plain column|"
                         r"the query must be one statement")),
    ("destination", re.compile(
        r"is not a destination|is not among the hosts the operator allows|"
        r"only http and https urls|credentials in the url|not a valid url|"
        r"the url has no host")),
    ("unreachable", re.compile(r"cannot reach|did not answer within|"
                               r"cannot use the local database|a query ran longer than")),
    ("server_error", re.compile(r"failed \(http (5\d\d|429)\b")),
    ("rejected", re.compile(r"rejected the request")),
    ("bad_answer", re.compile(r"answered with invalid|answered neither|unexpected answer|"
                              r"expected a list|is not a list|could not be parsed|"
                              r"answered without")),
    ("paging", re.compile(r"repeats (the )?(records|items|complaints)|more than max_pages")),
    ("file", re.compile(r"recap file .* not found|inbox folder .* not found")),
    ("unseen", re.compile(r"not everything was read")),
    ("hub", re.compile(r"the hub's database|the hub stopped this run|another worker took "
                       r"over|the worker running it stopped")),
)


@dataclass(frozen=True)
class ConnectorProblem:
    """A connector that needs a person: `state` is how it stands (circuit_open: the hub
    paused it after failed runs; paused: a person paused it; failing: its runs fail and
    the hub keeps retrying; partial: its last run could not read everything), `cause`
    what the errors say went wrong (None when nothing failed)."""
    connector: Connector
    state: str
    cause: str | None


def cause_of(text: str | None) -> str | None:
    """The kind of failure an error text describes ("other" for one the hub does not
    know), or None for no error."""
    if not text:
        return None
    lowered = text.lower()
    for cause, pattern in _CAUSES:
        if pattern.search(lowered):
            return cause
    return "other"


_CIRCUIT = re.compile(r"^paused after (\d+) failed run\(s\) in a row; last error: (.*)$", re.S)
_BY_PERSON = re.compile(r"^paused by (.+)$")


@dataclass(frozen=True)
class PauseReason:
    """Why a connector is paused, told apart: `circuit` (the hub paused it after
    `failures` failed runs, `error` the last), `person` (paused from the UI or API
    without a reason, `who` did it) or `words` (the reason a person typed)."""
    kind: str
    failures: int = 0
    error: str = ""
    who: str = ""


def pause_of(conn: Connector) -> PauseReason:
    """The runner and the pause actions write these reasons (hub/sync/runner.py,
    hub/ui/views.py, hub/api/connectors.py); anything else is a person's own words."""
    text = conn.paused_reason or ""
    if match := _CIRCUIT.match(text):
        return PauseReason("circuit", failures=int(match.group(1)), error=match.group(2))
    if match := _BY_PERSON.match(text):
        return PauseReason("person", who=match.group(1))
    return PauseReason("words")


def problem_of(conn: Connector) -> ConnectorProblem | None:
    """How a connector stands, or None if it runs as it should."""
    if conn.paused:
        state = "circuit_open" if conn.failure_streak else "paused"
    elif conn.failure_streak:
        state = "failing"
    elif conn.last_error:
        state = "partial"
    else:
        return None
    # A person's pause reason is their own words; the hub's names the last error.
    cause = cause_of(conn.last_error) or (
        cause_of(conn.paused_reason) if state == "circuit_open" else None)
    return ConnectorProblem(conn, state, cause)


def _connectors_in_scope(principal) -> sa.Select:
    stmt = sa.select(Connector)
    covered = access.scope(principal)
    if covered is not None:
        stmt = stmt.where(Connector.agency_code.in_(sorted(covered)))
    return stmt


def _needs_a_person():
    return sa.or_(Connector.paused.is_(True), Connector.failure_streak > 0,
                  Connector.last_error.is_not(None))


def connector_problems(session, principal) -> list[ConnectorProblem]:
    """The caller's connectors that stopped or fail, stopped ones first."""
    rows = session.execute(_connectors_in_scope(principal).where(_needs_a_person())
                           .order_by(Connector.name, Connector.id)).scalars()
    found = [p for p in map(problem_of, rows) if p is not None]
    order = {"circuit_open": 0, "paused": 1, "failing": 2, "partial": 3}
    return sorted(found, key=lambda p: order[p.state])


# -- held records -------------------------------------------------------------------------

@dataclass(frozen=True)
class HeldSummary:
    """One connector's held records: `values` distinct local values waiting for a
    mapping, and how many records are held for each reason (unmapped, waiting, error)."""
    connector: Connector
    values: int
    by_reason: dict

    @property
    def records(self) -> int:
        return sum(self.by_reason.values())


def held_summaries(session, principal) -> list[HeldSummary]:
    """The caller's connectors that hold records, most held first."""
    scoped = _connectors_in_scope(principal).subquery()
    counts: dict = {}
    for connector_id, reason, n in session.execute(
            sa.select(HeldRecord.connector_id, HeldRecord.reason, sa.func.count())
            .join(scoped, scoped.c.id == HeldRecord.connector_id)
            .group_by(HeldRecord.connector_id, HeldRecord.reason)):
        counts.setdefault(connector_id, {})[reason] = n
    if not counts:
        return []
    values: dict = {}
    # The distinct (field, value) pairs the mapping queue will show: only the small
    # `missing` lists are read, not the records.
    for connector_id, missing in session.execute(
            sa.select(HeldRecord.connector_id, HeldRecord.missing).where(
                HeldRecord.connector_id.in_(sorted(counts)),
                HeldRecord.reason == "unmapped")):
        pairs = values.setdefault(connector_id, set())
        for miss in missing or []:
            if isinstance(miss, dict):
                pairs.add((str(miss.get("field")), str(miss.get("value"))))
    connectors = {c.id: c for c in session.execute(
        sa.select(Connector).where(Connector.id.in_(sorted(counts)))).scalars()}
    out = [HeldSummary(connectors[cid], len(values.get(cid, ())), by_reason)
           for cid, by_reason in counts.items()]
    return sorted(out, key=lambda s: (-s.records, s.connector.name, s.connector.id))


# -- deadlines ----------------------------------------------------------------------------

def overdue(now: datetime):
    """An open report whose running SLA clock has passed (as the dashboard counts it)."""
    return sa.and_(Report.status.notin_(SETTLED), Report.due_at.is_not(None),
                   Report.due_at < now)


def due_soon(now: datetime):
    """An open report whose deadline falls within the next 24 hours."""
    return sa.and_(Report.status.notin_(SETTLED), Report.due_at >= now,
                   Report.due_at < now + DUE_SOON)


def responsible_now(principal, stmt: sa.Select) -> sa.Select:
    """The reports of `stmt` the caller may read and whose responsible agency is in the
    caller's scope: those whose deadline is the caller's to keep."""
    stmt = access.visible(principal, stmt)
    covered = access.scope(principal)
    if covered is not None:
        stmt = stmt.where(Report.agency_code.in_(sorted(covered)))
    return stmt


@dataclass(frozen=True)
class Deadlines:
    overdue: int
    due_soon: int
    first: list  # the most urgent reports (overdue first, then due soon), oldest due first


def deadlines(session, principal, now: datetime, limit: int = REPORTS_SHOWN) -> Deadlines:
    late, soon = deadline_counts(session, principal, now)
    first = []
    if late or soon:
        first = session.execute(responsible_now(principal, sa.select(Report)).where(
            sa.or_(overdue(now), due_soon(now)))
            .order_by(Report.due_at, Report.id).limit(limit)).scalars().all()
    return Deadlines(late, soon, first)


def deadline_counts(session, principal, now: datetime) -> tuple[int, int]:
    """(overdue, due within 24 h) in one query."""
    row = session.execute(responsible_now(principal, sa.select(
        sa.func.count(sa.case((overdue(now), 1))),
        sa.func.count(sa.case((due_soon(now), 1))))
        .select_from(Report)).where(Report.due_at < now + DUE_SOON,
                                    Report.status.notin_(SETTLED))).one()
    return int(row[0]), int(row[1])


# -- everything, and the badges -----------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    """The navigation's badges: connectors needing a person (stopped, failing or holding
    records), reports overdue or due within a day, and their sum."""
    connectors: int
    reports: int

    @property
    def total(self) -> int:
        return self.connectors + self.reports


def counts(session, principal, now: datetime) -> Counts:
    scoped = _connectors_in_scope(principal)
    failing = {cid for (cid,) in session.execute(
        scoped.with_only_columns(Connector.id).where(_needs_a_person()))}
    holding = _holding(session, scoped)
    late, soon = deadline_counts(session, principal, now)
    return Counts(len(failing | holding), late + soon)


def _holding(session, scoped: sa.Select) -> set:
    sub = scoped.subquery()
    return set(session.execute(sa.select(HeldRecord.connector_id).distinct()
                               .join(sub, sub.c.id == HeldRecord.connector_id)).scalars())
