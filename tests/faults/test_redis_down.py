"""Redis stops while reports arrive: the API keeps accepting, and connector syncs that
fell due while it was away run once it is back.

Uses a redis-server of its own on a free port (the shared one on 6379 serves other tests).
"""
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from redis import Redis

from hub.extensions import db
from hub.models import Connector, ReportExternalRef, SyncRun
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(180)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class OwnRedis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: it goes away as a crash would
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def _worker(app, redis_url):
    env = dict(os.environ, HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_REDIS_URL=redis_url, HUB_SECRET_KEY=app.config["SECRET_KEY"],
               HUB_CONNECTOR_ALLOW_NETWORKS=app.config["HUB_CONNECTOR_ALLOW_NETWORKS"])
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker", "--queues", "sync",
         "--burst"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150)


def _local_refs(app) -> int:
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(ReportExternalRef)
                               .where(ReportExternalRef.system == "lapor-sleman")).scalar()
        db.session.remove()
    return n


def test_api_accepts_while_redis_is_down_and_syncs_resume(app, client, own_redis, monkeypatch,
                                                         sim, connector, sleman):
    monkeypatch.setitem(app.config, "HUB_REDIS_URL", own_redis.url)
    assert client.get("/readyz").get_json()["checks"]["queue"] == "ok"
    sim.generate(25, seed=61)

    own_redis.stop()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["queue"].startswith("unavailable")
    # Reports keep arriving, one by one and in a batch: all accepted.
    started = time.monotonic()
    created = [sleman.create_report()["id"] for _ in range(5)]
    batch = sleman.post("/sync/batches", json={"operations": [
        {"op": "upsert_report", "system": "sleman-app", "external_id": f"R-{i}",
         "report": {"title": f"Laporan saat Redis mati {i}", "body": "Isi laporan.",
                    "category": "infrastruktur.jalan", "channel": "web"}}
        for i in range(10)]})
    assert batch.status_code == 207
    assert {r["result"] for r in batch.get_json()["results"]} == {"created"}
    assert time.monotonic() - started < 30, "accepting reports waited on the dead Redis"
    assert all(sleman.get(f"/reports/{rid}").status_code == 200 for rid in created)

    # The scheduler ticks while Redis is down: the due connector cannot be enqueued ...
    from hub.tasks.jobs import enqueue_due
    with app.app_context():
        enqueue_due()
        db.session.remove()
    assert _local_refs(app) == 0

    # ... Redis comes back (empty: nothing was persisted), the scheduler ticks again and a
    # worker runs the sync that fell due while Redis was away.
    own_redis.start()
    with app.app_context():
        again = enqueue_due()
        db.session.remove()
    assert again == [connector], "the connector that fell due while Redis was down was lost"
    done = _worker(app, own_redis.url)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # The 25 local complaints came in, and the 15 reports accepted while Redis was down
    # went out to the local system (each linked by a lapor-sleman ref), exactly once.
    assert _local_refs(app) == 25 + len(created) + 10
    assert len(sim.store.aduan) == 25 + len(created) + 10
    with app.app_context():
        runs = db.session.execute(sa.select(SyncRun.status)).scalars().all()
        conn = db.session.get(Connector, connector)
        assert runs == ["succeeded"] and conn.next_run_at is not None
        db.session.remove()
    assert client.get("/readyz").status_code == 200
