"""Tenant isolation: which reports a caller may see, and which it may change."""
import functools
import re
import uuid

import sqlalchemy as sa

from hub.errors import Problem, not_found
from hub.extensions import db
from hub.models import Agency, Report, ReportAgency
from hub.services import listing, representations_sql

_TRACKING = re.compile(r"^\d{2,20}$")


def scope(principal) -> frozenset | None:
    """The agency codes a client acts for: its agency and every unit below it (a
    regency's client covers its OPDs). None for national clients, who cover everything."""
    if principal.is_national:
        return None
    memo = db.session.info.setdefault("agency_scopes", {})
    if principal.agency not in memo:
        # The agency's subtree in one recursive query: a request pays for its own few
        # codes, not for loading the whole directory (hot on every read), and the query
        # is built once and run as a prepared statement (building it through the ORM each
        # time was a tenth of a list request).
        if db.session.autoflush:  # as the ORM query did: an agency added in this transaction
            db.session.flush()
        memo[principal.agency] = frozenset(row[0] for row in listing.run_prepared(
            db.session, _subtree_of_caller(), {"agency": principal.agency}))
    return memo[principal.agency]


@functools.cache
def _subtree_of_caller() -> sa.Select:
    return subtree_of(sa.bindparam("agency", type_=Agency.code.type))


def subtree_of(agency) -> sa.Select:
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
    """A report by key with its refs and attachments (listing.with_children) and whether
    the caller's agency (bound as `agency`) covers the responsible agency: one round trip.
    Built once per shape and bound per call; building it cost as much as running it."""
    return listing.with_children(_by_key(national, by_tracking).subquery("page"))


@functools.cache
def _read_by_key_json(national: bool, admin: bool, by_tracking: bool) -> sa.Select:
    """_read_by_key with the report's JSON written by PostgreSQL (representations_sql):
    (report_json text, version), nothing when the caller may not see it."""
    page = _by_key(national, by_tracking).subquery("page")
    text = representations_sql.report_json_sql(
        "page", full_reporter=admin, responsible=None if national else "page.covered")
    return sa.select(sa.literal_column(text), page.c.version)


def _by_key(national: bool, by_tracking: bool) -> sa.Select:
    """listing.SHOWN of the report by key (bound as `key`) and `covered`: whether the
    caller's agency (bound as `agency`) covers the responsible agency; for a caller of an
    agency, only if its agency is or was responsible for the report."""
    key = Report.tracking_id if by_tracking else Report.id
    found = sa.select(*listing.SHOWN).where(key == sa.bindparam("key"))
    if national:
        return found.add_columns(sa.true().label("covered"))
    # Up the tree from each agency the report has had, not down from the caller's:
    # a few primary-key probes whatever the size of the directory. `current` marks
    # the chain that starts at the agency responsible now (privacy).
    report = found.subquery("by_key")
    up = (sa.select(ReportAgency.agency_code.label("code"),
                    (ReportAgency.agency_code == report.c.agency_code).label("current"))
          .join(report, ReportAgency.report_id == report.c.id)
          .cte("agency_chain", recursive=True))
    # UNION, not UNION ALL: a directory with a cycle in it still ends the walk.
    up = up.union(sa.select(Agency.parent_code, up.c.current)
                  .join(up, Agency.code == up.c.code)
                  .where(Agency.parent_code.is_not(None)))
    caller = up.c.code == sa.bindparam("agency", type_=Agency.code.type)
    page = found.add_columns(sa.exists().where(caller, up.c.current).label("covered"))
    return page.where(sa.exists().where(caller))


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
    # The codes as values (scope(), one small query first), not a recursive CTE inside
    # the statement: the planner then knows how few they are and walks a list's
    # (updated_at, id) index, stopping at the page's end. From a CTE it guesses hundreds
    # and sorts every report of the tenant. (A single report by key, _read_by_key, walks
    # up the tree from the report instead.)
    return stmt.where(sa.exists().where(ReportAgency.report_id == column,
                                        ReportAgency.agency_code.in_(scope(principal))))


def _key(ident: str):
    """A hub id (UUID) or a tracking id; anything else cannot name a report (404)."""
    try:
        return uuid.UUID(ident)
    except ValueError:
        if not _TRACKING.match(ident):
            raise not_found() from None
        return ident


def get_report(session, ident: str, principal, *, for_update: bool = False) -> Report:
    """By hub id or tracking id; another agency's report is 404, exactly like a missing one."""
    key = _key(ident)
    stmt = visible(principal).where(
        (Report.id if isinstance(key, uuid.UUID) else Report.tracking_id) == key)
    if for_update:
        stmt = stmt.with_for_update(of=Report)
    report = session.execute(stmt).scalar_one_or_none()
    if report is None:
        raise not_found()
    return report


def read_report(session, ident: str, principal):
    """get_report for the hot GET: a read-only view (listing.views) with its refs and
    attachments, the caller's right to see it and whether its agency is responsible
    (privacy), all in one round trip."""
    key = _key(ident)
    stmt = _read_by_key(principal.is_national, not isinstance(key, uuid.UUID))
    found = listing.views(listing.run_prepared(
        session, stmt, {"key": key, "agency": principal.agency}), extra=("covered",))
    if not found:
        raise not_found()
    learn(principal, found[0].agency_code, found[0].covered)
    return found[0]


def read_report_json(session, ident: str, principal, *,
                     ends_read: bool = False) -> tuple[str, str]:
    """read_report for PostgreSQL, the report already in JSON (report_json's, written by
    the database): (JSON text, ETag). Another agency's report is 404 as in read_report.
    `ends_read`: see listing.run_prepared."""
    key = _key(ident)
    stmt = _read_by_key_json(principal.is_national, principal.is_admin,
                             not isinstance(key, uuid.UUID))
    found = listing.run_prepared(session, stmt, {"key": key, "agency": principal.agency},
                                 ends_read=ends_read)
    if not found:
        raise not_found()
    text, version = found[0]
    return text, f'"v{version}"'


def require_responsible(principal, report) -> None:
    """Only the agency now responsible (or a national client) changes a report."""
    if in_scope(principal, report.agency_code):
        return
    raise Problem(403, "Not the responsible agency",
                  f"This report is now handled by '{report.agency_code}'; your agency can "
                  "read it but no longer change it.", slug="not-responsible")
