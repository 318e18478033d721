"""On PostgreSQL the hot reads' JSON is written by the database (representations_sql,
listing.page_json, access.read_report_json) instead of by representations.report_json.
For every kind of report and caller the two must parse to exactly the same JSON, types
included (a float stays a float), in the same order, with the same cursors, filters,
headers and 404s; the Python path is what the app's JSON provider makes of report_json
of the ORM report."""
import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.auth import Principal
from hub.errors import Problem
from hub.extensions import db
from hub.models import Attachment, Report, ReportAgency, ReportExternalRef, Response
from hub.services import access, listing
from hub.services.representations import report_json

ORDER = (Report.updated_at, Report.id)
READ = frozenset({"reports:read"})
CALLERS = [
    Principal("sleman", "kab-sleman", READ),                 # a regency and its units
    Principal("dinkes", "kab-sleman.dinkes", READ),          # one unit
    Principal("diy", "prov-diy", READ),                      # the province above
    Principal("bantul", "kab-bantul", READ),
    Principal("national", "*", READ),                        # all, never contacts
    Principal("admin", "*", frozenset({"admin"})),           # all, every identity
    Principal("bantul-admin", "kab-bantul", frozenset({"admin"})),  # an agency's admin
]
AGENCIES = ["kab-sleman", "kab-sleman.dinkes", "kab-sleman.dpupkp", "kab-bantul",
            "kota-yogyakarta"]


def typed(value):
    """JSON as parsed, with each scalar's type kept: 7 and 7.0, or 0.0 and -0.0, differ."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def python_json(app, report, principal):
    return typed(json.loads(app.json.dumps(report_json(report, principal))))


# --- generated reports -------------------------------------------------------------

# Any text PostgreSQL can store: quotes, backslashes, control characters, other scripts,
# characters outside the BMP (no NUL, no lone surrogates).
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                min_size=1, max_size=25)
maybe_texts = st.none() | texts
coordinates = (st.none() | st.floats(-90, 90, allow_nan=False) | st.just(-0.0)
               | st.integers(-90, 90).map(float) | st.sampled_from([1e-05, 0.0001, -7.5e-07]))
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                       timezones=st.sampled_from([timezone.utc,
                                                  timezone(timedelta(hours=7))]))
whole_seconds = moments.map(lambda moment: moment.replace(microsecond=0))
timestamps = moments | whole_seconds
refs = st.lists(st.tuples(st.sampled_from(["lapor-sleman", "kanal-lain", "sp4n"]), texts),
                max_size=3)
attachments = st.lists(st.tuples(texts, st.sampled_from(["image/png", "application/pdf"]),
                                 st.integers(0, 2**31 - 1), st.booleans()), max_size=3)


@st.composite
def report_specs(draw):
    agency = draw(st.none() | st.sampled_from(AGENCIES))
    # The tenant rows: every agency ever responsible, the current one always among them.
    past = draw(st.sets(st.sampled_from(AGENCIES), max_size=2))
    return {
        "title": draw(texts), "body": draw(texts),
        "category_code": draw(st.none() | st.sampled_from(["infrastruktur.jalan",
                                                           "infrastruktur.pju"])),
        "classification": draw(st.sampled_from(["complaint", "aspiration",
                                                "information_request"])),
        "channel": draw(st.sampled_from(["web", "sms", "instagram", "local_app"])),
        "location_text": draw(maybe_texts), "region_code": draw(st.none() | st.just("34.04")),
        "lat": draw(coordinates), "lon": draw(coordinates),
        "occurred_at": draw(st.none() | timestamps), "submitted_at": draw(timestamps),
        "anonymous": draw(st.booleans()), "confidential": draw(st.booleans()),
        "reporter_name": draw(maybe_texts), "reporter_phone": draw(maybe_texts),
        "reporter_email": draw(maybe_texts),
        "agency_code": agency,
        "status": draw(st.sampled_from(["received", "dispositioned", "closed"])),
        "due_at": draw(st.none() | timestamps),
        "version": draw(st.integers(1, 10**6)),
        "created_at": draw(timestamps), "updated_at": draw(timestamps),
        "tenants": past | ({agency} if agency else set()) or {"kab-sleman"},
        "refs": draw(refs), "attachments": draw(attachments),
    }


def store(session, specs) -> list:
    """The reports of `specs`, flushed (not committed: the caller rolls back)."""
    ids = []
    for n, spec in enumerate(specs):
        spec = dict(spec)
        tenants, ref_specs, att_specs = (spec.pop(k) for k in ("tenants", "refs", "attachments"))
        report = Report(id=uuid.uuid4(), tracking_id=f"77{n:08d}", **spec)
        session.add(report)
        session.flush()
        session.add_all(ReportAgency(report_id=report.id, agency_code=code) for code in tenants)
        session.add_all(ReportExternalRef(report_id=report.id, system=system,
                                          external_id=f"{n}-{i}-{external_id}")
                        for i, (system, external_id) in enumerate(ref_specs))
        response = None
        for i, (filename, content_type, size, of_response) in enumerate(att_specs):
            if of_response and response is None:
                response = Response(report_id=report.id, agency_code="kab-sleman", body="x")
                session.add(response)
                session.flush()
            session.add(Attachment(
                report_id=report.id, response_id=response.id if of_response else None,
                filename=filename, content_type=content_type, size=size, sha256="0" * 64,
                storage_key=f"k/{n}/{i}",
                created_at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i)))
        ids.append(report.id)
    session.flush()
    session.expire_all()  # the ORM's reports as read back (UTC), not as given
    return ids


def forget_scopes(session):
    for memo in ("agency_scopes", "agency_scope_answers"):
        session.info.pop(memo, None)


def assert_same_pages(app, session):
    for principal in CALLERS:
        forget_scopes(session)
        orm = session.execute(access.visible(principal).order_by(*ORDER)).scalars().all()
        expected = [python_json(app, report, principal) for report in orm]
        forget_scopes(session)
        texts = listing.page_json(session, principal, access.scope(principal), {},
                                  limit=1000)
        assert [typed(json.loads(text)) for text in texts] == expected, principal
        # The keyset a next cursor carries, as the Python path writes it.
        assert [listing.cursor_of(text) for text in texts] == [
            (r.updated_at.isoformat(), str(r.id)) for r in orm]


def assert_same_by_key(app, session, ids):
    for principal in CALLERS:
        for rid in ids:
            forget_scopes(session)
            try:
                orm = access.get_report(session, str(rid), principal)
            except Problem:
                orm = None
            for ident in (str(rid), session.get(Report, rid).tracking_id):
                if orm is None:
                    with pytest.raises(Problem) as problem:
                        access.read_report_json(session, ident, principal)
                    assert problem.value.status == 404
                    continue
                text, etag = access.read_report_json(session, ident, principal)
                assert typed(json.loads(text)) == python_json(app, orm, principal), principal
                assert etag == orm.etag


@pytest.mark.postgresql_only  # the JSON built in PostgreSQL
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(specs=st.lists(report_specs(), min_size=1, max_size=6))
def test_generated_reports_read_as_python_writes_them(app, specs):
    with app.app_context():
        try:
            ids = store(db.session, specs)
            assert_same_pages(app, db.session)
            assert_same_by_key(app, db.session, ids)
        finally:
            db.session.rollback()


@pytest.mark.postgresql_only  # the JSON built in PostgreSQL
def test_every_kind_of_report_at_once(app):
    """The corners side by side, so they are tried on every run whatever hypothesis draws."""
    base = {"title": "Jalan \"rusak\" \\ di Sleman\n\ttab", "body": "Ünïcödé ✓ 😀 \u2028 \x01",
            "category_code": None, "classification": "complaint", "channel": "web",
            "location_text": None, "region_code": None, "lat": None, "lon": None,
            "occurred_at": None, "anonymous": False, "confidential": False,
            "reporter_name": "Siti", "reporter_phone": "0812", "reporter_email": "s@x.id",
            "agency_code": "kab-sleman", "status": "received", "due_at": None, "version": 1,
            "tenants": {"kab-sleman"}, "refs": [], "attachments": []}
    moment = datetime(2026, 11, 20, 3, 4, 5, 123456, tzinfo=timezone.utc)
    whole = moment.replace(microsecond=0)
    small = moment.replace(microsecond=500)  # leading zeros in the fraction
    variants = [
        dict(submitted_at=whole, created_at=whole, updated_at=whole),
        dict(submitted_at=moment, created_at=small, updated_at=moment, occurred_at=whole,
             due_at=small, lat=-7.0, lon=110.0, location_text="Jl. Kaliurang",
             region_code="34.04", category_code="infrastruktur.jalan"),
        dict(submitted_at=whole, created_at=whole, updated_at=moment, anonymous=True,
             confidential=True, lat=-7.7123456789, lon=-0.0,
             refs=[("lapor-sleman", "A-1"), ("kanal-lain", "ü-2")],
             attachments=[("foto \"1\".png", "image/png", 10, False),
                          ("balasan.pdf", "application/pdf", 20, True),
                          ("peta.png", "image/png", 0, False)]),
        dict(submitted_at=whole, created_at=whole, updated_at=moment, confidential=True,
             agency_code="kab-bantul", tenants={"kab-sleman.dinkes", "kab-bantul"},
             reporter_phone=None),
        dict(submitted_at=whole, created_at=whole, updated_at=moment, agency_code=None,
             tenants={"kab-sleman"}, reporter_name=None, reporter_email=None),
        dict(submitted_at=whole, created_at=whole, updated_at=small,
             agency_code="kab-sleman.dinkes", tenants={"kab-sleman.dinkes"}, lat=1e-05),
    ]
    with app.app_context():
        try:
            ids = store(db.session, [{**base, **variant} for variant in variants])
            assert_same_pages(app, db.session)
            assert_same_by_key(app, db.session, ids)
            # The attachment of a response is not the report's; order is by creation.
            text, _ = access.read_report_json(db.session, str(ids[2]), CALLERS[0])
            shown = json.loads(text)
            assert [a["filename"] for a in shown["attachments"]] == ["foto \"1\".png",
                                                                     "peta.png"]
            assert shown["attachments"][0]["url"].startswith(f"/api/v1/reports/{ids[2]}/")
            assert shown["location"]["lon"] == 0.0 and shown["reporter"] is None
        finally:
            db.session.rollback()


# --- the endpoints: the PostgreSQL-built responses against the Python path ---------

@pytest.fixture
def many(app, sleman, bantul, national):
    """Reports of two regencies, some moved between them, with refs and an attachment."""
    made = []
    for n in range(7):
        made.append(sleman.create_report(
            channel=["web", "sms"][n % 2], privacy={"anonymous": n == 3, "confidential": n == 4},
            location={"text": "Godean", "lat": -7.0 + n / 10, "lon": 110.0}))
    for _ in range(3):
        made.append(bantul.create_report(category="infrastruktur.pju"))
    moved = national.create_report(reporter={"name": "Sri", "phone": "0812", "email": None})
    assert national.status(moved["id"], "verified").status_code == 200
    for to in ("kab-sleman.dinkes", "kab-bantul"):
        assert national.post(f"/reports/{moved['id']}/dispositions",
                             json={"to_agency": to}).status_code == 200
    assert sleman.status(made[0]["id"], "verified").status_code == 200
    assert sleman.put("/sources/lapor-sleman/reports/A-9", json={
        "title": "Sampah", "body": "Di jalan", "category": "infrastruktur.drainase",
        "channel": "instagram", "source_updated_at": "2026-11-20T10:00:00+07:00"},
    ).status_code == 201
    return made + [moved]


QUERIES = ["limit=100", "limit=1", "limit=2", "limit=3", "status=received",
           "status=verified&limit=1", "agency=kab-bantul", "agency=kab-sleman&channel=sms",
           "category=infrastruktur.pju", "channel=web&limit=2",
           "updated_since=2000-01-01T00:00:00Z&limit=4", "updated_since=2999-01-01T00:00:00Z"]


def both_ways(monkeypatch, read):
    """`read()` answered by the database-built path, then by the Python path."""
    built = read()
    monkeypatch.setattr(listing, "builds_json", lambda session: False)
    try:
        python = read()
    finally:
        monkeypatch.undo()
    return built, python


def same_response(built, python):
    assert built.status_code == python.status_code
    assert built.headers.get("Content-Type") == python.headers.get("Content-Type")
    assert built.headers.get("ETag") == python.headers.get("ETag")
    assert typed(json.loads(built.data)) == typed(json.loads(python.data))


@pytest.mark.parametrize("query", QUERIES)
def test_list_pages_and_cursors_are_the_python_paths(monkeypatch, many, make_caller, query):
    callers = [make_caller("kab-sleman"), make_caller("kab-bantul"),
               make_caller("kab-sleman.dinkes"), make_caller("*", "reports:read"),
               make_caller("*", "admin")]
    for caller in callers:
        cursor, pages = None, 0
        while True:
            url = "/reports?" + query + (f"&cursor={cursor}" if cursor else "")
            built, python = both_ways(monkeypatch, lambda c=caller, u=url: c.get(u))
            same_response(built, python)
            assert built.status_code == 200, built.get_json()
            assert built.data.endswith(b"\n")
            cursor, pages = built.get_json()["next_cursor"], pages + 1
            if not cursor:
                break
        if query == "limit=1" and caller.agency == "*":
            assert pages == len(many) + 1  # one report a page, each once (and A-9)


def test_get_by_key_is_the_python_paths(monkeypatch, many, make_caller):
    for caller in (make_caller("kab-sleman"), make_caller("kab-bantul"),
                   make_caller("kab-sleman.dpupkp"), make_caller("*", "reports:read"),
                   make_caller("*", "admin")):
        for report in many:
            for ident in (report["id"], report["tracking_id"], "9999999999",
                          str(uuid.uuid4()), "not-a-key"):
                built, python = both_ways(
                    monkeypatch, lambda c=caller, i=ident: c.get(f"/reports/{i}"))
                same_response(built, python)


def test_a_cursor_without_an_offset_is_refused(sleman):
    """The hub's cursors carry +00:00; one without an offset is not one of them (it was a
    server error on the Python path)."""
    sleman.create_report()
    raw = json.dumps(["2026-11-20T10:00:00", str(uuid.uuid4())]).encode()
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    resp = sleman.get(f"/reports?cursor={cursor}")
    assert resp.status_code == 400 and resp.get_json()["status"] == 400


@pytest.mark.postgresql_only  # the JSON built in PostgreSQL
def test_reads_keep_their_prepared_statements(app, many, sleman, monkeypatch):
    """A read ends with COMMIT (run_prepared, ends_read): on a ROLLBACK psycopg deallocates
    every statement prepared on the connection, and each read parsed them all again."""
    import psycopg
    used, execute = [], psycopg.Cursor.execute

    def spy(cursor, query, *args, **kwargs):
        used.append(cursor.connection)
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", spy)
    for _ in range(2):
        assert sleman.get(f"/reports/{many[0]['id']}").status_code == 200
        assert sleman.get("/reports?limit=5").status_code == 200
    monkeypatch.undo()
    prepared = []
    for connection in {id(c): c for c in used}.values():  # back in the pool, idle
        prepared += [row[0] for row in connection.execute(
            "SELECT statement FROM pg_prepared_statements")]
        connection.rollback()
    assert any("agency_chain" in sql for sql in prepared)  # by key
    assert any("agency_subtree" in sql for sql in prepared)  # the caller's scope
    assert any("string_agg" in sql and "LIMIT" in sql for sql in prepared)  # the list


def test_the_sqlite_default_answers_from_the_python_path(tmp_path):
    """The embedded default has no database-built JSON: the endpoints keep report_json,
    with the same envelope, cursor and ETag."""
    from tests.helpers import sqlite_app, sqlite_caller
    app = sqlite_app(tmp_path)
    with app.app_context():
        assert not listing.builds_json(db.session)
    caller = sqlite_caller(app)
    made = [caller.create_report() for _ in range(3)]
    first = caller.get("/reports?limit=2")
    assert first.status_code == 200 and first.content_type == "application/json"
    page = first.get_json()
    rest = caller.get(f"/reports?limit=2&cursor={page['next_cursor']}").get_json()
    assert [r["id"] for r in page["items"] + rest["items"]] == [r["id"] for r in made]
    assert rest["next_cursor"] is None
    one = caller.get(f"/reports/{made[0]['id']}")
    assert one.headers["ETag"] == '"v1"' and one.get_json() == page["items"][0] == made[0]


@pytest.mark.postgresql_only  # a PostgreSQL session setting
def test_floats_round_trip_even_where_the_database_rounds_them(app):
    """A database configured with extra_float_digits = 0 would print 15 digits; the hub
    sets the setting its SQL JSON relies on on every connection it opens."""
    import sqlalchemy as sa
    with app.app_context():
        name = db.session.execute(sa.text("SELECT current_database()")).scalar_one()
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET extra_float_digits = 0'))
        try:
            db.engine.dispose()  # new connections pick up the database's default
            with db.engine.connect() as conn:
                assert conn.execute(sa.text("SHOW extra_float_digits")).scalar_one() == "1"
                printed = conn.execute(sa.text("SELECT (0.1::float8 + 0.2)::text")).scalar_one()
            assert float(printed) == 0.1 + 0.2, printed
        finally:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f'ALTER DATABASE "{name}" RESET extra_float_digits'))
            db.engine.dispose()
