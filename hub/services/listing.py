"""Reports for the hot read endpoints as plain rows, without the ORM's bookkeeping.

A page of 100 reports loaded as ORM objects (identity map, instance state, two selectin
loads with 100 ids bound each) cost more than everything else in the list request, and
one report by key paid the same per-object toll. These reads only serialise, so plain
rows do: the reports, their refs and attachments in one query, grouped into
attribute-style views that representations.report_json takes like a Report
(tests/services/test_listing.py keeps the two equal).
"""
import functools
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from hub.models import Attachment, Report, ReportAgency, ReportExternalRef
from hub.services.representations_sql import report_json_sql

_REF = ("id", "system", "external_id")
_ATTACHMENT = ("id", "filename", "content_type", "size")
# What a report's representation shows (representations.report_dict), no more: the driver
# builds a description of every column of every result, a seventh of a read by key.
SHOWN = [Report.__table__.c[name] for name in (
    "id", "tracking_id", "title", "body", "category_code", "classification", "channel",
    "location_text", "region_code", "lat", "lon", "occurred_at", "submitted_at",
    "anonymous", "confidential", "reporter_name", "reporter_phone", "reporter_email",
    "agency_code", "status", "due_at", "version", "created_at", "updated_at")]
_COLUMNS = [c.key for c in SHOWN]


def with_children(page: sa.Subquery, order_by=()) -> sa.Select:
    """`page` (a subquery of the SHOWN columns, maybe more after them) with each report's
    refs and attachments joined on, ordered by `order_by` (names of page columns), then
    by each relationship's own order."""
    ref, att = ReportExternalRef.__table__, Attachment.__table__
    return (
        sa.select(page, *(ref.c[name].label(f"ref_{name}") for name in _REF),
                  *(att.c[name].label(f"att_{name}") for name in _ATTACHMENT))
        .select_from(page.outerjoin(ref, ref.c.report_id == page.c.id).outerjoin(
            att, sa.and_(att.c.report_id == page.c.id, att.c.response_id.is_(None))))
        .order_by(*[page.c[name] for name in order_by], ref.c.id, att.c.created_at))


def views(rows, extra=()) -> list[SimpleNamespace]:
    """Group with_children() rows into one view per report, in row order. `extra` names
    the page's columns beyond SHOWN, kept on the view too. Rows are read by position, so
    plain driver tuples (run_prepared) serve as well as SQLAlchemy rows."""
    out, by_id, seen = [], {}, set()
    names = _COLUMNS + list(extra)
    width = len(names)
    ref_at, att_at = width, width + len(_REF)
    for row in rows:
        view = by_id.get(row[0])
        if view is None:
            view = SimpleNamespace(**dict(zip(names, row[:width], strict=True)),
                                   external_refs=[], attachments=[])
            view.etag = f'"v{view.version}"'
            by_id[row[0]] = view
            out.append(view)
        # A report with two refs and two attachments comes back as four rows.
        ref_id, system, external_id = row[ref_at:att_at]
        if ref_id is not None and ("ref", ref_id) not in seen:
            seen.add(("ref", ref_id))
            view.external_refs.append(SimpleNamespace(system=system, external_id=external_id))
        attachment = row[att_at:]
        if attachment[0] is not None and ("att", attachment[0]) not in seen:
            seen.add(("att", attachment[0]))
            view.attachments.append(SimpleNamespace(report_id=row[0], **dict(
                zip(_ATTACHMENT, attachment, strict=True))))
    return out


def run_prepared(session, stmt: sa.Select, params: dict, *, plan_each_time: bool = False):
    """Rows of a fixed, hot statement. On PostgreSQL straight on the driver, as a prepared
    statement: SQLAlchemy's result layer asks psycopg for a description of every column
    on every call, a fifth of a read by key, and these rows need no processing (psycopg
    returns UUIDs and aware datetimes itself). Elsewhere through SQLAlchemy. The values
    go to the driver as they are: no SQLAlchemy type processes them.

    A prepared statement outlives the request only if the transaction ends with COMMIT
    (finish_read). `plan_each_time`: for a statement whose best plan depends on its
    values, still parsed once per connection but planned for each call's values, as an
    unprepared statement is: after five calls PostgreSQL may settle on a generic plan,
    and one made for a tenant with every report (walk the (updated_at, id) index) walks
    the whole index for a tenant with a few. The SET LOCAL goes in the same round trip."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(stmt, params)
    sql, defaults = _compiled(stmt, connection.dialect)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        if plan_each_time:
            with driver.pipeline():
                cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
                cursor.execute(sql, {**defaults, **params}, prepare=True)
        else:
            cursor.execute(sql, {**defaults, **params}, prepare=True)
        return cursor.fetchall()


def finish_read(session) -> None:
    """End a read's transaction with COMMIT. Closing the session would ROLLBACK, and on a
    ROLLBACK psycopg deallocates every statement prepared on the connection (a rollback
    may have dropped what they refer to): every read then parsed and planned its
    statements afresh and paid a DEALLOCATE ALL round trip. A read changed nothing, so
    COMMIT ends it all the same and keeps them."""
    session.commit()


@functools.lru_cache(maxsize=64)
def _compiled(stmt, dialect) -> tuple[str, dict]:
    # Callers pass statements they built once and keep (a Select hashes by identity).
    compiled = stmt.compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


def report_views(session, stmt: sa.Select, order_by: tuple, limit: int) -> list:
    """The first `limit` reports `stmt` (a filtered select of Report) finds in the order
    of `order_by` (Report columns), as views."""
    page = (stmt.with_only_columns(*SHOWN).order_by(*order_by)
            .limit(limit).subquery("page"))
    return views(session.connection().execute(
        with_children(page, [c.key for c in order_by])))


def builds_json(session) -> bool:
    """Whether the database writes the hot reads' JSON itself (PostgreSQL; the SQLite
    default keeps the Python path: views and representations.report_json)."""
    return session.get_bind().dialect.name == "postgresql"


# The list's filters: query argument -> the column it must equal.
FILTERS = {"status": Report.status, "agency": Report.agency_code,
           "category": Report.category_code, "channel": Report.channel}


@functools.lru_cache(maxsize=512)
def _page_json(national: bool, admin: bool, filters: tuple, since: bool, after: bool):
    """The list's statement for one shape of request (the caller's kind, which filters,
    updated_since and cursor are given), every value bound at run time: building and
    compiling the filtered statement was a sixth of a list request, and there are at most
    2 x 2 x 16 x 2 x 2 shapes. Rows: (report_json text, updated_at, id), in page order."""
    scope = sa.bindparam("scope", type_=postgresql.ARRAY(ReportAgency.agency_code.type))
    stmt = sa.select(*SHOWN)
    if not national:
        # access.visible with the caller's agency codes (access.scope) as one array, and
        # whether they cover the agency now responsible (reporter_for's in_scope; no
        # agency yet is NULL, so not covered).
        stmt = stmt.add_columns((Report.agency_code == sa.any_(scope)).label("responsible"))
        stmt = stmt.where(sa.exists().where(ReportAgency.report_id == Report.id,
                                            ReportAgency.agency_code == sa.any_(scope)))
    for field in filters:
        stmt = stmt.where(FILTERS[field] == sa.bindparam(field))
    if since:
        stmt = stmt.where(Report.updated_at >= sa.bindparam("updated_since"))
    if after:
        stmt = stmt.where(sa.tuple_(Report.updated_at, Report.id) > sa.tuple_(
            sa.bindparam("after_updated_at"), sa.bindparam("after_id")))
    page = (stmt.order_by(Report.updated_at, Report.id).limit(sa.bindparam("limit"))
            .subquery("page"))
    text = report_json_sql("page", full_reporter=admin,
                           responsible=None if national else "page.responsible")
    return (sa.select(sa.literal_column(text), page.c.updated_at, page.c.id)
            .order_by(page.c.updated_at, page.c.id))


def page_json(session, principal, scope, filters: dict, updated_since=None, after=None,
              limit: int = 100) -> list[tuple]:
    """The first `limit` reports the caller may see (`scope`: access.scope's codes, None
    for national callers) matching `filters` (FILTERS' names), changed at or after
    `updated_since`, after the keyset `after` (updated_at, id), in (updated_at, id) order:
    (report_json text, updated_at, id) each, built by PostgreSQL."""
    stmt = _page_json(principal.is_national, principal.is_admin, tuple(sorted(filters)),
                      updated_since is not None, after is not None)
    params = {**filters, "limit": limit}
    if scope is not None:
        params["scope"] = list(scope)
    if updated_since is not None:
        params["updated_since"] = updated_since
    if after is not None:
        params["after_updated_at"], params["after_id"] = after
    return run_prepared(session, stmt, params, plan_each_time=True)
