"""Rate limits on POST /api/v1/auth/token, POST /ui/login and the public Open311 facade:
429 with Retry-After, problem+json (Open311: its own error shape), per client address,
counted in Redis when the hub has one (shared by every worker process)."""
import uuid

import pytest

from hub import create_app
from hub.extensions import db
from hub.models import ApiClient, hash_secret
from tests.ui.conftest import csrf_from

PROBLEM = "application/problem+json"


@pytest.fixture
def limited_app(app, database_url, tmp_path):
    """An app like the suite's, but with low limits switched on."""
    def make(**config):
        return create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "HUB_REDIS_URL": None,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
            "HUB_ATTACHMENT_DIR": str(tmp_path), "HUB_RATELIMIT_ENABLED": True,
            "HUB_RATELIMIT_TOKEN": "3/minute", "HUB_RATELIMIT_LOGIN": "2/minute",
            "HUB_RATELIMIT_OPEN311": "3/minute",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", **config})
    return make


def _client_row(app):
    with app.app_context():
        db.session.add(ApiClient(id="rl-client", name="rl", agency_code="kab-sleman",
                                 scopes="reports:read", secret_hash=hash_secret("s3cret")))
        db.session.commit()


def _assert_429(resp):
    assert resp.status_code == 429, resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    return resp


def test_token_endpoint_is_limited_per_address(app, limited_app):
    _client_row(app)
    client = limited_app().test_client()
    for _ in range(3):
        assert client.post("/api/v1/auth/token", json={
            "client_id": "rl-client", "client_secret": "wrong"}).status_code == 401
    resp = _assert_429(client.post("/api/v1/auth/token", json={
        "client_id": "rl-client", "client_secret": "s3cret"}))
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == 429 and "Retry-After" in body["detail"]
    # Another address is not held up by this one.
    other = client.post("/api/v1/auth/token", environ_base={"REMOTE_ADDR": "127.0.0.9"},
                        json={"client_id": "rl-client", "client_secret": "s3cret"})
    assert other.status_code == 200, other.get_json()


def test_login_posts_are_limited_but_the_form_still_shows(limited_app):
    client = limited_app().test_client()
    token = csrf_from(client.get("/ui/login").get_data(as_text=True))
    attempt = {"email": "x@y.id", "password": "wrong-guess", "csrf_token": token}
    for _ in range(2):
        assert client.post("/ui/login", data=attempt).status_code != 429
    resp = _assert_429(client.post("/ui/login", data=attempt))
    # A page of the UI, in the officer's language, not the API's problem+json.
    assert resp.mimetype == "text/html"
    assert "Terlalu banyak percobaan" in resp.get_data(as_text=True)
    assert client.get("/ui/login").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_is_limited_in_its_own_error_shape(limited_app, fmt):
    client = limited_app().test_client()
    for _ in range(3):
        assert client.get(f"/open311/v2/services.{fmt}").status_code == 200
    resp = _assert_429(client.get(f"/open311/v2/requests.{fmt}"))
    if fmt == "json":
        assert resp.content_type.startswith("application/json")
        assert resp.get_json()[0]["code"] == 429
    else:
        assert b"<errors>" in resp.data and b"<code>429</code>" in resp.data


def test_with_redis_the_workers_share_the_counters(app, limited_app):
    from tests.conftest import REDIS_URL
    _client_row(app)
    prefix = f"test-{uuid.uuid4().hex}"
    workers = [limited_app(HUB_REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
               for _ in range(2)]
    assert workers[0].extensions["hub_limiter"]._storage.__class__.__name__ == "RedisStorage"
    codes = [workers[i % 2].test_client().post("/api/v1/auth/token", json={
        "client_id": "rl-client", "client_secret": "s3cret"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_suite_runs_with_limits_off(app, client):
    _client_row(app)
    for _ in range(40):
        assert client.post("/api/v1/auth/token", json={
            "client_id": "rl-client", "client_secret": "s3cret"}).status_code == 200
