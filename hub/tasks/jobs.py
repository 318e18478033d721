"""RQ job functions. They run in a worker process, so each builds its app once.

Jobs carry ids only; everything they act on is read from the database, so running a job
twice (an RQ retry, a re-enqueue after Redis came back) does no harm.
"""
from datetime import timedelta

import sqlalchemy as sa

from hub import sqlite
from hub.services import storage
from hub.tasks.context import app_context


def sync_connector(connector_id: str, trigger: str = "schedule"):
    with app_context():
        from hub.sync.runner import run_connector
        return _through_outages(lambda: run_connector(connector_id, trigger),
                                f"sync of {connector_id}")


def reconcile_connector(connector_id: str, trigger: str = "schedule"):
    """A reconciliation (hub.sync.reconcile), under the same lease as the connector's
    syncs: one of them at a time per connector, whichever takes the lease first."""
    with app_context():
        from hub.sync.reconcile import reconcile_connector as reconcile
        return _through_outages(lambda: reconcile(connector_id, trigger),
                                f"reconciliation of {connector_id}")


def _through_outages(run, what: str, give_up_after: float = 600.0):
    """run(), again and again while the database is unreachable, until it answers (or
    give_up_after seconds, then the error stands). In a worker only: the job was taken off
    the queue, so failing it would leave the connector waiting out its claim. In-process
    (no Redis) the error goes to the scheduler, which retries on its next tick."""
    import logging
    import time

    from flask import current_app

    from hub.errors import database_unavailable
    from hub.extensions import db
    from hub.tasks.supervise import Backoff, drop_session
    if not current_app.config.get("HUB_REDIS_URL"):
        return run()
    backoff, started = Backoff(), time.monotonic()
    while True:
        try:
            return run()
        except Exception as exc:
            if not database_unavailable(exc) or time.monotonic() - started > give_up_after:
                raise
            logging.getLogger(__name__).warning(
                "%s: database unreachable (%s); retrying in %.1f s", what,
                exc.__class__.__name__, backoff.wait)
            drop_session(db)
            backoff.sleep()


def replay_held(connector_id: str):
    with app_context():
        from hub.extensions import db
        from hub.models import Connector
        from hub.sync.runner import replay_held as replay
        conn = db.session.get(Connector, connector_id)
        return replay(conn, {}) if conn else 0


@sqlite.writing()
def claim_due_connectors(session, now, limit: int = 100) -> list[str]:
    """Due, unpaused connectors, claimed by pushing next_run_at forward. SKIP LOCKED lets
    several schedulers run at once without enqueueing a connector twice."""
    from hub.models import Connector
    stmt = (sa.select(Connector).where(Connector.paused.is_(False),
                                       sa.or_(Connector.next_run_at.is_(None),
                                              Connector.next_run_at <= now))
            .order_by(Connector.next_run_at).limit(limit))
    due = session.execute(storage.claim(session, stmt)).scalars().all()
    for conn in due:
        # A generous claim: the run itself sets the real next time when it ends.
        conn.next_run_at = now + timedelta(seconds=max(conn.interval_seconds, 30) * 5)
    session.commit()
    return [c.id for c in due]


def release_claims(session, now) -> int:
    """Make claimed connectors due again: their jobs were in a Redis that lost its data.

    A claim pushes next_run_at far ahead and only the job's run sets the real next time,
    so a job lost with Redis would leave its connector waiting out the whole claim. Which
    future next_run_at are claims and which are real cannot be told apart, so every
    connector not running now (no live lease) becomes due: one early sync each after a
    Redis restart, which syncs, safe to repeat, take in their stride."""
    from hub.models import Connector
    released = session.execute(
        sa.update(Connector).where(Connector.paused.is_(False), Connector.next_run_at > now,
                                   sa.or_(Connector.lease_until.is_(None),
                                          Connector.lease_until < now))
        .values(next_run_at=now)).rowcount
    session.commit()
    if released:
        import logging
        logging.getLogger(__name__).warning(
            "Redis lost its queued jobs: %d connector(s) due again", released)
    return released


def enqueue_due() -> list[str]:
    from flask import current_app

    from hub.extensions import db
    from hub.models import Connector, utcnow
    from hub.tasks.queue import enqueue, redis_lost_its_jobs
    if current_app.config.get("HUB_REDIS_URL") and redis_lost_its_jobs():
        release_claims(db.session, utcnow())
    ids = claim_due_connectors(db.session, utcnow())
    for cid in ids:
        job = enqueue(sync_connector, cid, "schedule", queue="sync")
        if job is None and current_app.config.get("HUB_REDIS_URL"):
            # Redis is away: give the claim back so the next tick enqueues it again,
            # instead of the connector waiting out its generous claim.
            db.session.execute(sa.update(Connector).where(Connector.id == cid)
                               .values(next_run_at=utcnow()))
            db.session.commit()
    _enqueue_reconciles()
    enqueue_sla_scan()
    _schedule_webhook_relay()
    return ids


def _enqueue_reconciles() -> list[str]:
    """Enqueue the connectors whose reconciliation is due (`reconcile_every`)."""
    import logging

    from hub.extensions import db
    from hub.models import utcnow
    from hub.sync.reconcile import claim_due
    from hub.tasks.queue import enqueue
    try:
        ids = claim_due(db.session, utcnow())
        for cid in ids:
            enqueue(reconcile_connector, cid, "schedule", queue="sync")
        return ids
    except Exception:  # in-process: a failed reconciliation must not stop the syncs
        db.session.rollback()
        logging.getLogger(__name__).exception("reconciliation failed; it is retried later")
        return []


_last_sla_scan = None


def enqueue_sla_scan(force: bool = False) -> bool:
    """The SLA scan (overdue flags, auto-close) at most every HUB_SLA_SCAN_SECONDS per
    scheduler. Two schedulers scanning at once is harmless (see hub.tasks.sla); the
    interval only saves work."""
    import time

    from flask import current_app

    from hub.tasks.queue import enqueue
    from hub.tasks.sla import scan_job
    global _last_sla_scan
    every = current_app.config["HUB_SLA_SCAN_SECONDS"]
    now = time.monotonic()
    if not force and _last_sla_scan is not None and now - _last_sla_scan < every:
        return False
    _last_sla_scan = now
    try:
        enqueue(scan_job)
    except Exception:  # in-process: a failed scan must not stop syncs and webhooks
        import logging

        from hub.extensions import db
        db.session.rollback()
        logging.getLogger(__name__).exception("SLA scan failed; the next tick retries")
        _last_sla_scan = None
    return True


def _schedule_webhook_relay():
    # Every tick, so webhook retries and any nudge lost while Redis was away still run.
    import logging
    try:
        from hub.tasks.webhooks import schedule_relay
        schedule_relay()
    except Exception:  # webhooks must never stop connectors from being scheduled
        from hub.extensions import db
        db.session.rollback()
        logging.getLogger(__name__).warning("webhook relay failed", exc_info=True)
