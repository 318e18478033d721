"""The list endpoint reads pages as plain rows (hub.services.listing) instead of ORM
objects, for speed: a page must serialise exactly as the ORM's reports would, in the same
order, with every ref and attachment once, for every kind of caller."""
import uuid

import pytest
import sqlalchemy as sa

from hub.errors import Problem
from hub.extensions import db
from hub.models import Report, ReportExternalRef
from hub.services import access, listing
from hub.services.representations import report_json
from tests.api.test_attachments import tiny_png, upload
from tests.services.test_representations import CALLERS, reports  # noqa: F401 (fixture)

ORDER = (Report.updated_at, Report.id)


def test_a_page_of_views_serialises_as_the_orm_reports_do(app, sleman, reports):  # noqa: F811
    # One report with two refs and two attachments: the joined rows multiply (2 x 2).
    rid = reports[2]
    assert upload(sleman, rid, tiny_png(), "a.png", "image/png").status_code == 201
    assert upload(sleman, rid, tiny_png(), "b.png", "image/png").status_code == 201
    with app.app_context():
        db.session.add(ReportExternalRef(report_id=uuid.UUID(rid), system="kanal-lain",
                                         external_id="K-9"))
        db.session.commit()
        for principal in CALLERS:
            stmt = access.visible(principal)
            expected = [report_json(r, principal) for r in db.session.execute(
                stmt.order_by(*ORDER)).scalars().all()]
            got = [report_json(v, principal)
                   for v in listing.report_views(db.session, stmt, ORDER, 100)]
            assert got == expected, principal
            assert len(got) == (4 if principal.agency in ("*", "kab-sleman") else 0)
            db.session.rollback()
        shown = [report_json(v, CALLERS[0]) for v in listing.report_views(
            db.session, access.visible(CALLERS[0]), ORDER, 100)]
        twice = next(r for r in shown if r["id"] == rid)
        assert [a["filename"] for a in twice["attachments"]] == ["a.png", "b.png"]
        assert len(twice["external_refs"]) == 2


def test_the_limit_and_the_filters_hold(app, reports):  # noqa: F811
    with app.app_context():
        stmt = access.visible(CALLERS[2]).where(Report.channel != "nonexistent")
        first = listing.report_views(db.session, stmt, ORDER, 2)
        assert len(first) == 2
        ordered = db.session.execute(stmt.with_only_columns(Report.id).order_by(*ORDER)
                                     .limit(2)).scalars().all()
        assert [v.id for v in first] == ordered
        none = listing.report_views(db.session, stmt.where(sa.false()), ORDER, 10)
        assert none == []


def test_the_sqlite_default_reads_the_same_views(tmp_path):
    """run_prepared goes straight to the driver on PostgreSQL only; the embedded default
    takes SQLAlchemy's way and must give the same report."""
    from hub.auth import Principal
    from hub.schemas.reports import ReportInSchema
    from hub.services import reports as report_service
    from tests.helpers import report_payload, sqlite_app
    app = sqlite_app(tmp_path)
    sleman = Principal("t", "kab-sleman", frozenset({"reports:read", "reports:write"}))
    with app.app_context():
        report = report_service.create_report(
            db.session, ReportInSchema().load(report_payload()),
            report_service.Actor(sleman, "sleman-app"), external_ref=("sleman-app", "S-1"))
        db.session.commit()
        rid = report.id
        db.session.remove()
        orm = db.session.get(Report, rid)
        for caller in (sleman, Principal("n", "*", frozenset({"reports:read"}))):
            expected = report_json(orm, caller)
            assert report_json(access.read_report(db.session, str(rid), caller),
                               caller) == expected
            assert [report_json(v, caller) for v in listing.report_views(
                db.session, access.visible(caller), ORDER, 10)] == [expected]
        bantul = Principal("b", "kab-bantul", frozenset({"reports:read"}))
        with pytest.raises(Problem):
            access.read_report(db.session, str(rid), bantul)
