"""Reconciliation jobs: real RQ workers on real Redis, and the connector's lease shared
with its syncs, so a reconciliation and a sync of one connector never overlap."""
import itertools
import uuid
from datetime import timedelta

import sqlalchemy as sa
from redis import Redis
from rq import Queue

from hub.extensions import db
from hub.models import Connector, Report, SyncRun, utcnow
from hub.sync.lease import acquire_lease, release_lease
from hub.sync.runner import run_connector
from tests.conftest import REDIS_URL
from tests.helpers import start_worker
from tests.sync.conftest import connector, sim, sleman_doc  # noqa: F401  fixtures


def test_a_reconciliation_waits_for_the_sync_holding_the_connector(app, connector):  # noqa: F811
    from hub.tasks.jobs import reconcile_connector
    with app.app_context():
        assert acquire_lease(connector, "a-sync-elsewhere")
        conn = db.session.get(Connector, connector)
        conn.reconcile_seconds = 86400
        db.session.commit()
        assert reconcile_connector(connector, "schedule") is None  # skipped, not run
        assert db.session.execute(sa.select(SyncRun).where(
            SyncRun.connector_id == connector)).first() is None
        retry = db.session.get(Connector, connector).next_reconcile_at
        # Tried again in minutes, not a day later.
        assert utcnow() < retry < utcnow() + timedelta(minutes=10)
        # And the other way round: a sync finds the lease a reconciliation holds.
        release_lease(connector, "a-sync-elsewhere")
        assert acquire_lease(connector, "a-reconciliation")
        assert run_connector(connector, "schedule") is None
        release_lease(connector, "a-reconciliation")


def test_workers_never_overlap_a_sync_and_a_reconciliation(app, sim, connector):  # noqa: F811
    sim.generate(400, seed=31, with_responses=True)
    queue_name = f"reconcile-test-{uuid.uuid4().hex[:8]}"
    q = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    for _ in range(3):
        q.enqueue("hub.tasks.jobs.sync_connector", connector, "schedule")
        q.enqueue("hub.tasks.jobs.reconcile_connector", connector, "schedule")
    workers = [start_worker(app, queue_name, env={"HUB_SYNC_LEASE_SECONDS": "5"})
               for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=180) == 0, w.stdout.read().decode()[-2000:]
    with app.app_context():
        runs = db.session.execute(sa.select(SyncRun).order_by(SyncRun.started_at)
                                  ).scalars().all()
        reports = db.session.execute(sa.select(sa.func.count()).select_from(Report)
                                     ).scalar()
    assert {r.kind for r in runs} <= {"sync", "reconcile"} and runs
    assert all(r.status == "succeeded" for r in runs), [(r.kind, r.status, r.error)
                                                        for r in runs]
    for earlier, later in itertools.pairwise(runs):
        assert earlier.ended_at <= later.started_at, "a sync and a reconciliation overlapped"
    assert reports == 400
    # Between them every record was created once, whichever kind of run took it first.
    assert sum(r.counts["created"] for r in runs) == 400 + len(sim.store.tanggapan)
