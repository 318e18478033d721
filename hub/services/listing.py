"""Reports for the hot read endpoints as plain rows, without the ORM's bookkeeping.

A page of 100 reports loaded as ORM objects (identity map, instance state, two selectin
loads with 100 ids bound each) cost more than everything else in the list request, and
one report by key paid the same per-object toll. These reads only serialise, so plain
rows do: the reports, their refs and attachments in one query, grouped into
attribute-style views that representations.report_json takes like a Report
(tests/services/test_listing.py keeps the two equal).

On PostgreSQL the hot endpoints go further (page_json, access.read_report_json): the
database writes each report's JSON itself (representations_sql) and Python only joins
the texts; grouping rows into views and serialising them had become most of a list
request. The views remain the SQLite default's way (builds_json).
"""
import functools
import json
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from hub.models import Attachment, Report, ReportAgency, ReportExternalRef
from hub.services import storage
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


def run_prepared(session, stmt: sa.Select, params: dict, *, plan_each_time: bool = False,
                 ends_read: bool = False):
    """Rows of a fixed, hot statement. On PostgreSQL straight on the driver, as a prepared
    statement: SQLAlchemy's result layer asks psycopg for a description of every column
    on every call, a fifth of a read by key, and these rows need no processing (psycopg
    returns UUIDs and aware datetimes itself). Elsewhere through SQLAlchemy. The values
    go to the driver as they are: no SQLAlchemy type processes them.

    On PostgreSQL everything the call sends goes in one round trip (a pipeline): the
    transaction's BEGIN when it is the first statement, the SET LOCAL of
    `plan_each_time`, the statement, and the COMMIT of `ends_read`.

    `plan_each_time`: for a statement whose best plan depends on its values: still parsed
    once per connection, but planned for each call's values, as an unprepared statement
    is. After five calls PostgreSQL may settle on a generic plan, and one made for a
    tenant with every report (walk the (updated_at, id) index) walks the whole index for
    a tenant with a few.

    `ends_read`: the request reads nothing more; its transaction ends with COMMIT (the
    session's too). Closing the session would ROLLBACK, and on a ROLLBACK psycopg
    deallocates every statement prepared on the connection (a rollback may have dropped
    what they refer to): every read then parsed and planned its statements afresh, and
    paid a DEALLOCATE ALL round trip. A read changed nothing, so COMMIT ends it all the
    same, and the prepared statements serve the connection's next requests."""
    connection = session.connection()
    if not storage.is_postgresql(connection):
        return connection.execute(stmt, params).all()
    sql, defaults = _compiled(stmt, connection.dialect)
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        with driver.pipeline():
            if plan_each_time:
                cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            cursor.execute(sql, {**defaults, **params}, prepare=True)
            if ends_read:
                driver.commit()
        rows = cursor.fetchall()
    if ends_read:
        session.commit()  # the driver's transaction is over: this sends nothing
    return rows


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
    return storage.is_postgresql(session)


# The list's filters: query argument -> the column it must equal.
FILTERS = {"status": Report.status, "agency": Report.agency_code,
           "category": Report.category_code, "channel": Report.channel}


@functools.lru_cache(maxsize=512)
def _page_json(national: bool, admin: bool, filters: tuple, since: bool, after: bool):
    """The list's statement for one shape of request (the caller's kind, which filters,
    updated_since and cursor are given), every value bound at run time: building and
    compiling the filtered statement was a sixth of a list request, and there are at most
    2 x 2 x 16 x 2 x 2 shapes. Rows: (report_json text,), in page order."""
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
    # The JSON alone: the next cursor is read from the last report's own text (cursor_of),
    # which spares the driver a timestamp and a UUID to parse per row.
    return (sa.select(sa.literal_column(text)).select_from(page)
            .order_by(page.c.updated_at, page.c.id))


def page_json(session, principal, scope, filters: dict, updated_since=None, after=None,
              limit: int = 100, *, ends_read: bool = False) -> list[str]:
    """The first `limit` reports the caller may see (`scope`: access.scope's codes, None
    for national callers) matching `filters` (FILTERS' names), changed at or after
    `updated_since`, after the keyset `after` (updated_at, id), in (updated_at, id) order:
    the text of each one's report_json, written by PostgreSQL. `ends_read`: see
    run_prepared."""
    stmt = _page_json(principal.is_national, principal.is_admin, tuple(sorted(filters)),
                      updated_since is not None, after is not None)
    params = {**filters, "limit": limit}
    if scope is not None:
        params["scope"] = _array_literal(scope)
    if updated_since is not None:
        params["updated_since"] = updated_since
    if after is not None:
        params["after_updated_at"], params["after_id"] = after
    return [row[0] for row in run_prepared(session, stmt, params, plan_each_time=True,
                                           ends_read=ends_read)]


@functools.lru_cache(maxsize=1024)
def _array_literal(codes: frozenset) -> str:
    """The agency codes as one PostgreSQL array literal (the statement casts it): the
    driver built the same array from the list for every request."""
    quoted = ('"' + code.replace("\\", "\\\\").replace('"', '\\"') + '"'
              for code in sorted(codes))
    return "{" + ",".join(quoted) + "}"


def cursor_of(report_text: str) -> tuple[str, str]:
    """(updated_at, id) of a report from its JSON text, updated_at as the list's cursors
    have always carried it (datetime.isoformat of the UTC time: "+00:00", not "Z")."""
    report = json.loads(report_text)
    return report["updated_at"].removesuffix("Z") + "+00:00", report["id"]
