"""Pages of reports for the read-only list endpoints, without the ORM's bookkeeping.

A page of 100 reports loaded as ORM objects (identity map, instance state, two selectin
loads with 100 ids bound each) cost more than everything else in the list request. A
page is only read and serialised, so plain rows do: the page, its refs and attachments in
one query, grouped into attribute-style views that representations.report_json takes
like a Report (tests/services/test_listing.py keeps the two equal).
"""
from types import SimpleNamespace

import sqlalchemy as sa

from hub.models import Attachment, Report, ReportExternalRef

_REF = ("system", "external_id")
_ATTACHMENT = ("id", "report_id", "filename", "content_type", "size")


def report_views(session, stmt: sa.Select, order_by: tuple, limit: int) -> list:
    """The first `limit` reports `stmt` (a filtered select of Report) finds in the order
    of `order_by` (Report columns), as views."""
    page = (stmt.with_only_columns(*Report.__table__.columns).order_by(*order_by)
            .limit(limit).subquery("page"))
    ref, att = ReportExternalRef.__table__, Attachment.__table__
    joined = (
        sa.select(page, *(ref.c[name].label(f"ref_{name}") for name in ("id",) + _REF),
                  *(att.c[name].label(f"att_{name}") for name in _ATTACHMENT))
        .select_from(page.outerjoin(ref, ref.c.report_id == page.c.id).outerjoin(
            att, sa.and_(att.c.report_id == page.c.id, att.c.response_id.is_(None))))
        # The page's own order first (its ORDER BY columns), then each relationship's.
        .order_by(*[page.c[c.key] for c in order_by], ref.c.id, att.c.created_at))
    views, by_id, seen = [], {}, set()
    report_columns = [c.key for c in Report.__table__.columns]
    width = len(report_columns)
    for row in session.execute(joined):
        view = by_id.get(row.id)
        if view is None:
            view = SimpleNamespace(**dict(zip(report_columns, row[:width])),
                                   external_refs=[], attachments=[])
            by_id[row.id] = view
            views.append(view)
        # A report with two refs and two attachments comes back as four rows.
        if row.ref_id is not None and ("ref", row.ref_id) not in seen:
            seen.add(("ref", row.ref_id))
            view.external_refs.append(SimpleNamespace(system=row.ref_system,
                                                      external_id=row.ref_external_id))
        if row.att_id is not None and ("att", row.att_id) not in seen:
            seen.add(("att", row.att_id))
            view.attachments.append(SimpleNamespace(
                **{name: getattr(row, f"att_{name}") for name in _ATTACHMENT}))
    return views

