"""Hostile and malformed input: nothing a client sends may produce a 5xx, every error is
problem+json, and a refused request writes nothing."""
import io
import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import create_app
from hub.extensions import db
from hub.models import Report, ReportEvent
from tests.helpers import Caller, report_payload

PROBLEM = "application/problem+json"
JAVANESE = "ꦱꦼꦭꦩꦤ꧀"
EMOJI = "Jalan rusak 🚧🕳️👨‍👩‍👧 parah 🇮🇩"
RTL = "شارع مكسور \u202eevil\u202c עברית"


def assert_problem(resp, status=None):
    """problem+json with type/title/status matching the HTTP status."""
    assert resp.status_code < 500, resp.get_data(as_text=True)
    if status is not None:
        if isinstance(status, int):
            assert resp.status_code == status, resp.get_data(as_text=True)
        else:
            assert resp.status_code in status, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM, (resp.content_type, resp.get_data(as_text=True))
    body = resp.get_json()
    assert isinstance(body, dict)
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == resp.status_code
    if resp.status_code == 422 and "errors" in body:
        assert isinstance(body["errors"], dict) and body["errors"]
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in body["errors"].items())
    return body


def assert_field_error(resp, field, status=422):
    body = assert_problem(resp, status)
    assert field in body.get("errors", {}), body
    return body


def counts(app):
    with app.app_context():
        reports = db.session.execute(sa.select(sa.func.count()).select_from(Report)).scalar()
        events = db.session.execute(
            sa.select(sa.func.count()).select_from(ReportEvent)).scalar()
        db.session.remove()
    return reports, events


def post_raw(caller, path, data, content_type="application/json", method="post"):
    return getattr(caller.client, method)(
        "/api/v1" + path, data=data, content_type=content_type,
        headers={"Authorization": f"Bearer {caller.token}"})


# --- body shape -------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"{", b'{"title": "x",}', b"{'title': 'x'}", b'{"title": "x"} trailing',
    b"\xff\xfe\x00{", b'{"title": "\xff\xfe"}', b"", b"   ", b"nul\x00l",
])
def test_malformed_json_is_400(app, sleman, raw):
    before = counts(app)
    resp = post_raw(sleman, "/reports", raw)
    body = assert_problem(resp, (400, 422))
    if raw.strip():
        assert resp.status_code == 400, body
    assert counts(app) == before


@pytest.mark.parametrize("raw", [b"[]", b'[{"title": "x"}]', b'"a report"', b"42", b"3.5",
                                 b"true", b"null"])
def test_non_object_json_is_refused(app, sleman, raw):
    before = counts(app)
    assert_problem(post_raw(sleman, "/reports", raw), (400, 422))
    for path, method in (("/sources/x/reports/1", "put"), ("/sync/batches", "post")):
        assert_problem(post_raw(sleman, path, raw, method=method), (400, 422))
    r = sleman.create_report()
    assert_problem(post_raw(sleman, f"/reports/{r['id']}/status", raw), (400, 422))
    assert_problem(post_raw(sleman, f"/reports/{r['id']}/responses", raw), (400, 422))
    assert counts(app)[0] == before[0] + 1


def test_deeply_nested_json_is_not_a_500(app, sleman):
    before = counts(app)
    for raw in (b"[" * 100_000 + b"]" * 100_000,
                b'{"title": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001):
        assert_problem(post_raw(sleman, "/reports", raw), (400, 413, 422))
    assert counts(app) == before


def test_json_body_with_wrong_content_type(app, sleman):
    before = counts(app)
    resp = post_raw(sleman, "/reports", json.dumps(report_payload()), "text/plain")
    assert_problem(resp, (400, 415, 422))
    assert counts(app) == before


# --- field types --------------------------------------------------------------------------

WRONG_TYPES = [
    ("title", 123, "title"), ("title", ["a"], "title"), ("title", {"a": 1}, "title"),
    ("title", True, "title"), ("body", 5.5, "body"), ("body", [], "body"),
    ("category", 1, "category"), ("category", {}, "category"),
    ("classification", 1, "classification"), ("classification", ["complaint"],
                                               "classification"),
    ("channel", True, "channel"), ("channel", {"web": 1}, "channel"),
    ("location", "Jl. Kaliurang", "location"), ("location", [1, 2], "location"),
    ("location", {"lat": "north"}, "location.lat"), ("location", {"lon": [110]}, "location.lon"),
    ("location", {"text": 7}, "location.text"), ("location", {"region_code": 34},
                                                 "location.region_code"),
    ("occurred_at", 1700000000, "occurred_at"), ("occurred_at", "yesterday", "occurred_at"),
    ("occurred_at", "2026-13-45T99:00:00+07:00", "occurred_at"),
    ("submitted_at", True, "submitted_at"), ("submitted_at", {"t": 1}, "submitted_at"),
    ("privacy", "yes", "privacy"), ("privacy", {"anonymous": "maybe"}, "privacy.anonymous"),
    ("privacy", {"confidential": [True]}, "privacy.confidential"),
    ("reporter", ["Siti"], "reporter"), ("reporter", {"email": 5}, "reporter.email"),
    ("reporter", {"email": "not-an-email"}, "reporter.email"),
    ("reporter", {"name": {"first": "Siti"}}, "reporter.name"),
    ("reporter", {"phone": 81234567890}, "reporter.phone"),
    ("agency", 5, "agency"), ("agency", ["kab-sleman"], "agency"),
]


@pytest.mark.parametrize("field,value,path", WRONG_TYPES)
def test_wrong_type_is_422_naming_the_field(app, sleman, field, value, path):
    before = counts(app)
    resp = sleman.post("/reports", json=report_payload(**{field: value}))
    assert_field_error(resp, path)
    assert counts(app) == before


@pytest.mark.parametrize("field", ["title", "body", "category", "channel"])
def test_missing_required_field(app, sleman, field):
    payload = report_payload()
    del payload[field]
    assert_field_error(sleman.post("/reports", json=payload), field)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("field,size,ok", [("title", 200, True), ("title", 201, False),
                                           ("title", 0, False), ("body", 20000, True),
                                           ("body", 20001, False), ("body", 0, False)])
def test_length_limits(app, sleman, field, size, ok):
    resp = sleman.post("/reports", json=report_payload(**{field: "a" * size}))
    if ok:
        assert resp.status_code == 201, resp.get_json()
        assert len(resp.get_json()[field]) == size
    else:
        assert_field_error(resp, field)
        assert counts(app) == (0, 0)


def test_length_counts_characters_not_bytes(sleman):
    # 200 four-byte characters are 200 characters, within the limit.
    created = sleman.create_report(title="🚧" * 200)
    assert created["title"] == "🚧" * 200


@pytest.mark.parametrize("field,value", [("classification", "complaints"),
                                         ("classification", "COMPLAINT"),
                                         ("classification", ""),
                                         ("channel", "pigeon"), ("channel", "Web"),
                                         ("channel", "")])
def test_unknown_enum_on_create(app, sleman, field, value):
    body = assert_field_error(sleman.post("/reports", json=report_payload(**{field: value})),
                              field)
    assert "must be one of" in body["errors"][field]
    assert counts(app) == (0, 0)


def test_unknown_status_and_visibility(app, sleman):
    r = sleman.create_report()
    for value in ("open", "Verified", "", None, 3):
        assert_field_error(sleman.status(r["id"], value), "status")
    assert_field_error(sleman.put("/sources/sleman-app/reports/9",
                                  json=report_payload(status="done")), "status")
    for value in ("secret", "PUBLIC", "", 1):
        assert_field_error(sleman.post(f"/reports/{r['id']}/responses",
                                       json={"body": "x", "visibility": value}), "visibility")
    got = sleman.get(f"/reports/{r['id']}").get_json()
    assert got["status"] == "received" and got["version"] == 1
    assert sleman.get(f"/reports/{r['id']}/responses").get_json()["items"] == []
    assert counts(app)[0] == 1


# --- timestamps ---------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["occurred_at", "submitted_at"])
@pytest.mark.parametrize("value", ["2026-11-20T08:00:00", "2026-11-20 08:00:00",
                                   "2026-11-20T08:00:00.123456"])
def test_naive_timestamp_is_400_naming_field(app, sleman, field, value):
    resp = sleman.post("/reports", json=report_payload(**{field: value}))
    body = assert_field_error(resp, field, status=400)
    assert "offset" in body["errors"][field]
    assert counts(app) == (0, 0)


def test_naive_timestamp_elsewhere_is_400(app, sleman):
    r = sleman.create_report()
    resp = sleman.put("/sources/sleman-app/reports/7",
                      json=report_payload(source_updated_at="2026-11-20T08:00:00"))
    assert_field_error(resp, "source_updated_at", status=400)
    sleman.status(r["id"], "verified")
    sleman.post(f"/reports/{r['id']}/dispositions", json={"to_agency": "kab-sleman"})
    resp = sleman.post(f"/reports/{r['id']}/responses",
                       json={"body": "ok", "created_at": "2026-11-21T10:00:00"})
    assert_field_error(resp, "created_at", status=400)
    assert_problem(sleman.get("/reports?updated_since=2026-11-21T10:00:00"), 400)
    assert sleman.get(f"/reports/{r['id']}/responses").get_json()["items"] == []
    assert counts(app)[0] == 1


@pytest.mark.parametrize("value,stored", [
    ("2026-11-20T08:00:00+07:00", "2026-11-20T01:00:00Z"),
    ("2026-11-20T01:00:00Z", "2026-11-20T01:00:00Z"),
    ("2026-11-20T01:00:00+00:00", "2026-11-20T01:00:00Z"),
    ("2026-11-19T20:30:00-04:30", "2026-11-20T01:00:00Z"),
])
def test_offset_timestamps_stored_as_utc(sleman, value, stored):
    assert sleman.create_report(occurred_at=value)["occurred_at"] == stored


# --- unicode and NUL -------------------------------------------------------------------------

def test_unicode_round_trips(sleman):
    fields = dict(title=f"{JAVANESE} {EMOJI}", body=f"{RTL}\n{JAVANESE}\n{EMOJI}\tend",
                  location={"text": f"{JAVANESE} — Ngaglik", "region_code": "34.04",
                            "lat": -7.72, "lon": 110.41},
                  reporter={"name": f"{JAVANESE} 👩‍🌾 {RTL}", "phone": "+62 812",
                            "email": "siti@example.id"})
    created = sleman.create_report(**fields)
    got = sleman.get(f"/reports/{created['id']}").get_json()
    for result in (created, got):
        assert result["title"] == fields["title"]
        assert result["body"] == fields["body"]
        assert result["location"]["text"] == fields["location"]["text"]
        assert result["reporter"]["name"] == fields["reporter"]["name"]
    # Raw (non-escaped) UTF-8 on the wire is fine too.
    raw = json.dumps(report_payload(title=JAVANESE), ensure_ascii=False).encode("utf-8")
    resp = post_raw(sleman, "/reports", raw, "application/json; charset=utf-8")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["title"] == JAVANESE


@pytest.mark.parametrize("field,value", [
    ("title", "a\x00b"), ("body", "\x00"), ("category", "infrastruktur.jalan\x00"),
    ("location", {"text": "x\x00"}), ("location", {"region_code": "34\x00"}),
    ("reporter", {"name": "Siti\x00"}), ("reporter", {"phone": "\x000812"}),
    ("agency", "kab-sleman\x00"),
])
def test_nul_bytes_refused(app, sleman, field, value):
    resp = sleman.post("/reports", json=report_payload(**{field: value}))
    assert_problem(resp, (400, 422))
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("value", ["\ud800", "x\udfffy", "\udbff"])
def test_lone_surrogates_refused(app, sleman, value):
    # Valid JSON (\\ud800 escapes) but not encodable as UTF-8: the database cannot store it.
    resp = sleman.post("/reports", json=report_payload(title=value))
    assert_problem(resp, (400, 422))
    resp = sleman.post("/reports", json=report_payload(reporter={"name": value}))
    assert_problem(resp, (400, 422))
    assert counts(app) == (0, 0)


def test_nul_elsewhere(app, sleman):
    r = sleman.create_report()
    assert_problem(sleman.get("/reports/abc%00def"), (400, 404))  # 400: names the parameter
    assert_problem(sleman.get("/reports?category=a%00b"), (400, 422))
    assert_problem(sleman.put("/sources/sleman-app/reports/a%00b", json=report_payload()),
                   (400, 422))
    assert_problem(sleman.put("/sources/sle%00man/reports/1", json=report_payload()),
                   (400, 422))
    assert_problem(sleman.status(r["id"], "verified", note="ok\x00"), (400, 422))
    assert_problem(sleman.post(f"/reports/{r['id']}/dispositions",
                               json={"to_agency": "kab-bantul\x00"}), (400, 422))
    assert_problem(sleman.post("/reports", json={**report_payload(), "ti\x00tle": "x"}),
                   (400, 422))
    assert counts(app)[0] == 1
    assert sleman.get(f"/reports/{r['id']}").get_json()["version"] == 1


# --- unknown fields, coordinates, non-finite numbers, nulls -------------------------------

@pytest.mark.parametrize("payload,path", [
    (report_payload(priority="high"), "priority"),
    (report_payload(status="verified"), "status"),
    (report_payload(id="00000000-0000-0000-0000-000000000000"), "id"),
    (report_payload(tracking_id="1234"), "tracking_id"),
    (report_payload(version=7), "version"),
    (report_payload(location={"text": "x", "altitude": 3}), "location.altitude"),
    (report_payload(privacy={"anonymous": False, "hidden": True}), "privacy.hidden"),
    (report_payload(reporter={"name": "x", "nik": "3404"}), "reporter.nik"),
])
def test_unknown_fields_are_422(app, sleman, payload, path):
    assert_field_error(sleman.post("/reports", json=payload), path)
    assert counts(app) == (0, 0)


def test_unknown_fields_on_other_writes(app, sleman):
    r = sleman.create_report()
    assert_field_error(sleman.status(r["id"], "verified", reason="x"), "reason")
    assert_field_error(sleman.post(f"/reports/{r['id']}/dispositions",
                                   json={"to_agency": "kab-bantul", "urgent": True}), "urgent")
    assert_field_error(sleman.post(f"/reports/{r['id']}/responses",
                                   json={"body": "x", "pinned": True}), "pinned")
    assert_field_error(sleman.put("/sources/sleman-app/reports/1",
                                  json=report_payload(colour="red")), "colour")
    assert sleman.get(f"/reports/{r['id']}").get_json()["version"] == 1
    assert counts(app)[0] == 1


@pytest.mark.parametrize("lat,lon,bad", [
    (90.0001, 110.0, "location.lat"), (-90.5, 110.0, "location.lat"),
    (1e6, 110.0, "location.lat"), (0.0, 180.0001, "location.lon"),
    (0.0, -181, "location.lon"), (-7.7, 1e300, "location.lon"),
])
def test_coordinates_out_of_range(app, sleman, lat, lon, bad):
    resp = sleman.post("/reports", json=report_payload(
        location={"text": "x", "lat": lat, "lon": lon}))
    assert_field_error(resp, bad)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("lat,lon", [(90, 180), (-90, -180), (0, 0)])
def test_coordinates_at_the_bounds(sleman, lat, lon):
    created = sleman.create_report(location={"lat": lat, "lon": lon})
    assert (created["location"]["lat"], created["location"]["lon"]) == (lat, lon)


@pytest.mark.parametrize("literal,path", [
    ("NaN", "location.lat"), ("Infinity", "location.lon"), ("-Infinity", "location.lat"),
    ('"NaN"', "location.lat"), ('"Infinity"', "location.lon"), ('"-inf"', "location.lon"),
    ("1e400", "location.lat"), ("-1e400", "location.lon"), ("1" + "0" * 400, "location.lat"),
])
def test_non_finite_numbers(app, sleman, literal, path):
    payload = report_payload(location={"text": "x", "lat": "@LAT@", "lon": "@LON@"})
    raw = json.dumps(payload).replace('"@LAT@"', literal if path.endswith("lat") else "-7.7") \
        .replace('"@LON@"', literal if path.endswith("lon") else "110.4")
    assert_field_error(post_raw(sleman, "/reports", raw), path)
    assert counts(app) == (0, 0)


def test_huge_integer_literal_is_not_a_500(app, sleman):
    # Beyond Python's int-from-string digit limit: the JSON parser itself refuses it.
    raw = json.dumps(report_payload(location={"lat": "@"})).replace('"@"', "9" * 5000)
    assert_problem(post_raw(sleman, "/reports", raw), (400, 422))
    assert counts(app) == (0, 0)


def test_nan_in_string_fields(app, sleman):
    raw = json.dumps(report_payload(title="@")).replace('"@"', "NaN")
    assert_field_error(post_raw(sleman, "/reports", raw), "title")
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("field", ["title", "body", "category", "channel", "classification",
                                   "privacy"])
def test_null_for_non_nullable_fields(app, sleman, field):
    assert_field_error(sleman.post("/reports", json=report_payload(**{field: None})), field)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize("override", [
    {"privacy": {"anonymous": None}}, {"privacy": {"confidential": None}},
])
def test_null_inside_privacy(app, sleman, override):
    (field, inner), = override.items()
    path = f"{field}.{next(iter(inner))}"
    assert_field_error(sleman.post("/reports", json=report_payload(**override)), path)
    assert counts(app) == (0, 0)


def test_nullable_nested_fields(sleman):
    created = sleman.create_report(
        location={"text": None, "region_code": None, "lat": None, "lon": None},
        reporter={"name": None, "phone": None, "email": None}, occurred_at=None,
        submitted_at=None, agency=None)
    assert created["location"] == {"text": None, "region_code": None, "lat": None,
                                   "lon": None}
    assert created["occurred_at"] is None
    assert created["submitted_at"].endswith("Z")
    assert created["agency"] == "kab-sleman"  # null means: my agency
    no_reporter = sleman.create_report(reporter=None)
    assert no_reporter["reporter"] == {"name": None, "phone": None, "email": None}


def test_null_location_object(app, sleman):
    resp = sleman.post("/reports", json=report_payload(location=None))
    if resp.status_code == 201:
        assert resp.get_json()["location"]["lat"] is None
    else:
        assert_field_error(resp, "location")
        assert counts(app) == (0, 0)


# --- request size -----------------------------------------------------------------------------

@pytest.fixture
def small_app(app, tmp_path):
    return create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "HUB_REDIS_URL": None, "SECRET_KEY": app.config["SECRET_KEY"],
        "HUB_ATTACHMENT_DIR": str(tmp_path / "att"), "MAX_CONTENT_LENGTH": 1000,
    })


def test_body_above_max_content_length_is_413(app, small_app, sleman):
    caller = Caller(small_app.test_client(), sleman.token, "kab-sleman")
    small = caller.post("/reports", json=report_payload())
    assert small.status_code == 201, small.get_json()
    before = counts(app)
    resp = caller.post("/reports", json=report_payload(body="x" * 2000))
    body = assert_problem(resp, 413)
    assert "1000" in body["detail"]
    resp = caller.put("/sources/sleman-app/reports/big", json=report_payload(body="x" * 2000))
    assert_problem(resp, 413)
    resp = caller.post("/sync/batches", json={"operations": [
        {"op": "upsert_report", "system": "sleman-app", "external_id": "b",
         "report": report_payload(body="x" * 2000)}]})
    assert_problem(resp, 413)
    resp = caller.post(f"/reports/{small.get_json()['id']}/attachments",
                       data={"file": (io.BytesIO(b"x" * 5000), "a.txt")},
                       content_type="multipart/form-data")
    assert_problem(resp, 413)
    assert counts(app) == before
    with small_app.app_context():
        db.session.remove()


def test_413_even_without_content_length_check_by_client(app, small_app, sleman):
    # A lying Content-Length does not get a body past the limit either.
    caller = Caller(small_app.test_client(), sleman.token, "kab-sleman")
    raw = json.dumps(report_payload(body="y" * 5000)).encode()
    resp = small_app.test_client().post(
        "/api/v1/reports", data=raw, content_type="application/json",
        headers={"Authorization": f"Bearer {caller.token}"})
    assert_problem(resp, 413)
    assert counts(app) == (0, 0)
    with small_app.app_context():
        db.session.remove()


def test_five_megabyte_body(app, sleman, tmp_path):
    raw = json.dumps(report_payload(body="z" * (5 * 1024 * 1024))).encode()
    # Under the default limit (16 MiB) it is parsed and refused for its length ...
    assert_field_error(post_raw(sleman, "/reports", raw), "body")
    # ... and with a 1 MiB limit it is refused unread.
    one_mib = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "HUB_REDIS_URL": None, "SECRET_KEY": app.config["SECRET_KEY"],
        "HUB_ATTACHMENT_DIR": str(tmp_path / "att"), "MAX_CONTENT_LENGTH": 1024 * 1024})
    resp = one_mib.test_client().post("/api/v1/reports", data=raw,
                                      content_type="application/json",
                                      headers={"Authorization": f"Bearer {sleman.token}"})
    body = assert_problem(resp, 413)
    assert str(1024 * 1024) in body["detail"]
    assert counts(app) == (0, 0)
    with one_mib.app_context():
        db.session.remove()


@pytest.mark.parametrize("query,status", [
    ({"limit": 0}, 422), ({"limit": 1001}, 422), ({"limit": "ten"}, 422),
    ({"limit": "1e3"}, 422), ({"status": "open"}, 422), ({"channel": "pigeon"}, 422),
    ({"updated_since": "yesterday"}, 422), ({"updated_since": "2026-11-21"}, (400, 422)),
    ({"cursor": "%%%"}, 400), ({"cursor": "WzFd"}, 400),  # [1]: wrong arity
    ({"cursor": "WyJub3QtYS1kYXRlIiwieCJd"}, 400),  # ["not-a-date","x"]
    ({"cursor": "WyIyMDI2LTExLTIwVDAwOjAwOjAwKzAwOjAwIiwibm90LWEtdXVpZCJd"}, 400),
    ({"cursor": "x" * 600}, 422),
])
def test_bad_list_parameters(app, sleman, query, status):
    sleman.create_report()
    assert_problem(sleman.get("/reports", query_string=query), status)


# --- routing errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/reports", "/nothing-here",
                                  "/api/v1/reports/x/unknown"])
def test_unknown_path_is_404_problem(client, sleman, path):
    assert_problem(client.get(path), 404)
    assert_problem(client.get(path, headers={"Authorization": f"Bearer {sleman.token}"}), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("delete", "/api/v1/reports", {"GET", "POST"}),
    ("patch", "/api/v1/reports", {"GET", "POST"}),
    ("put", "/api/v1/reports/00000000-0000-0000-0000-000000000000", {"GET"}),
    ("delete", "/api/v1/reports/00000000-0000-0000-0000-000000000000", {"GET"}),
    ("get", "/api/v1/reports/00000000-0000-0000-0000-000000000000/status", {"POST"}),
    ("get", "/api/v1/sync/batches", {"POST"}),
    ("post", "/api/v1/categories", {"GET"}),
    ("get", "/api/v1/sources/x/reports/1", {"PUT"}),
])
def test_wrong_method_is_405_with_allow(client, sleman, method, path, allowed):
    resp = getattr(client, method)(path, headers={"Authorization": f"Bearer {sleman.token}"})
    assert_problem(resp, 405)
    listed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert allowed <= listed, listed
    assert not ({"DELETE", "PATCH"} - allowed) & listed


# --- property: arbitrary JSON never breaks the hub ------------------------------------------------

JSON_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
               | st.floats(allow_nan=True, allow_infinity=True)
               | st.text(st.characters(blacklist_categories=()), max_size=30)
               | st.sampled_from(["", "\x00", "\ud800", "2026-11-20T08:00:00",
                                  "2026-11-20T08:00:00+07:00", "infrastruktur.jalan",
                                  "kab-bantul", "kab-sleman", "web", "verified", "a" * 201,
                                  JAVANESE, "NaN", "-7.7"]))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
PATHS = [("title",), ("body",), ("category",), ("classification",), ("channel",),
         ("location",), ("location", "lat"), ("location", "lon"), ("location", "text"),
         ("location", "region_code"), ("occurred_at",), ("submitted_at",), ("privacy",),
         ("privacy", "anonymous"), ("privacy", "confidential"), ("reporter",),
         ("reporter", "name"), ("reporter", "phone"), ("reporter", "email"), ("agency",),
         ("status",), ("source_updated_at",), ("extra",), ("location", "extra")]
MUTATIONS = st.lists(st.tuples(st.sampled_from(PATHS), st.booleans(), JSON_VALUES),
                     min_size=1, max_size=3)


def _mutate(payload: dict, mutations) -> dict:
    for path, delete, value in mutations:
        target = payload
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        if delete:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return payload


def _send(caller, method, path, body):
    # json.dumps (not Flask's encoder): NaN/Infinity literals and \\ud800 escapes go through.
    return getattr(caller.client, method)(
        "/api/v1" + path, data=json.dumps(body), content_type="application/json",
        headers={"Authorization": f"Bearer {caller.token}"})


FUZZ = settings(deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(mutations=MUTATIONS)
def test_fuzz_create_report(app, sleman, mutations):
    payload = _mutate(report_payload(), mutations)
    before = counts(app)
    resp = _send(sleman, "post", "/reports", payload)
    assert resp.status_code < 500, (payload, resp.get_data(as_text=True))
    reports, events = counts(app)
    if resp.status_code >= 400:
        assert_problem(resp)
        assert (reports, events) == before
    else:
        assert resp.status_code == 201
        assert reports == before[0] + 1
        got = sleman.get(f"/reports/{resp.get_json()['id']}")
        assert got.status_code == 200


@FUZZ
@given(mutations=MUTATIONS)
def test_fuzz_source_upsert(app, sleman, mutations):
    payload = _mutate(report_payload(), mutations)
    before = counts(app)
    resp = _send(sleman, "put", "/sources/x/reports/1", payload)
    assert resp.status_code < 500, (payload, resp.get_data(as_text=True))
    reports, events = counts(app)
    if resp.status_code >= 400:
        assert_problem(resp)
        assert (reports, events) == before
    else:
        result = resp.headers["Hub-Upsert-Result"]
        assert reports == before[0] + (1 if result == "created" else 0)
        if result in ("unchanged", "stale"):
            assert events == before[1]


@FUZZ
@given(mutations=MUTATIONS, wrapper=st.sampled_from(["item", "batch", "none"]),
       junk=JSON_VALUES)
def test_fuzz_sync_batch(app, sleman, mutations, wrapper, junk):
    ops = [{"op": "upsert_report", "system": "x", "external_id": f"f-{i}",
            "report": report_payload()} for i in range(2)]
    ops[0]["report"] = _mutate(ops[0]["report"], mutations)
    body = {"operations": ops}
    if wrapper == "item":
        ops.append(junk)
    elif wrapper == "batch":
        body = {"operations": junk} if isinstance(junk, (list, dict)) else junk
    before = counts(app)
    resp = _send(sleman, "post", "/sync/batches", body)
    assert resp.status_code < 500, (body, resp.get_data(as_text=True))
    reports, _ = counts(app)
    if resp.status_code >= 400:
        assert_problem(resp)
        assert counts(app) == before
        return
    results = resp.get_json()["results"]
    assert all(r["status"] < 500 for r in results), results
    for r in results:
        if r["result"] == "failed":
            assert r["status"] >= 400 and r["error"]["status"] == r["status"]
    created = sum(1 for r in results if r["result"] == "created")
    assert reports == before[0] + created
