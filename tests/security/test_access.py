"""Access control, table-driven over every route of the Flask app (app.url_map).

New endpoints are covered by themselves: each route is either on the explicit PUBLIC
allow-list below or must refuse every bad token (none, forged, expired, alg=none, wrong
audience, garbage), a token without scopes, and (for writes) a read-only token. Another
agency's things are 404 by id and absent from every list; UI pages need a session and
another agency's officer gets 404.
"""
import base64
import io
import json
import uuid
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import ApiClient, ReportEvent, hash_secret, utcnow
from hub.sync import files
from tests.helpers import client_token, hub_jwt, report_payload
from tests.ui.conftest import page_csrf

PROBLEM = "application/problem+json"
SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"

# Routes anyone may call. Everything else under /api or /ui must authenticate.
# /api/v1/categories and /api/v1/agencies are the public master data the spec lists for
# building forms (category tree, agency directory); they hold nothing about reports.
PUBLIC_EXACT = {"/", "/healthz", "/readyz", "/metrics", "/api/v1/auth/token",
                "/api/v1/openapi.json", "/api/v1/categories", "/api/v1/agencies",
                "/ui/login", "/ui/lang"}
PUBLIC_PREFIXES = ("/api/v1/docs", "/open311", "/static/")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def is_public(rule: str) -> bool:
    return rule in PUBLIC_EXACT or rule.startswith(PUBLIC_PREFIXES)


def all_routes(app):
    """[(rule, method, endpoint)] for every route and method the app serves."""
    out = []
    for r in app.url_map.iter_rules():
        for method in sorted(r.methods - IGNORED_METHODS):
            out.append((r.rule, method, r.endpoint))
    return out


def api_routes(app):
    return [(rule, m) for rule, m, _ in all_routes(app)
            if not is_public(rule) and not rule.startswith("/ui")]


def ui_routes(app):
    return [(rule, m) for rule, m, _ in all_routes(app)
            if rule.startswith("/ui") and not is_public(rule)]


def fill(app, rule: str, method: str, values: dict) -> str:
    """A concrete URL for `rule`: known parameters get the value of a real thing of
    Sleman's; unknown ones (routes added later) get a random id, which still proves the
    token is checked."""
    adapter = app.url_map.bind("localhost")
    endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule
                    and method in r.methods)
    rule_obj = next(r for r in app.url_map.iter_rules() if r.rule == rule
                    and method in r.methods)
    args = {}
    for name in rule_obj.arguments:
        converter = rule_obj._converters.get(name)
        choices = getattr(converter, "items", None)  # <any(a, b):name>
        if choices and values.get(name) not in choices:
            args[name] = sorted(choices)[0]
        else:
            args[name] = values.get(name, _random_value(converter))
    return adapter.build(endpoint, args, method=method)


# Valid bodies for the write routes, so a refusal is about who asks, not what is sent.
# Routes added later get {} (their 422 is accepted, as long as nothing leaks or changes).
BODIES = {
    "/api/v1/reports/<string:report_id>/status": lambda: {"status": "verified"},
    "/api/v1/reports/<string:report_id>/dispositions": lambda: {"to_agency": "kab-bantul"},
    "/api/v1/reports/<string:report_id>/responses": lambda: {"body": "Bukan urusan kami."},
    "/api/v1/sources/<string:system>/reports/<path:external_id>": lambda: dict(
        report_payload(), source_updated_at="2026-11-21T09:00:00+07:00"),
    "/api/v1/connectors/<string:connector_id>/mappings": lambda: {"mappings": {}},
}


def _random_value(converter):
    kind = type(converter).__name__
    if kind == "IntegerConverter":
        return 987654321
    if kind == "UUIDConverter":
        return uuid.uuid4()
    return uuid.uuid4().hex


def call(client, method, url, token=None, headers=None, rule=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    kw = {}
    if rule and rule.endswith("/attachments") and method == "POST":
        kw = {"data": {"file": (io.BytesIO(b"lampiran\n"), "a.txt")},
              "content_type": "multipart/form-data"}
    elif method in ("POST", "PUT", "PATCH"):
        kw = {"json": BODIES.get(rule, dict)()}
    return client.open(url, method=method, headers=h, **kw)


# --- tokens ---------------------------------------------------------------------------------

def _claims(client_id, agency="kab-sleman", scope="reports:read reports:write admin",
            **over):
    now = utcnow()
    claims = {"iss": "lapor-hub", "aud": "report-exchange-v1", "sub": client_id,
              "agency": agency, "scope": scope, "iat": now,
              "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex, "gen": 1}
    claims.update(over)
    return claims


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, default=str).encode()).rstrip(
        b"=").decode()


def bad_tokens(app) -> dict:
    key = app.config["SECRET_KEY"]
    claims = _claims("attacker", agency="*")
    payload = dict(claims, iat=int(claims["iat"].timestamp()),
                   exp=int(claims["exp"].timestamp()))
    return {
        "none": None,
        "garbage": "not-a-jwt",
        "forged": jwt.encode(claims, "some-other-key-that-is-long-enough-for-hs256",
                             algorithm="HS256"),
        "expired": hub_jwt(_claims("attacker", agency="*",
                                   iat=utcnow() - timedelta(hours=2),
                                   exp=utcnow() - timedelta(hours=1)), key),
        "alg_none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(payload) + ".",
        "alg_none_signed": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(payload) + "."
        + hub_jwt(claims, key).rsplit(".", 1)[1],
        "wrong_audience": hub_jwt(_claims("attacker", agency="*", aud="other-api"), key),
        "wrong_issuer": hub_jwt(_claims("attacker", agency="*", iss="evil"), key),
        "no_expiry": hub_jwt({k: v for k, v in claims.items() if k != "exp"}, key),
        "string_expiry": hub_jwt(dict(payload, exp=str(payload["exp"])), key),
        "no_client": hub_jwt(claims, key),  # well signed, but no such client
        "hs512": jwt.encode(claims, key + "-padding-for-hs512-" * 3, algorithm="HS512"),
    }


def good_token(app, scope: str, agency: str = "kab-sleman") -> str:
    return client_token(app, agency, scope)


# --- Sleman's things --------------------------------------------------------------------------

@pytest.fixture
def sleman_things(app, sleman, make_caller):
    """A report with a response and an attachment, an upserted report, and a connector,
    all Sleman's; returns the URL parameter values that name them."""
    report = sleman.create_report(
        reporter={"name": "Rahasia Warga", "phone": "0811000111", "email": "r@example.id"})
    resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": "Ditangani."})
    assert resp.status_code == 201, resp.get_json()
    att = sleman.post(f"/reports/{report['id']}/attachments",
                      data={"file": (io.BytesIO(b"catatan rahasia sleman\n"), "c.txt")},
                      content_type="multipart/form-data")
    assert att.status_code == 201, att.get_json()
    put = sleman.put("/sources/sleman-app/reports/LOC-1", json=dict(
        report_payload(), source_updated_at="2026-11-20T09:00:00+07:00"))
    assert put.status_code in (200, 201), put.get_json()
    # A webhook subscription of Sleman's and a delivery in its log (a test ping).
    hooks = make_caller("kab-sleman", "reports:read webhooks:manage")
    app.config["HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.0/8"
    try:
        sub = hooks.post("/webhooks", json={"url": "http://127.0.0.1:9/sleman-hook-path"})
        assert sub.status_code == 201, sub.get_json()
        sub_id = sub.get_json()["id"]
        ping = hooks.post(f"/webhooks/{sub_id}/test", json={})
        assert ping.status_code == 200, ping.get_json()
        delivery_id = ping.get_json()["id"]
    finally:
        app.config.pop("HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS", None)
    doc = files.load_file(SLEMAN_FILE)
    doc["connector"]["config"]["base_url"] = "http://127.0.0.1:9"
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={"api_key": "k-123"})
        db.session.commit()
        connector_id = conn.id
    return {"report_id": report["id"], "ident": report["id"],
            "attachment_id": att.get_json()["id"], "connector_id": connector_id,
            "system": "sleman-app", "external_id": "LOC-1", "action": "pause",
            "upserted_id": put.get_json()["id"], "path": "index.html",
            "filename": "hub.css", "_rest": "nothing-here", "sub_id": sub_id,
            "delivery_id": delivery_id}


def _event_count(app):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(ReportEvent)).scalar()
        db.session.remove()
    return n


# --- the table ----------------------------------------------------------------------------------

def test_every_route_is_either_public_or_guarded(app):
    """The allow-list is explicit: a guarded area must not be empty, and nothing outside
    /api, /ui, health and static exists unaccounted for."""
    routes = all_routes(app)
    assert len(api_routes(app)) >= 15 and len(ui_routes(app)) >= 10
    for rule, _, _ in routes:
        assert rule.startswith(("/api/", "/ui", "/static/", "/open311")) or is_public(rule), \
            f"route {rule} is neither public nor under a guarded prefix"


def test_api_refuses_bad_tokens_on_every_route(app, client, sleman_things):
    events_before = _event_count(app)
    tokens = bad_tokens(app)
    failures = []
    for rule, method in api_routes(app):
        url = fill(app, rule, method, sleman_things)
        for name, token in tokens.items():
            resp = call(client, method, url, token, rule=rule)
            if resp.status_code != 401 or resp.content_type != PROBLEM \
                    or "Bearer" not in resp.headers.get("WWW-Authenticate", ""):
                failures.append((method, rule, name, resp.status_code))
            # Nothing of Sleman's ever comes back to an unauthenticated caller.
            assert b"Rahasia Warga" not in resp.data and b"0811000111" not in resp.data
    assert not failures, failures
    assert _event_count(app) == events_before, "a refused request wrote something"


def test_api_refuses_missing_scope_on_every_route(app, client, sleman_things):
    events_before = _event_count(app)
    no_scope = good_token(app, "")
    read_only = good_token(app, "reports:read")
    failures = []
    for rule, method in api_routes(app):
        url = fill(app, rule, method, sleman_things)
        resp = call(client, method, url, no_scope, rule=rule)
        if resp.status_code != 403 or resp.content_type != PROBLEM:
            failures.append((method, rule, "no scope", resp.status_code))
        if method != "GET":
            resp = call(client, method, url, read_only, rule=rule)
            if resp.status_code != 403 or resp.content_type != PROBLEM:
                failures.append((method, rule, "read only", resp.status_code))
    assert not failures, failures
    assert _event_count(app) == events_before


def test_another_agency_reads_and_writes_nothing_of_sleman(app, client, sleman_things,
                                                          make_caller):
    bantul = make_caller("kab-bantul",
                         "reports:read reports:write mappings:write webhooks:manage")
    events_before = _event_count(app)
    secret_bits = [b"Rahasia Warga", b"0811000111", b"catatan rahasia sleman",
                   sleman_things["report_id"].encode(), sleman_things["upserted_id"].encode(),
                   b"k-123", b"sleman-hook-path", str(sleman_things["sub_id"]).encode()]
    failures = []
    for rule, method in api_routes(app):
        url = fill(app, rule, method, sleman_things)
        resp = call(client, method, url, bantul.token, rule=rule)
        assert resp.status_code < 500, (method, rule, resp.get_data(as_text=True))
        has_id = any(f":{k}>" in rule
                     for k in ("report_id", "connector_id", "attachment_id", "external_id",
                               "sub_id", "delivery_id"))
        allowed = (403, 404) if method == "GET" or rule in BODIES or \
            rule.endswith("/attachments") else (403, 404, 422)
        if has_id and resp.status_code not in allowed:
            failures.append((method, rule, resp.status_code))
        leaked = [bit for bit in secret_bits if bit in resp.data]
        if leaked:
            failures.append((method, rule, "leaked", leaked))
    assert not failures, failures
    assert _event_count(app) == events_before, "another agency changed Sleman's things"
    # And Sleman itself still sees everything (the fixture is not simply broken).
    sleman_token = good_token(app, "reports:read")
    got = call(client, "GET", f"/api/v1/reports/{sleman_things['report_id']}", sleman_token)
    assert got.status_code == 200


def test_another_agency_sees_nothing_in_lists(app, sleman_things, make_caller):
    bantul = make_caller("kab-bantul", "reports:read reports:write mappings:write")
    own = bantul.create_report()
    reports = bantul.get("/reports?limit=100").get_json()["items"]
    assert [r["id"] for r in reports] == [own["id"]]
    feed = bantul.get("/changes?limit=500").get_json()
    ids = {item.get("report_id") or (item.get("report") or {}).get("id")
           for item in feed["items"]}
    assert sleman_things["report_id"] not in ids and own["id"] in ids
    conns = bantul.get("/connectors").get_json()["items"]
    assert conns == []
    hooks = make_caller("kab-bantul", "reports:read webhooks:manage")
    listed = hooks.get("/webhooks")
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    assert b"sleman-hook-path" not in listed.data


def test_agency_scoped_token_cannot_claim_national(app, client, sleman_things):
    """A client's agency comes from its row at token issue, not from what it asks for."""
    with app.app_context():
        db.session.add(ApiClient(id="bantul-x", name="x", agency_code="kab-bantul",
                                 scopes="reports:read", secret_hash=hash_secret("s3cret-x")))
        db.session.commit()
    resp = client.post("/api/v1/auth/token", json={"client_id": "bantul-x",
                                                   "client_secret": "s3cret-x",
                                                   "agency": "*", "scope": "admin"})
    assert resp.status_code in (200, 422), resp.get_json()
    if resp.status_code == 200:
        claims = jwt.decode(resp.get_json()["access_token"], options={"verify_signature": False})
        assert claims["agency"] == "kab-bantul" and "admin" not in claims["scope"].split()
    wrong = client.post("/api/v1/auth/token", json={"client_id": "bantul-x",
                                                    "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.content_type == PROBLEM


# --- UI -------------------------------------------------------------------------------------------

def test_ui_without_session_redirects_to_login(app, sleman_things):
    client = app.test_client()
    failures = []
    assert len(ui_routes(app)) >= 12
    for rule, method in ui_routes(app):
        if rule == "/ui/<path:_rest>":
            continue  # the UI's own 404 page for unknown paths
        url = fill(app, rule, method, sleman_things)
        if method == "GET":
            resp = client.get(url)
            ok = resp.status_code == 302 and "/ui/login" in resp.headers["Location"]
        else:
            # A POST without a session has no CSRF token either: refused before anything.
            resp = client.open(url, method=method, data={"csrf_token": "x"})
            ok = resp.status_code in (302, 400, 403) and b"Rahasia" not in resp.data
        if not ok:
            failures.append((method, rule, resp.status_code))
    assert not failures, failures


def test_ui_another_agencys_officer_gets_404(app, sleman_things, bantul_officer):
    """Another agency's connectors, reports and webhooks are 404 to a Bantul officer."""
    failures, checked = [], 0
    csrf = page_csrf(bantul_officer)
    for rule, method in ui_routes(app):
        if not any(f"<{k}>" in rule or f":{k}>" in rule
                   for k in ("connector_id", "ident", "sub_id", "delivery_id")):
            continue
        checked += 1
        url = fill(app, rule, method, sleman_things)
        if method == "GET":
            resp = bantul_officer.get(url)
        else:
            resp = bantul_officer.open(url, method=method, data={"csrf_token": csrf})
        # 404 (not yours), or 403 where the officer's role may not act at all.
        if resp.status_code not in (403, 404) or b"Rahasia" in resp.data \
                or b"sleman-hook-path" in resp.data:
            failures.append((method, rule, resp.status_code))
    assert not failures, failures
    assert checked >= 9, checked
