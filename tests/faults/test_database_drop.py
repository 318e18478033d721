"""PostgreSQL drops the connection mid-request: a clean 503 problem+json with nothing
partial, and the next request works (hub.liveness replaces the dead connection)."""
import threading

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportEvent, Response
from tests.faults.conftest import events_counter_held, lock_waiter_pids, terminate
from tests.helpers import report_payload

# The server ends backends (pg_terminate_backend) and goes away: PostgreSQL itself.
pytestmark = [pytest.mark.timeout(90), pytest.mark.postgresql_only]
PROBLEM = "application/problem+json"


def _snapshot(app):
    with app.app_context():
        out = tuple(db.session.execute(sa.select(sa.func.count()).select_from(m)).scalar()
                    for m in (Report, ReportEvent, Response))
        db.session.remove()
    return out


def _in_thread(fn):
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("resp", fn()), daemon=True)
    t.start()
    return t, box


@pytest.mark.parametrize("what", ["create", "status", "response", "batch"])
def test_connection_killed_mid_request_is_503_and_nothing_partial(app, db_url, sleman, what):
    report = sleman.create_report()
    rid = report["id"]
    calls = {
        "create": lambda: sleman.post("/reports", json=report_payload()),
        "status": lambda: sleman.status(rid, "verified"),
        "response": lambda: sleman.post(f"/reports/{rid}/responses",
                                        json={"body": "Sedang ditangani."}),
        "batch": lambda: sleman.post("/sync/batches", json={"operations": [
            {"op": "upsert_report", "system": "sleman-app", "external_id": f"B-{i}",
             "report": report_payload()} for i in range(25)]}),
    }
    before = _snapshot(app)
    with events_counter_held(db_url):
        thread, box = _in_thread(calls[what])
        pids = lock_waiter_pids(db_url)
        assert len(pids) == 1, "the request must be paused on the lock"
        terminate(db_url, pids)
        thread.join(30)
    assert not thread.is_alive()
    resp = box["resp"]
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == 503 and body["type"] == "/problems/database-unavailable"
    assert resp.headers["Retry-After"]
    assert _snapshot(app) == before, "a dropped connection left part of the write behind"
    got = sleman.get(f"/reports/{rid}").get_json()
    assert got["status"] == report["status"] and got["version"] == report["version"]
    # The next request works: the pool replaced the dead connection.
    retry = calls[what]()
    assert retry.status_code in (200, 201, 207), retry.get_data(as_text=True)
    if what == "batch":
        assert {r["result"] for r in retry.get_json()["results"]} == {"created"}
    assert _snapshot(app) != before


def test_readyz_reports_a_lost_database_and_recovers(app, client, db_url):
    assert client.get("/readyz").status_code == 200
    # Kill every connection the pool holds (idle ones too): the liveness check must notice.
    import psycopg

    from tests.faults.conftest import plain_url
    name = sa.make_url(db_url).database
    with psycopg.connect(plain_url(db_url), autocommit=True) as conn:
        # With a timeout it returns once each backend has exited (its socket closed), as
        # after a restart; without one it only signals, and a checkout in that instant
        # still sees a live socket (that request would get a clean 503, not a 200).
        conn.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["checks"]["database"] == "ok"


def test_database_unreachable_is_503_everywhere(app, tmp_path):
    """PostgreSQL not there at all (nothing listens on its port): readiness says so, the
    API answers 503 problem+json with Retry-After (never a 500), liveness stays up."""
    from hub import create_app
    from tests.helpers import free_port
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(port=free_port())
    down = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(False),
        "HUB_REDIS_URL": None, "SECRET_KEY": app.config["SECRET_KEY"],
        "HUB_ATTACHMENT_DIR": str(tmp_path)})
    client = down.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.content_type == PROBLEM
    assert ready.get_json()["checks"]["database"].startswith("unavailable")
    from tests.helpers import hub_jwt
    from tests.security.test_access import _claims
    # Signed as the hub signs (no client row can be made: the database is down).
    auth = {"Authorization": "Bearer " + hub_jwt(
        _claims("t-down", scope="reports:read reports:write"), down.config["SECRET_KEY"])}
    for method, path, body in [
            ("post", "/api/v1/auth/token", {"client_id": "x", "client_secret": "y"}),
            ("get", "/api/v1/categories", None), ("get", "/api/v1/reports", None),
            ("post", "/api/v1/reports", report_payload())]:
        resp = getattr(client, method)(path, json=body, headers=auth)
        assert resp.status_code == 503, (path, resp.get_data(as_text=True))
        assert resp.content_type == PROBLEM and resp.headers["Retry-After"]
        assert resp.get_json()["type"] == "/problems/database-unavailable"
