"""The webhook relay job and its nudge.

`relay_webhooks` fans new events out and sends due deliveries until there is nothing
left to do right now (or its time is up). It carries no arguments: all state is in the
database, so any number of copies may run at once (fan-out takes a row lock, deliveries
are claimed with SKIP LOCKED). A commit that recorded events nudges it through Redis;
the scheduler also enqueues it every tick, so deliveries wait while Redis is away but
are never dropped. Without Redis the scheduler runs it in-process.
"""
import time

from flask import current_app

from hub.tasks.jobs import _app_context
from hub.webhooks import settings

_clients: dict = {}
BATCH = 50  # deliveries claimed at a time by one relay job


def _nudge_key(queue: str) -> str:
    return f"hub:webhooks:nudge:{queue}"


def _redis():
    from redis import Redis
    url = current_app.config.get("HUB_REDIS_URL")
    if url not in _clients:
        _clients[url] = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]


def nudge() -> bool:
    """Enqueue a relay unless one is already waiting to start. Returns True if enqueued.

    The key is set when a relay is enqueued and cleared when it starts, so a burst of
    commits enqueues one job, and a commit after the relay started enqueues the next.
    It expires by itself in case the job is lost."""
    if not current_app.config.get("HUB_REDIS_URL"):
        return False  # embedded: the scheduler relays in-process
    queue = settings.get("HUB_WEBHOOK_QUEUE")
    if not _redis().set(_nudge_key(queue), "1", nx=True, ex=30):
        return False
    from rq import Queue
    Queue(queue, connection=_redis()).enqueue("hub.tasks.webhooks.relay_webhooks",
                                              job_timeout=600, result_ttl=0)
    return True


def relay_webhooks(max_seconds: float = 60.0) -> dict:
    with _app_context():
        from hub.extensions import db
        from hub.webhooks import delivery, relay
        if current_app.config.get("HUB_REDIS_URL"):
            try:
                _redis().delete(_nudge_key(settings.get("HUB_WEBHOOK_QUEUE")))
            except Exception:
                pass  # Redis went away: we are running anyway
        deadline = time.monotonic() + max_seconds
        totals = {"events": 0, "attempts": 0}
        try:
            while time.monotonic() < deadline:
                events = relay.fan_out(db.session)
                attempts = delivery.deliver_due(db.session, BATCH)
                totals["events"] += events
                totals["attempts"] += attempts
                if not events and not attempts:
                    break
                if attempts >= BATCH and current_app.config.get("HUB_REDIS_URL"):
                    # More waiting than one job sends: call in another worker.
                    try:
                        nudge()
                    except Exception:
                        pass
        finally:
            db.session.rollback()
        return totals


def schedule_relay() -> None:
    """From the scheduler's tick: nudge through Redis, or relay here without it."""
    if current_app.config.get("HUB_REDIS_URL"):
        try:
            nudge()
        except Exception:
            current_app.logger.warning("webhook relay not enqueued (Redis away?)")
        return
    relay_webhooks(max_seconds=30.0)
