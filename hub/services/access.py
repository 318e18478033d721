"""Tenant isolation: which reports a caller may see, and which it may change."""
import functools
import re
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from hub.errors import Problem, not_found
from hub.extensions import db
from hub.models import Agency, Report, ReportAgency

_TRACKING = re.compile(r"^\d{2,20}$")


def scope(principal) -> frozenset | None:
    """The agency codes a client acts for: its agency and every unit below it (a
    regency's client covers its OPDs). None for national clients, who cover everything."""
    if principal.is_national:
        return None
    memo = db.session.info.setdefault("agency_scopes", {})
    if principal.agency not in memo:
        # The agency's subtree in one recursive query: a request pays for its own few
        # codes, not for loading the whole directory (hot on every read).
        memo[principal.agency] = frozenset(db.session.execute(
            _subtree_of(sa.literal(principal.agency))).scalars())
    return memo[principal.agency]


def _subtree_of(agency) -> sa.Select:
    """The codes of an agency (an SQL expression) and every unit below it, as SQL."""
    # The anchor is the code itself, not its directory row, so an agency missing from the
    # directory still covers its own reports. Cast: PostgreSQL wants the anchor's type
    # to be the column's (varchar), not text.
    anchor = sa.cast(agency, Agency.code.type)
    tree = sa.select(anchor.label("code")).cte("agency_subtree", recursive=True)
    # UNION, not UNION ALL: a directory with a cycle in it still ends the walk.
    tree = tree.union(sa.select(Agency.code).where(Agency.parent_code == tree.c.code))
    return sa.select(tree.c.code)


@functools.cache
def _read_by_key(national: bool, by_tracking: bool) -> sa.Select:
    """A report by key with its refs, attachments and whether the caller's agency
    (bound as `agency`) covers the responsible agency: one round trip. Built once per
    shape and bound per call; building the statement cost as much as running it."""
    key = Report.tracking_id if by_tracking else Report.id
    if national:
        stmt = sa.select(Report, sa.true())
    else:
        codes = _subtree_of(sa.bindparam("agency", type_=Agency.code.type))
        stmt = sa.select(Report, sa.func.coalesce(Report.agency_code.in_(codes), False))
        stmt = stmt.where(sa.exists().where(ReportAgency.report_id == Report.id,
                                            ReportAgency.agency_code.in_(codes)))
    return stmt.where(key == sa.bindparam("key")).options(
        joinedload(Report.external_refs), joinedload(Report.attachments))


def learn(principal, agency_code, covered: bool) -> None:
    """Remember, for this transaction, an in_scope answer a query already gave (the
    privacy rules ask in_scope for every report they show)."""
    if not principal.is_national:
        db.session.info.setdefault("agency_scope_answers", {})[
            (principal.agency, agency_code)] = bool(covered)


def agencies_in_scope(session, principal) -> list:
    """(code, name) of the agencies a caller acts for, by name: the choices of its forms."""
    covered = scope(principal)
    stmt = sa.select(Agency.code, Agency.name).order_by(Agency.name)
    if covered is not None:
        stmt = stmt.where(Agency.code.in_(covered))
    return list(session.execute(stmt))


def in_scope(principal, agency_code) -> bool:
    if principal.is_national:
        return True
    answer = db.session.info.get("agency_scope_answers", {}).get(
        (principal.agency, agency_code))
    return answer if answer is not None else agency_code in scope(principal)


def visible(principal, stmt=None, report_id_column=None):
    """Filter a select down to the reports the caller's agency may read: those its agency
    (or a unit below it) is or was responsible for. National clients see all."""
    stmt = stmt if stmt is not None else sa.select(Report)
    if principal.is_national:
        return stmt
    column = report_id_column if report_id_column is not None else Report.id
    # The codes as values (scope(), one small query first), not a subtree() CTE: the
    # planner then knows how few they are and walks a list's (updated_at, id) index,
    # stopping at the page's end. From a CTE it guesses hundreds and sorts every report
    # of the tenant; that is only right for a single report by key (_read_by_key).
    return stmt.where(sa.exists().where(ReportAgency.report_id == column,
                                        ReportAgency.agency_code.in_(scope(principal))))


def get_report(session, ident: str, principal, *, for_update: bool = False) -> Report:
    """By hub id or tracking id; another agency's report is 404, exactly like a missing one."""
    try:
        key = uuid.UUID(ident)
    except ValueError:
        if not _TRACKING.match(ident):
            raise not_found()
        key = ident
    if for_update:
        cond = (Report.id if isinstance(key, uuid.UUID) else Report.tracking_id) == key
        report = session.execute(visible(principal).where(cond).with_for_update(
            of=Report)).scalar_one_or_none()
        if report is None:
            raise not_found()
        return report
    # Read paths need the refs, the attachments and whether the caller is responsible
    # (privacy) anyway: one round trip, not four.
    row = session.execute(_read_by_key(principal.is_national, not isinstance(key, uuid.UUID)),
                          {"key": key, "agency": principal.agency}).unique().one_or_none()
    if row is None:
        raise not_found()
    report, covered = row
    learn(principal, report.agency_code, covered)
    return report


def require_responsible(principal, report) -> None:
    """Only the agency now responsible (or a national client) changes a report."""
    if in_scope(principal, report.agency_code):
        return
    raise Problem(403, "Not the responsible agency",
                  f"This report is now handled by '{report.agency_code}'; your agency can "
                  "read it but no longer change it.", slug="not-responsible")
