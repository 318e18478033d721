"""Tenant isolation on the hot read: a report by key, the caller's right to see it and
whether its agency is responsible (which decides the reporter's contact details) come
from one query; the answers must be exactly those of the agency-tree rule (scope())."""
import pytest
import sqlalchemy as sa

from hub.auth import Principal
from hub.errors import Problem
from hub.extensions import db
from hub.models import Agency
from hub.services import access


def _caller(agency):
    return Principal(f"t-{agency}", agency, frozenset({"reports:read"}))


@pytest.fixture
def moved(national):
    """A report that went kab-sleman.dinkes (a unit of Sleman) -> kab-bantul."""
    report = national.create_report(reporter={"name": "Sri", "phone": "0812", "email": None})
    rid = report["id"]
    assert national.status(rid, "verified").status_code == 200
    for to in ("kab-sleman.dinkes", "kab-bantul"):
        resp = national.post(f"/reports/{rid}/dispositions", json={"to_agency": to})
        assert resp.status_code == 200, resp.get_json()
    return report


@pytest.fixture
def statements(app, monkeypatch):
    """Every statement sent to the database, through SQLAlchemy or straight on the driver
    (psycopg's cursor on PostgreSQL; SQLite's C cursor cannot be patched, and nothing
    drives it but SQLAlchemy, whose event sees every statement)."""
    seen = []
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        def before(conn, cursor, statement, *args):
            if not statement.startswith("BEGIN"):  # hub.sqlite's, as psycopg's is unseen
                seen.append(statement)
        sa.event.listen(engine, "before_cursor_execute", before)
        yield seen
        sa.event.remove(engine, "before_cursor_execute", before)
        return
    import psycopg
    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        seen.append(query)
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    yield seen


@pytest.mark.parametrize("agency,readable,responsible,contacts", [
    ("kab-bantul", True, True, True),             # responsible now
    ("kab-sleman", True, False, False),           # its unit was responsible once
    ("kab-sleman.dinkes", True, False, False),    # was responsible once
    ("kab-sleman.dpupkp", False, False, False),   # a sibling unit never was
    ("*", True, True, False),                     # national: all, but no contacts
])
def test_one_query_gives_visibility_and_responsibility(app, moved, statements, agency,
                                                       readable, responsible, contacts):
    caller = _caller(agency)
    with app.app_context():
        statements.clear()
        for ident in (moved["id"], moved["tracking_id"]):
            try:
                report = access.read_report(db.session, ident, caller)
            except Problem as problem:
                assert problem.status == 404 and not readable
                continue
            assert readable
            assert access.in_scope(caller, report.agency_code) is responsible
            # The privacy rules ask in_scope; the read already answered it.
            from hub.services.representations import reporter_for
            shown = reporter_for(report, caller)
            assert ("phone" in shown) is contacts and shown["name"] == "Sri"
        assert len(statements) == 2, statements  # one per read, no scope() query
        statements.clear()
        # get_report (the ORM object, for the other endpoints) agrees, in its own way.
        db.session.info.pop("agency_scope_answers", None)
        try:
            orm = access.get_report(db.session, moved["id"], caller)
            assert readable and orm.tracking_id == moved["tracking_id"]
        except Problem as problem:
            assert problem.status == 404 and not readable
        # And the one-query answer agrees with the tree rule itself.
        db.session.info.pop("agency_scope_answers", None)
        covered = access.scope(caller)
        assert covered is None or ("kab-bantul" in covered) is responsible
        db.session.rollback()


def test_a_cycle_in_the_directory_still_ends_the_walk(app, sleman):
    with app.app_context():
        db.session.add_all([Agency(code="loop-a", name="A", level="unit"),
                            Agency(code="loop-b", name="B", level="unit", parent_code="loop-a")])
        db.session.flush()
        db.session.execute(sa.update(Agency).where(Agency.code == "loop-a")
                           .values(parent_code="loop-b"))
        assert access.scope(_caller("loop-a")) == {"loop-a", "loop-b"}
        db.session.rollback()


def test_an_agency_missing_from_the_directory_still_covers_itself(app):
    with app.app_context():
        assert access.scope(_caller("kab-baru")) == {"kab-baru"}
        db.session.rollback()
