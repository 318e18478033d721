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

from hub.models import Attachment, Report, ReportExternalRef

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


def run_prepared(session, stmt: sa.Select, params: dict):
    """Rows of a fixed, hot statement. On PostgreSQL straight on the driver, as a prepared
    statement: SQLAlchemy's result layer asks psycopg for a description of every column
    on every call, a fifth of a read by key, and these rows need no processing (psycopg
    returns UUIDs and aware datetimes itself). Elsewhere through SQLAlchemy."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(stmt, params)
    sql, defaults = _compiled(stmt, connection.dialect)
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.execute(sql, {**defaults, **params}, prepare=True)
        return cursor.fetchall()


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
