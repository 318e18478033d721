"""Reports for the hot read endpoints as plain rows, without the ORM's bookkeeping.

A page of 100 reports loaded as ORM objects (identity map, instance state, two selectin
loads with 100 ids bound each) cost more than everything else in the list request, and
one report by key paid the same per-object toll. These reads only serialise, so plain
rows do: the reports, their refs and attachments in one query, grouped into
attribute-style views that representations.report_json takes like a Report
(tests/services/test_listing.py keeps the two equal).
"""
from types import SimpleNamespace

import sqlalchemy as sa

from hub.models import Attachment, Report, ReportExternalRef

_REF = ("id", "system", "external_id")
_ATTACHMENT = ("id", "report_id", "filename", "content_type", "size")
_COLUMNS = [c.key for c in Report.__table__.columns]


def with_children(page: sa.Subquery, order_by=()) -> sa.Select:
    """`page` (a subquery of Report's columns, maybe more after them) with each report's
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
    the page's columns beyond Report's, kept on the view too."""
    out, by_id, seen = [], {}, set()
    names = _COLUMNS + list(extra)
    width = len(names)
    for row in rows:
        view = by_id.get(row.id)
        if view is None:
            view = SimpleNamespace(**dict(zip(names, row[:width])), external_refs=[],
                                   attachments=[])
            view.etag = f'"v{view.version}"'
            by_id[row.id] = view
            out.append(view)
        # A report with two refs and two attachments comes back as four rows.
        if row.ref_id is not None and ("ref", row.ref_id) not in seen:
            seen.add(("ref", row.ref_id))
            view.external_refs.append(SimpleNamespace(system=row.ref_system,
                                                      external_id=row.ref_external_id))
        if row.att_id is not None and ("att", row.att_id) not in seen:
            seen.add(("att", row.att_id))
            view.attachments.append(SimpleNamespace(
                **{name: getattr(row, f"att_{name}") for name in _ATTACHMENT}))
    return out


def report_views(session, stmt: sa.Select, order_by: tuple, limit: int) -> list:
    """The first `limit` reports `stmt` (a filtered select of Report) finds in the order
    of `order_by` (Report columns), as views."""
    page = (stmt.with_only_columns(*Report.__table__.columns).order_by(*order_by)
            .limit(limit).subquery("page"))
    return views(session.execute(with_children(page, [c.key for c in order_by])))
