"""Redis goes away for ~30 s under a real `hub worker` and `hub scheduler`: both keep
running, and once Redis is back (empty: its queued jobs are lost) the syncs that fell due,
the sync whose job was lost with Redis, and the webhook deliveries recorded meanwhile all
run, with no person acting. Likewise when PostgreSQL is unreachable for a while (a TCP
proxy in front of it, taken down): a sync job taken meanwhile runs once it is back, and
the outage does not count against the connector's circuit.

Uses a redis-server of its own on a free port, as test_redis_down does.
"""
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, Worker

from hub.extensions import db
from hub.models import Connector, utcnow
from tests.faults.tcp_proxy import CuttableProxy
from tests.faults.test_redis_down import ROOT, _local_refs, own_redis  # noqa: F401
from tests.webhooks.conftest import FAST, receiver, subscribe  # noqa: F401

pytestmark = pytest.mark.timeout(240)
OUTAGE = 30.0


def _start(app, redis_url, *args, database_url=None):
    env = dict(os.environ,
               HUB_DATABASE_URL=database_url or app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_REDIS_URL=redis_url, HUB_SECRET_KEY=app.config["SECRET_KEY"],
               HUB_RECONNECT_MAX_SECONDS="2", PYTHONUNBUFFERED="1",
               # The simulator and the webhook receiver live on the loopback.
               HUB_CONNECTOR_ALLOW_NETWORKS="127.0.0.0/8",
               **{k: str(v) for k, v in FAST.items()})
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "hub", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait(what, until, timeout, procs):
    deadline = time.time() + timeout
    while not until():
        for p in procs:
            assert p.poll() is None, f"`hub {p.args[6]}` exited while waiting for {what}"
        assert time.time() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.3)


def _set_next_run(app, connector, at):
    with app.app_context():
        db.session.execute(sa.update(Connector).where(Connector.id == connector)
                           .values(next_run_at=at))
        db.session.commit()
        db.session.remove()


def test_worker_and_scheduler_ride_out_a_redis_outage(
        app, own_redis, sim, connector, make_caller, sleman, receiver):  # noqa: F811
    app.config.update(FAST)
    sim.generate(5, seed=71)
    worker = _start(app, own_redis.url, "worker", "--queues", "sync,webhooks,default")
    scheduler = _start(app, own_redis.url, "scheduler", "--interval", "0.5")
    procs = [worker, scheduler]
    try:
        _wait("the first sync", lambda: _local_refs(app) == 5, 60, procs)

        own_redis.stop()
        down_since = time.monotonic()
        # Meanwhile: new local complaints, a webhook subscriber and a report change
        # (recorded in the database only), and the connector's job "lost with Redis":
        # claimed far ahead, as the scheduler's claim does, but never run.
        sim.generate(7, seed=72)
        subscribe(make_caller("kab-sleman", "reports:read webhooks:manage"), receiver)
        sleman.create_report()
        _set_next_run(app, connector, utcnow() + timedelta(minutes=10))
        while time.monotonic() - down_since < OUTAGE:
            for p in procs:
                assert p.poll() is None, f"`hub {p.args[6]}` exited while Redis was down"
            time.sleep(1)

        own_redis.start()  # empty: whatever was queued is gone
        _wait("the webhook delivery", lambda: "report.created" in
              [p["type"] for p in receiver.payloads()], 60, procs)
        # The 7 complaints came in; the report made meanwhile went out to the local system.
        _wait("the sync after the outage", lambda: _local_refs(app) == 5 + 7 + 1, 60, procs)
        assert len(sim.store.aduan) == 5 + 7 + 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        output = b"".join(p.stdout.read() or b"" for p in procs).decode(errors="replace")
        print(output[-4000:])


def test_worker_and_scheduler_ride_out_a_database_outage(
        app, own_redis, sim, connector, make_caller, sleman, receiver):  # noqa: F811
    app.config.update(FAST)
    proxy = CuttableProxy(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).port or 5432)
    redis = Redis.from_url(own_redis.url)
    redis.set("hub:queue:epoch", "kept")  # this Redis lost nothing: no claims released
    sim.generate(4, seed=81)
    # Scheduled already: only the job enqueued below runs the connector.
    _set_next_run(app, connector, utcnow() + timedelta(minutes=10))
    through = proxy.url(app.config["SQLALCHEMY_DATABASE_URI"])
    worker = _start(app, own_redis.url, "worker", "--queues", "sync,webhooks,default",
                    database_url=through)
    scheduler = _start(app, own_redis.url, "scheduler", "--interval", "0.5",
                       database_url=through)
    procs = [worker, scheduler]
    try:
        _wait("both processes at work", lambda: Worker.all(connection=redis) and
              redis.keys("hub:webhooks:nudge:*"), 60, procs)
        proxy.down()
        down_since = time.monotonic()
        # A sync taken by the worker while the database is away, and a webhook delivery
        # recorded meanwhile (this process reaches the database directly).
        Queue("sync", connection=redis).enqueue("hub.tasks.jobs.sync_connector", connector,
                                                "schedule", job_timeout=3600)
        subscribe(make_caller("kab-sleman", "reports:read webhooks:manage"), receiver)
        sleman.create_report()
        while time.monotonic() - down_since < 10:
            for p in procs:
                assert p.poll() is None, f"`hub {p.args[6]}` exited while the database was away"
            time.sleep(0.5)
        assert _local_refs(app) == 0
        proxy.up()
        _wait("the sync taken during the outage", lambda: _local_refs(app) == 4 + 1, 60, procs)
        _wait("the webhook delivery", lambda: "report.created" in
              [p["type"] for p in receiver.payloads()], 60, procs)
        with app.app_context():
            conn = db.session.get(Connector, connector)
            assert not conn.paused and conn.failure_streak == 0, conn.last_error
            db.session.remove()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        proxy.close()
        output = b"".join(p.stdout.read() or b"" for p in procs).decode(errors="replace")
        print(output[-4000:])
