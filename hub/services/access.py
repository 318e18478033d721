"""Tenant isolation: which reports a caller may see, and which it may change."""
import re
import uuid

import sqlalchemy as sa

from hub.errors import Problem, not_found
from hub.models import Report, ReportAgency

_TRACKING = re.compile(r"^\d{2,20}$")


def visible(principal, stmt=None):
    """Filter a select of Report down to what the caller's agency may read.

    A client sees reports its agency is or was responsible for; national clients see all.
    """
    stmt = stmt if stmt is not None else sa.select(Report)
    if principal.is_national:
        return stmt
    return stmt.where(sa.exists().where(ReportAgency.report_id == Report.id,
                                        ReportAgency.agency_code == principal.agency))


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
    report = session.execute(stmt).scalar_one_or_none()
    if report is None:
        raise not_found()
    return report


def require_responsible(principal, report) -> None:
    """Only the agency now responsible (or a national client) changes a report."""
    if principal.is_national or report.agency_code == principal.agency:
        return
    raise Problem(403, "Not the responsible agency",
                  f"This report is now handled by '{report.agency_code}'; your agency can "
                  "read it but no longer change it.", slug="not-responsible")
