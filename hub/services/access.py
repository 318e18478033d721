"""Tenant isolation: which reports a caller may see, and which it may change."""
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
        tree = (sa.select(Agency.code).where(Agency.code == principal.agency)
                .cte("agency_scope", recursive=True))
        tree = tree.union_all(sa.select(Agency.code).where(Agency.parent_code == tree.c.code))
        found = set(db.session.execute(sa.select(tree.c.code)).scalars())
        # An agency missing from the directory still covers its own reports.
        memo[principal.agency] = frozenset(found | {principal.agency})
    return memo[principal.agency]


def agencies_in_scope(session, principal) -> list:
    """(code, name) of the agencies a caller acts for, by name: the choices of its forms."""
    covered = scope(principal)
    stmt = sa.select(Agency.code, Agency.name).order_by(Agency.name)
    if covered is not None:
        stmt = stmt.where(Agency.code.in_(covered))
    return list(session.execute(stmt))


def in_scope(principal, agency_code) -> bool:
    covered = scope(principal)
    return covered is None or agency_code in covered


def visible(principal, stmt=None, report_id_column=None):
    """Filter a select down to the reports the caller's agency may read: those its agency
    (or a unit below it) is or was responsible for. National clients see all."""
    stmt = stmt if stmt is not None else sa.select(Report)
    if principal.is_national:
        return stmt
    column = report_id_column if report_id_column is not None else Report.id
    return stmt.where(sa.exists().where(ReportAgency.report_id == column,
                                        ReportAgency.agency_code.in_(scope(principal))))


def get_report(session, ident: str, principal, *, for_update: bool = False) -> Report:
    """By hub id or tracking id; another agency's report is 404, exactly like a missing one."""
    try:
        cond = Report.id == uuid.UUID(ident)
    except ValueError:
        if not _TRACKING.match(ident):
            raise not_found()
        cond = Report.tracking_id == ident
    stmt = visible(principal).where(cond)
    if for_update:
        stmt = stmt.with_for_update(of=Report)
    else:
        # Read paths need the refs and attachments anyway: one round trip, not three.
        stmt = stmt.options(joinedload(Report.external_refs), joinedload(Report.attachments))
    report = session.execute(stmt).unique().scalar_one_or_none()
    if report is None:
        raise not_found()
    return report


def require_responsible(principal, report) -> None:
    """Only the agency now responsible (or a national client) changes a report."""
    if in_scope(principal, report.agency_code):
        return
    raise Problem(403, "Not the responsible agency",
                  f"This report is now handled by '{report.agency_code}'; your agency can "
                  "read it but no longer change it.", slug="not-responsible")
