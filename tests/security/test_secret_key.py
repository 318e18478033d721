"""HUB_SECRET_KEY: no start without a strong key outside development, no public fallback
key, and a rotation (HUB_SECRET_KEY_PREVIOUS) that keeps sealed secrets readable and
issued tokens valid until the operator drops the old key."""
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from flask import Flask

from hub import create_app
from hub.extensions import db
from hub.keys import InsecureSecretKey, kid
from hub.models import ApiClient, Connector, hash_secret
from tests.helpers import Caller, client_token, hub_jwt

ROOT = Path(__file__).resolve().parents[2]
OLD_DEFAULT = "dev-only-insecure-key-set-HUB_SECRET_KEY"  # the key the hub once fell back to
KEY_1 = "first-key-of-this-hub-" + "a1b2c3d4e5f6g7h8" * 2
KEY_2 = "second-key-of-this-hub-" + "z9y8x7w6v5u4t3s2" * 2


@pytest.fixture(autouse=True)
def _no_key_in_the_environment(monkeypatch):
    for name in ("HUB_SECRET_KEY", "HUB_SECRET_KEY_PREVIOUS", "HUB_ENV"):
        monkeypatch.delenv(name, raising=False)


def _app(app, tmp_path, **config):
    """A hub on the test database configured as an operator would (what is not in
    `config` comes from the environment, which names no key)."""
    return create_app({"TESTING": True, "HUB_REDIS_URL": None,
                       "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "HUB_VAR_DIR": str(tmp_path / "var"),
                       "HUB_ATTACHMENT_DIR": app.config["HUB_ATTACHMENT_DIR"], **config})


@pytest.mark.parametrize("key", [None, "", "short-key", "x" * 40, OLD_DEFAULT])
def test_no_start_outside_development_without_a_strong_key(app, tmp_path, key):
    with pytest.raises(InsecureSecretKey, match="HUB_SECRET_KEY"):
        _app(app, tmp_path, SECRET_KEY=key, HUB_ENV="production")


def test_production_is_the_default_and_the_message_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_VAR_DIR"] = str(tmp_path / "var")
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "hub", "init-db"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "HUB_SECRET_KEY is not set" in out.stderr and "HUB_ENV=development" in out.stderr
    assert not (tmp_path / "var" / "secret-key").exists()


def test_development_makes_its_own_random_key_and_keeps_it(app, tmp_path):
    first = _app(app, tmp_path, HUB_ENV="development")
    again = _app(app, tmp_path, HUB_ENV="development")
    key = first.config["SECRET_KEY"]
    assert key == again.config["SECRET_KEY"] and len(key) >= 32 and key != OLD_DEFAULT
    assert (tmp_path / "var" / "secret-key").read_text().strip() == key
    assert (tmp_path / "var" / "secret-key").stat().st_mode & 0o077 == 0
    other = _app(app, tmp_path / "elsewhere", HUB_ENV="development")
    assert other.config["SECRET_KEY"] != key
    for a in (first, again, other):
        with a.app_context():
            db.engine.dispose()


def test_a_token_forged_with_the_old_default_key_is_refused(app, tmp_path):
    """Started as a newcomer would (development, no key), the hub does not accept the
    national-admin token anyone could sign with the key once published in the code."""
    dev = _app(app, tmp_path, HUB_ENV="development")
    with dev.app_context():
        db.session.add(ApiClient(id="demo-national", name="n", agency_code="*",
                                 scopes="admin", secret_hash=hash_secret("s")))
        db.session.commit()
    now = int(time.time())
    claims = {"iss": "lapor-hub", "aud": "report-exchange-v1", "sub": "demo-national",
              "agency": "*", "scope": "admin", "iat": now, "exp": now + 600, "jti": "f",
              "gen": 1}
    client = dev.test_client()
    forged = [jwt.encode(claims, OLD_DEFAULT, algorithm="HS256"),
              hub_jwt(claims, OLD_DEFAULT),
              jwt.encode(claims, OLD_DEFAULT, algorithm="HS256",
                         headers={"kid": kid(dev.config["SECRET_KEY"])})]
    for token in forged:
        resp = Caller(client, token, "*").get("/reports")
        assert resp.status_code == 401, token
        assert resp.content_type == "application/problem+json"
    # A real token of that client works: the refusals are the forgery's.
    with dev.app_context():
        from hub.auth import issue_token
        real = issue_token(db.session.get(ApiClient, "demo-national"))[0]
    assert Caller(client, real, "*").get("/reports").status_code == 200
    with dev.app_context():
        db.engine.dispose()


def test_a_ui_cookie_forged_with_the_old_default_key_is_refused(app, tmp_path, make_user):
    dev = _app(app, tmp_path, HUB_ENV="development",
               HUB_UI_COOKIE_SECURE=False)
    uid = make_user("admin@lapor.go.id", role="national_admin")
    forger = Flask("forger")
    forger.secret_key = OLD_DEFAULT
    signer = forger.session_interface.get_signing_serializer(forger)
    client = dev.test_client()
    for payload in ({"user_id": uid}, {"sid": "guessed"}, {"user_id": uid, "sid": "x"}):
        client.set_cookie("session", signer.dumps(payload))
        resp = client.get("/ui/connectors")
        assert resp.status_code == 302 and "/ui/login" in resp.headers["Location"]
    with dev.app_context():
        db.engine.dispose()


def _seal_a_connector(hub_app):
    with hub_app.app_context():
        from hub.services.secrets import seal
        db.session.add(Connector(id="rotating", agency_code="kab-sleman", kind="lapor-sleman",
                                 name="r", system="rotating", config={},
                                 secrets=seal({"api_key": "k-123"})))
        db.session.commit()


def _unsealed(hub_app):
    with hub_app.app_context():
        from hub.services.secrets import unseal
        return unseal(db.session.get(Connector, "rotating").secrets)


def test_key_rotation_keeps_secrets_readable_and_tokens_valid_through_the_overlap(
        app, tmp_path):
    old = _app(app, tmp_path, SECRET_KEY=KEY_1)
    _seal_a_connector(old)
    old_token = client_token(old, "kab-sleman", "reports:read")
    # The operator rotates: the new key, the old one kept as previous.
    overlap = _app(app, tmp_path, SECRET_KEY=KEY_2, HUB_SECRET_KEY_PREVIOUS=[KEY_1])
    assert _unsealed(overlap) == {"api_key": "k-123"}
    client = overlap.test_client()
    assert Caller(client, old_token, "kab-sleman").get("/reports").status_code == 200
    new_token = client_token(overlap, "kab-sleman", "reports:read")
    assert jwt.get_unverified_header(new_token)["kid"] == kid(KEY_2)
    result = overlap.test_cli_runner().invoke(args=["hub", "secret-key", "reseal"])
    assert result.exit_code == 0, result.output
    assert "connectors: 1" in result.output
    # The old key dropped: resealed secrets still open, tokens of the old key do not.
    after = _app(app, tmp_path, SECRET_KEY=KEY_2)
    assert _unsealed(after) == {"api_key": "k-123"}
    client = after.test_client()
    assert Caller(client, new_token, "kab-sleman").get("/reports").status_code == 200
    assert Caller(client, old_token, "kab-sleman").get("/reports").status_code == 401
    # And without the reseal, a secret of the old key would not open: the test can fail.
    _app_old = _app(app, tmp_path, SECRET_KEY=KEY_1)
    with pytest.raises(RuntimeError, match="HUB_SECRET_KEY_PREVIOUS"):
        _unsealed(_app_old)
    for a in (old, overlap, after, _app_old):
        with a.app_context():
            db.engine.dispose()
