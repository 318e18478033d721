"""Token issue and verification: forged, expired, wrong-algorithm and scope-less tokens."""
import base64
import json
import time

import jwt
import pytest

from hub.auth import AUDIENCE, ISSUER
from tests.helpers import Caller, hub_jwt

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


def _claims(**over):
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "agency": "kab-sleman",
              "scope": "reports:read reports:write", "iat": now, "exp": now + 600,
              "jti": "j1", "gen": 1}
    claims.update(over)
    return claims


def test_token_with_json_and_form(client, make_caller):
    caller = make_caller("kab-sleman")
    claims = jwt.decode(caller.token, SECRET, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["agency"] == "kab-sleman"
    assert claims["scope"] == "reports:read reports:write"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"]


def test_token_form_encoded(app, client):
    from hub.extensions import db
    from hub.models import ApiClient, hash_secret
    with app.app_context():
        db.session.add(ApiClient(id="form-client", name="f", agency_code="kab-bantul",
                                 scopes="reports:read", secret_hash=hash_secret("s3cret")))
        db.session.commit()
    resp = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials",
                                                   "client_id": "form-client",
                                                   "client_secret": "s3cret"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900


@pytest.mark.parametrize("body,status", [
    ({"client_id": "nobody", "client_secret": "x"}, 401),
    ({"client_id": "test-kab-sleman-1", "client_secret": "wrong"}, 401),
    ({"client_id": "test-kab-sleman-1"}, 422),
    ({"client_id": "test-kab-sleman-1", "client_secret": "secret-1",
      "grant_type": "password"}, 400),
])
def test_token_refused(client, make_caller, body, status):
    make_caller("kab-sleman")
    resp = client.post("/api/v1/auth/token", json=body)
    assert resp.status_code == status
    assert resp.content_type == "application/problem+json"
    assert "access_token" not in resp.get_json()


def test_inactive_client_gets_no_token(app, client, make_caller):
    from hub.extensions import db
    from hub.models import ApiClient
    make_caller("kab-sleman")
    with app.app_context():
        db.session.get(ApiClient, "test-kab-sleman-1").active = False
        db.session.commit()
    resp = client.post("/api/v1/auth/token",
                       json={"client_id": "test-kab-sleman-1", "client_secret": "secret-1"})
    assert resp.status_code == 401


def _unsigned(claims):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}."


@pytest.mark.parametrize("token,fragment", [
    (jwt.encode(_claims(), "some-other-key-of-sufficient-length!!", algorithm="HS256"),
     "invalid"),
    (jwt.encode(_claims(), SECRET, algorithm="HS256"), "invalid"),  # no kid header
    (hub_jwt(_claims(exp=int(time.time()) - 10), SECRET), "expired"),
    (hub_jwt(_claims(), SECRET, algorithm="HS512"), "invalid"),
    (_unsigned(_claims()), "invalid"),
    (hub_jwt(_claims(aud="someone-else"), SECRET), "invalid"),
    (hub_jwt({k: v for k, v in _claims().items() if k != "exp"}, SECRET), "invalid"),
    (hub_jwt(_claims(agency=None), SECRET), "invalid"),
    # Well signed, but with claims of the wrong type: refused, not a 500.
    (hub_jwt(_claims(exp=str(int(time.time()) + 600)), SECRET), "invalid"),
    (hub_jwt(_claims(iat=str(int(time.time()))), SECRET), "invalid"),
    (hub_jwt(_claims(sub=["x"]), SECRET), "invalid"),
    (hub_jwt(_claims(gen="1"), SECRET), "invalid"),
    (hub_jwt(_claims(scope=7), SECRET), "invalid"),
    (hub_jwt(_claims(exp=True), SECRET), "token"),
    ("not-a-jwt", "invalid"),
])
def test_bad_tokens_are_refused(client, client_x, token, fragment):
    resp = Caller(client, token, "x").get("/reports")
    assert resp.status_code == 401
    assert resp.content_type == "application/problem+json"
    assert fragment in resp.get_json()["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_no_token(client):
    for method, path in [("get", "/api/v1/reports"), ("post", "/api/v1/reports"),
                         ("get", "/api/v1/changes"), ("post", "/api/v1/sync/batches"),
                         ("put", "/api/v1/sources/x/reports/1")]:
        resp = getattr(client, method)(path, json={})
        assert resp.status_code == 401, (method, path)


def test_missing_scope_is_403(make_caller):
    reader = make_caller("kab-sleman", "reports:read")
    resp = reader.post("/reports", json={"title": "x"})
    assert resp.status_code == 403
    assert "reports:write" in resp.get_json()["detail"]
    writer_only = make_caller("kab-sleman", "reports:write")
    assert writer_only.get("/reports").status_code == 403


@pytest.fixture
def client_x(app):
    """The API client named in _claims (sub "x"), so that only the token is at fault."""
    from hub.extensions import db
    from hub.models import ApiClient, hash_secret
    with app.app_context():
        db.session.add(ApiClient(id="x", name="x", agency_code="kab-sleman",
                                 scopes="reports:read", secret_hash=hash_secret("x")))
        db.session.commit()


def test_a_remembered_token_still_expires(client, client_x, monkeypatch):
    """Verified tokens are remembered (hub.auth._verify); the expiry is checked each time,
    so a token that worked a moment ago is refused once it has expired."""
    token = hub_jwt(_claims(exp=int(time.time()) + 60), SECRET)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/reports", headers=auth).status_code == 200
    assert client.get("/api/v1/reports", headers=auth).status_code == 200  # remembered
    real = time.time
    monkeypatch.setattr("hub.auth.time.time", lambda: real() + 120)
    resp = client.get("/api/v1/reports", headers=auth)
    assert resp.status_code == 401 and "expired" in resp.get_json()["detail"]


def test_a_token_is_remembered_per_signing_key(client, client_x, app, monkeypatch):
    token = hub_jwt(_claims(), SECRET)
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/reports", headers=auth).status_code == 200
    # The key rotated: the same token, remembered under the old key, is now invalid.
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-key-" + "x" * 40)
    assert client.get("/api/v1/reports", headers=auth).status_code == 401
