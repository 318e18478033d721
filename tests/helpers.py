"""Test helpers: an authenticated API caller and sample payloads."""
import itertools
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

_counter = itertools.count(1)


class Caller:
    """The Flask test client with a bearer token, speaking JSON to /api/v1.

    A system name must be claimed before anything is written under it. Most tests are
    about other things, so by default the caller claims (for its agency) each unclaimed
    system it is about to write under, as a hub admin would have done beforehand; a test
    about claims sets `claims_systems = False`."""

    claims_systems = True

    def __init__(self, client, token: str, agency: str):
        self.client, self.token, self.agency = client, token, agency

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, headers=None, **kw):
        return self.client.get(_url(path), headers=self._headers(headers), **kw)

    def post(self, path, json=None, headers=None, **kw):
        self._claim_named_systems(path, json)
        return self.client.post(_url(path), json=json, headers=self._headers(headers), **kw)

    def put(self, path, json=None, headers=None, **kw):
        self._claim_named_systems(path, json)
        return self.client.put(_url(path), json=json, headers=self._headers(headers), **kw)

    def _claim_named_systems(self, path, body):
        if not self.claims_systems:
            return
        names = set()
        match = re.match(r"^(?:/api/v1)?/sources/([^/?]+)/", path)
        if match:
            names.add(unquote(match.group(1)))
        if path.split("?")[0].endswith("/sync/batches") and isinstance(body, dict) and \
                isinstance(body.get("operations"), list):
            names.update(op["system"] for op in body["operations"]
                         if isinstance(op, dict) and op.get("op") == "upsert_report"
                         and isinstance(op.get("system"), str))
        claim_systems(self.client.application, self.agency, names)

    def create_report(self, **fields):
        resp = self.post("/reports", json=report_payload(**fields))
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def status(self, report_id, status, **kw):
        return self.post(f"/reports/{report_id}/status", json={"status": status, **kw})

    def resolve(self, report_id, response="Sudah ditangani.", to_agency="kab-sleman"):
        """The whole way to `resolved`: verify, disposition, respond, resolve. Returns the
        resolved report."""
        assert self.status(report_id, "verified").status_code == 200
        assert self.post(f"/reports/{report_id}/dispositions",
                         json={"to_agency": to_agency}).status_code == 200
        assert self.post(f"/reports/{report_id}/responses",
                         json={"body": response}).status_code == 201
        resp = self.status(report_id, "resolved")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()


def claim_systems(app, agency: str, names) -> None:
    """Claim, for `agency`, those of `names` that are valid and not claimed yet (as a
    hub admin does with `hub source-system claim`)."""
    from hub import sqlite
    from hub.extensions import db
    from hub.schemas.reports import ExternalRefSchema
    from hub.services import source_systems
    valid = [n for n in names if not ExternalRefSchema(only=("system",)).validate(
        {"system": n})]
    if not valid:
        return
    # A read then a write, outside any request: on SQLite it must take the write lock
    # up front, or a writer committing in between makes it fail "database is locked".
    with app.app_context(), sqlite.writing():
        for name in valid:
            if source_systems.owner(db.session, name) is None:
                source_systems.claim(db.session, name, agency)
        db.session.commit()


def _url(path: str) -> str:
    return path if path.startswith("/api/") or path.startswith("/open311") \
        or path in ("/healthz", "/readyz", "/metrics") else "/api/v1" + path


def report_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "title": f"Jalan berlubang di Jl. Kaliurang km {n}",
        "body": "Lubang besar di tengah jalan, membahayakan pengendara motor di malam hari.",
        "category": "infrastruktur.jalan",
        "classification": "complaint",
        "channel": "web",
        "location": {"text": "Jl. Kaliurang km 7, Ngaglik", "region_code": "34.04",
                     "lat": -7.72, "lon": 110.41},
        "occurred_at": "2026-11-20T08:00:00+07:00",
        "privacy": {"anonymous": False, "confidential": False},
        "reporter": {"name": "Siti Rahayu", "phone": "081234567890",
                     "email": "siti@example.id"},
    }
    payload.update(overrides)
    return payload


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(app, queue_name: str, *, burst: bool = True, env: dict | None = None):
    """A real `hub worker` process on the test app's database and REDIS_URL, listening to
    queue_name, in its own process group (a kill then reaches RQ's forked work horse)."""
    from tests.conftest import REDIS_URL
    full_env = dict(os.environ, HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                    HUB_REDIS_URL=REDIS_URL, HUB_SECRET_KEY=app.config["SECRET_KEY"],
                    HUB_CONNECTOR_ALLOW_NETWORKS=app.config["HUB_CONNECTOR_ALLOW_NETWORKS"],
                    **(env or {}))
    args = [sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker", "--queues",
            queue_name] + (["--burst"] if burst else [])
    return subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def sqlite_app(tmp_path):
    """The embedded default (SQLite, no queue), migrated and seeded: for the fallbacks of
    code that takes a faster way on PostgreSQL."""
    from hub import create_app
    from hub.extensions import db
    from hub.seed import seed_all
    app = create_app({"TESTING": True, "HUB_REDIS_URL": None,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/hub.sqlite3",
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
                      "HUB_ATTACHMENT_DIR": str(tmp_path / "att")})
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        seed_all(db.session)
        db.session.commit()
    return app


def sqlite_caller(app, agency: str = "kab-sleman") -> "Caller":
    """An API client of `agency` on an app such as sqlite_app's, signed in."""
    from hub.extensions import db
    from hub.models import ApiClient, hash_secret
    with app.app_context():
        db.session.add(ApiClient(id="lite", name="lite", agency_code=agency,
                                 scopes="reports:read reports:write",
                                 secret_hash=hash_secret("s")))
        db.session.commit()
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"client_id": "lite", "client_secret": "s"}).get_json()
    return Caller(client, token["access_token"], agency)


def hub_jwt(claims: dict, key: str, algorithm: str = "HS256") -> str:
    """A JWT signed as the hub signs its tokens (its `kid` header names `key`), for tests
    that need a token the hub's own issue would never make."""
    import jwt

    from hub.keys import kid
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid(key)})


def client_token(app, agency: str = "kab-sleman", scopes: str = "reports:read",
                 client_id: str | None = None) -> str:
    """A real API client (created now) and a token the hub issued to it."""
    import uuid

    from hub.auth import issue_token
    from hub.extensions import db
    from hub.models import ApiClient, hash_secret
    with app.app_context():
        client = ApiClient(id=client_id or f"t-{uuid.uuid4().hex[:8]}", name="test",
                           agency_code=agency, scopes=scopes,
                           secret_hash=hash_secret(uuid.uuid4().hex), secret_generation=1)
        db.session.add(client)
        db.session.commit()
        return issue_token(client)[0]
