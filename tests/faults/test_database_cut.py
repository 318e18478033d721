"""The network to PostgreSQL is cut during requests (a TCP proxy on a free local port in
front of the server, cut by the test): every request ends 2xx or 503 problem+json with
Retry-After, never a 500 nor an exception out of the app, in the COPY paths of
POST /api/v1/sync/batches and in the request's teardown too; nothing partial is left."""
import random
import threading
import time

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import ApiClient, Report, ReportEvent, hash_secret
from tests.faults.tcp_proxy import CuttableProxy
from tests.helpers import Caller, claim_systems, report_payload

pytestmark = pytest.mark.timeout(120)
PROBLEM = "application/problem+json"


@pytest.fixture
def proxy(app):
    port = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).port or 5432
    p = CuttableProxy(port)
    yield p
    p.close()


@pytest.fixture
def cut_app(app, proxy, tmp_path):
    """The hub with its database reached through the proxy."""
    from hub import create_app
    hub = create_app({
        "TESTING": True, "HUB_REDIS_URL": None, "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": proxy.url(app.config["SQLALCHEMY_DATABASE_URI"]),
        "HUB_ATTACHMENT_DIR": str(tmp_path)})
    yield hub
    with hub.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def caller(app, cut_app):
    with app.app_context():
        db.session.add(ApiClient(id="cut", name="cut", agency_code="kab-sleman",
                                 scopes="reports:read reports:write",
                                 secret_hash=hash_secret("s")))
        db.session.commit()
    client = cut_app.test_client()
    token = client.post("/api/v1/auth/token", json={"client_id": "cut", "client_secret": "s"})
    assert token.status_code == 200, token.get_data(as_text=True)
    # Claimed before any cut (on the uncut app): the claim's own COMMIT is not under test.
    claim_systems(app, "kab-sleman", ["sleman-app"])
    caller = Caller(client, token.get_json()["access_token"], "kab-sleman")
    caller.claims_systems = False
    return caller


def _batch(prefix: str, n: int = 25) -> dict:
    return {"operations": [{"op": "upsert_report", "system": "sleman-app",
                            "external_id": f"{prefix}-{i}", "report": report_payload()}
                           for i in range(n)]}


def _counts(app):
    with app.app_context():
        out = tuple(db.session.execute(sa.select(sa.func.count()).select_from(m)).scalar()
                    for m in (Report, ReportEvent))
        db.session.remove()
    return out


def _assert_unavailable(resp):
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.content_type == PROBLEM
    assert resp.get_json()["type"] == "/problems/database-unavailable"
    assert int(resp.headers["Retry-After"]) > 0


# The reports' COPY (in a savepoint), the events' COPY (just before COMMIT), the COMMIT.
@pytest.mark.parametrize("marker", [b"COPY reports ", b"COPY report_events ", b"COMMIT"])
def test_batch_cut_in_copy_or_commit_is_503_and_nothing_partial(app, proxy, caller, marker):
    before = _counts(app)
    proxy.cut_when(marker)
    resp = caller.post("/sync/batches", json=_batch("C"))
    assert proxy.cuts == 1, "the batch never sent " + marker.decode()
    _assert_unavailable(resp)
    assert _counts(app) == before, "a cut connection left part of the batch behind"
    again = caller.post("/sync/batches", json=_batch("C"))
    assert again.status_code == 207, again.get_data(as_text=True)
    assert {r["result"] for r in again.get_json()["results"]} == {"created"}


def test_read_cut_at_its_teardown_rollback_is_not_an_error(app, proxy, caller):
    """A read whose answer is ready loses its connection when the request ends (the
    session's ROLLBACK): the answer stands, and the next request gets a fresh connection."""
    report = caller.create_report()
    for n, path in enumerate(["/categories", f"/reports/{report['id']}/events"], 1):
        proxy.cut_when(b"ROLLBACK")
        resp = caller.get(path)
        assert proxy.cuts == n, f"{path} never rolled back"
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert caller.get(path).status_code == 200


def test_cuts_during_concurrent_requests_give_only_2xx_or_503(app, proxy, caller):
    report = caller.create_report()
    rid = report["id"]
    calls = [
        lambda n: caller.post("/reports", json=report_payload()),
        lambda n: caller.get(f"/reports/{rid}"),
        lambda n: caller.get("/reports?limit=20"),
        lambda n: caller.post(f"/reports/{rid}/responses", json={"body": f"Tindak {n}."}),
        lambda n: caller.post("/sync/batches", json=_batch(f"K{n}", 40)),
    ]
    outcomes, errors = [], []
    stop = time.monotonic() + 6

    def client_loop(seed):
        rng, n = random.Random(seed), 0
        while time.monotonic() < stop:
            n += 1
            try:
                resp = rng.choice(calls)(f"{seed}-{n}")
            except Exception as exc:  # under a real server this is a 500
                errors.append(repr(exc))
                continue
            outcomes.append(resp.status_code)
            if resp.status_code not in (200, 201, 207):
                try:
                    _assert_unavailable(resp)
                except AssertionError as exc:
                    errors.append(str(exc)[:500])

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    cuts, rng = 0, random.Random(7)
    while any(t.is_alive() for t in threads):
        time.sleep(rng.uniform(0.05, 0.4))
        cuts += proxy.cut_all()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert cuts > 0 and 503 in outcomes, (cuts, outcomes)
    assert any(s in (200, 201, 207) for s in outcomes)
    # Afterwards the hub works again on fresh connections.
    assert caller.get(f"/reports/{rid}").status_code == 200
