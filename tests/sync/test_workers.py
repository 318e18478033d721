"""Real RQ workers on real Redis: scheduling, one run per connector, SIGKILL mid-run."""
import itertools
import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from hub.extensions import db
from hub.models import Connector, Report, ReportExternalRef, SyncRun
from tests.conftest import REDIS_URL
from tests.helpers import start_worker


@pytest.fixture
def queue_name():
    return f"sync-test-{uuid.uuid4().hex[:8]}"


def _worker(app, queue_name, *, burst=True, extra_env=None):
    return start_worker(app, queue_name, burst=burst,
                        env={"HUB_SYNC_LEASE_SECONDS": "5", **(extra_env or {})})


def _runs(app):
    with app.app_context():
        return [(r.status, dict(r.counts)) for r in db.session.execute(
            sa.select(SyncRun).order_by(SyncRun.id)).scalars()]


def _reports(app):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(Report)).scalar()


def test_worker_runs_an_enqueued_sync(app, sim, connector, queue_name):
    sim.generate(40, seed=21)
    q = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    q.enqueue("hub.tasks.jobs.sync_connector", connector, "schedule")
    worker = _worker(app, queue_name)
    assert worker.wait(timeout=120) == 0, worker.stdout.read().decode()[-2000:]
    assert _reports(app) == 40
    assert [s for s, _ in _runs(app)] == ["succeeded"]


def test_two_workers_one_run_per_connector(app, sim, connector, queue_name):
    sim.generate(600, seed=22)
    q = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    for _ in range(4):
        q.enqueue("hub.tasks.jobs.sync_connector", connector, "schedule")
    workers = [_worker(app, queue_name) for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=180) == 0, w.stdout.read().decode()[-2000:]
    runs = _runs(app)
    # Jobs that found the lease taken did nothing; the runs that happened never overlapped
    # and between them created each record exactly once.
    assert sum(c["created"] for _, c in runs) == 600
    assert _reports(app) == 600
    with app.app_context():
        rows = db.session.execute(sa.select(SyncRun.started_at, SyncRun.ended_at)
                                  .order_by(SyncRun.started_at)).all()
    for (_, end), (start, _) in itertools.pairwise(rows):
        assert end <= start, "two runs of one connector overlapped"


def test_worker_killed_mid_run_loses_and_doubles_nothing(app, sim, connector, queue_name):
    sim.generate(1500, seed=23, with_responses=True)
    expected_reports = len(sim.store.aduan)
    expected_refs = len(sim.store.aduan) + len(sim.store.tanggapan)
    # A slow local system (each list page takes 0.3 s): a fast engine must not finish the
    # whole backfill before the kill can land.
    sim.fault("timeout", delay=0.3, paths=["/api/aduan"])
    q = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    q.enqueue("hub.tasks.jobs.sync_connector", connector, "schedule")
    worker = _worker(app, queue_name, burst=False)
    deadline = time.time() + 60
    while time.time() < deadline and _reports(app) < 300:  # some pages committed
        time.sleep(0.05)
    assert 0 < _reports(app) < expected_reports, "the kill must land mid-run"
    # RQ runs the job in a forked "work horse" in a session of its own: kill both.
    subprocess.run(["pkill", "-KILL", "-f", f"queues {queue_name}"], check=False)
    worker.wait(timeout=30)
    assert subprocess.run(["pgrep", "-f", f"queues {queue_name}"]).returncode == 1
    time.sleep(6)  # the dead worker's lease (5 s) expires
    sim.fault("none")
    q.enqueue("hub.tasks.jobs.sync_connector", connector, "schedule")
    rerun = _worker(app, queue_name)
    assert rerun.wait(timeout=240) == 0, rerun.stdout.read().decode()[-2000:]
    assert _reports(app) == expected_reports, _runs(app)
    with app.app_context():
        refs = db.session.execute(sa.select(ReportExternalRef.external_id)).scalars().all()
        statuses = [s for s, _ in _runs(app)]
    assert len(refs) == len(set(refs)) == expected_reports
    assert statuses[0] == "abandoned" and statuses[-1] == "succeeded"
    from hub.models import ResponseExternalRef
    with app.app_context():
        rrefs = db.session.execute(sa.select(ResponseExternalRef.external_id)).scalars().all()
    assert len(rrefs) == len(set(rrefs)) == expected_refs - expected_reports


def test_scheduler_claims_due_connectors_once(app, connector):
    from hub.models import utcnow
    from hub.tasks.jobs import claim_due_connectors
    with app.app_context():
        first = claim_due_connectors(db.session, utcnow())
        second = claim_due_connectors(db.session, utcnow())
        conn = db.session.get(Connector, connector)
        conn.paused = True
        conn.next_run_at = None
        db.session.commit()
        third = claim_due_connectors(db.session, utcnow())
    assert first == [connector] and second == [] and third == []
