"""Real RQ workers on real Redis: a commit nudges the relay, and a worker killed with
SIGKILL mid-delivery loses nothing."""
import os
import signal
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from hub.extensions import db
from hub.models import WebhookDelivery
from tests.conftest import REDIS_URL
from tests.helpers import start_worker
from tests.webhooks.conftest import FAST, subscribe

WH = "reports:read webhooks:manage"


@pytest.fixture
def queue_name():
    return f"webhooks-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def via_redis(app, queue_name):
    """This process enqueues on Redis (the nudge after commit) to a queue of its own."""
    import hub.tasks.webhooks
    hub.tasks.webhooks._quiet_until = 0.0  # a Redis-away test may have quietened nudges
    saved = {k: app.config.get(k) for k in ("HUB_REDIS_URL", "HUB_WEBHOOK_QUEUE")}
    app.config.update(HUB_REDIS_URL=REDIS_URL, HUB_WEBHOOK_QUEUE=queue_name)
    yield Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    app.config.update(saved)
    Redis.from_url(REDIS_URL).delete(f"hub:webhooks:nudge:{queue_name}")


def _worker(app, queue_name, *, burst=True, extra_env=None):
    env = {"HUB_WEBHOOK_QUEUE": queue_name, **{k: str(v) for k, v in FAST.items()},
           **(extra_env or {})}
    return start_worker(app, queue_name, burst=burst, env=env)


def _deliveries(app):
    with app.app_context():
        return db.session.execute(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
                                  ).scalars().all()


def test_a_commit_nudges_the_relay_through_redis(app, make_caller, fast, receiver, sleman,
                                                 via_redis):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    for _ in range(3):
        sleman.create_report()
    assert via_redis.count >= 1, "no relay job was enqueued after the commits"
    assert via_redis.count <= 3
    worker = _worker(app, via_redis.name)
    assert worker.wait(timeout=120) == 0, worker.stdout.read().decode()[-2000:]
    assert len(set(receiver.ids())) == 3
    assert {d.status for d in _deliveries(app)} == {"succeeded"}


def test_worker_killed_mid_delivery_loses_nothing(app, make_caller, fast, receiver, sleman,
                                                  queue_name):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    expected = 6
    for _ in range(expected):
        sleman.create_report()
    receiver.delay = 0.7  # slow receiver: the kill lands while requests are in flight
    queue = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    queue.enqueue("hub.tasks.webhooks.relay_webhooks")
    slow = {"HUB_WEBHOOK_CONCURRENCY": "1", "HUB_WEBHOOK_TIMEOUT_SECONDS": "1.5"}
    worker = _worker(app, queue_name, burst=False, extra_env=slow)
    deadline = time.time() + 60
    while time.time() < deadline and len(receiver.requests) < 2:
        time.sleep(0.05)
    # RQ runs the job in a forked work horse in a session of its own: kill it and the
    # worker, by pid.
    horses = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True,
                            text=True).stdout.split()
    for pid in [worker.pid, *map(int, horses)]:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    killed = datetime.now(timezone.utc)
    worker.wait(timeout=30)
    killed_at = len(set(receiver.ids()))
    assert 0 < len(receiver.requests) and killed_at < expected, "the kill must land mid-run"
    pending = [d for d in _deliveries(app) if d.status == "pending"]
    assert pending
    # Every claim of the dead worker ends within one lease of its death (it renewed
    # them while alive), not after a lease sized for a whole batch of timeouts.
    lease = FAST["HUB_WEBHOOK_CLAIM_SECONDS"]
    latest = max(d.next_attempt_at for d in pending)
    assert latest <= killed + timedelta(seconds=lease + 1.0), (latest - killed)
    # The dead worker's claims come back within one lease (it renewed them while alive),
    # not after a lease long enough for a whole batch of timeouts.
    time.sleep(FAST["HUB_WEBHOOK_CLAIM_SECONDS"] + 0.5)
    receiver.delay = 0
    queue.enqueue("hub.tasks.webhooks.relay_webhooks")
    rerun = _worker(app, queue_name, extra_env=slow)
    assert rerun.wait(timeout=120) == 0, rerun.stdout.read().decode()[-2000:]
    deliveries = _deliveries(app)
    assert len(deliveries) == expected
    assert {d.status for d in deliveries} == {"succeeded"}, \
        [(d.status, d.attempts, d.last_error) for d in deliveries]
    # every event arrived, under one webhook-id each (a request cut off by the kill may
    # arrive twice with the same id: receivers dedupe on it)
    assert set(receiver.ids()) == {d.message_id for d in deliveries}


def test_redis_away_delays_but_never_drops(app, make_caller, fast, receiver, sleman):
    """The nudge fails (nothing listens on the Redis port): the write still commits and
    the scheduler's relay delivers the events later."""
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    saved = app.config.get("HUB_REDIS_URL")
    app.config["HUB_REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        report = sleman.create_report()  # asserts 201
        assert sleman.status(report["id"], "verified").status_code == 200
    finally:
        app.config["HUB_REDIS_URL"] = saved
    import hub.tasks.webhooks
    assert hub.tasks.webhooks._quiet_until > 0  # the failed nudge quietened the next ones
    hub.tasks.webhooks._quiet_until = 0.0
    assert receiver.requests == []
    with app.app_context():  # Redis back (or embedded): the scheduler's tick relays
        from hub.tasks.jobs import enqueue_due
        enqueue_due()
    assert [p["type"] for p in receiver.payloads()] == ["report.created",
                                                        "report.status_changed"]
