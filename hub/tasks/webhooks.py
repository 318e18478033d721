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

from hub.tasks.context import app_context
from hub.webhooks import settings

_clients: dict = {}
_quiet_until = 0.0


def _nudge_key(queue: str) -> str:
    return f"hub:webhooks:nudge:{queue}"


def _redis():
    from redis import Redis
    url = current_app.config.get("HUB_REDIS_URL")
    if url not in _clients:
        _clients[url] = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=0.5)
    return _clients[url]


def nudge() -> bool:
    """Enqueue a relay unless one is waiting to start or running. Returns True if so.

    The key is held (refreshed) while a relay runs and dropped just before its last
    look for work, so a burst of commits enqueues one job, and a commit the running relay
    may have missed enqueues the next. It expires by itself in case a job is lost."""
    global _quiet_until
    if not current_app.config.get("HUB_REDIS_URL"):
        return False  # embedded: the scheduler relays in-process
    if time.monotonic() < _quiet_until:
        return False  # Redis failed a moment ago: don't make every commit wait for it
    queue = settings.get("HUB_WEBHOOK_QUEUE")
    try:
        if not _redis().set(_nudge_key(queue), "1", nx=True, ex=30):
            return False
        _enqueue(queue)
    except Exception:
        _quiet_until = time.monotonic() + 5.0
        raise
    return True


def _enqueue(queue: str, helper: bool = False) -> None:
    from rq import Queue
    q = Queue(queue, connection=_redis())
    if helper and q.count:
        return  # a job is already waiting for a worker: no more helpers
    q.enqueue("hub.tasks.webhooks.relay_webhooks", helper=helper, job_timeout=600,
              result_ttl=0)


def _hold(queue: str, on: bool) -> None:
    try:
        if on:
            _redis().set(_nudge_key(queue), "1", ex=30)
        else:
            _redis().delete(_nudge_key(queue))
    except Exception:
        pass  # Redis went away: the scheduler's tick relays anyway


def relay_webhooks(max_seconds: float = 60.0, helper: bool = False) -> dict:
    """Fan out and deliver until there is nothing to do. With Redis the job lingers a
    little (HUB_WEBHOOK_RELAY_LINGER_SECONDS) polling for new events, so a steady stream
    of changes is carried by one running job instead of one forked job per commit.
    A helper (called in when a batch is full) neither lingers nor holds the nudge key."""
    with app_context():
        from hub.extensions import db
        from hub.webhooks import dispatch, relay
        queue = settings.get("HUB_WEBHOOK_QUEUE")
        redis_on = bool(current_app.config.get("HUB_REDIS_URL"))
        hold = redis_on and not helper
        linger = settings.get("HUB_WEBHOOK_RELAY_LINGER_SECONDS") if hold else 0.0
        deadline = time.monotonic() + max_seconds
        totals = {"events": 0, "attempts": 0}
        idle_since = None
        sender = dispatch.Dispatcher()

        def step() -> bool:
            events = relay.fan_out(db.session)
            before = sender.sent
            worked = sender.pump(db.session, fresh=bool(events))
            totals["events"] += events
            totals["attempts"] = sender.sent
            if sender.saturated and sender.sent > before and redis_on:
                try:  # more waiting than one job sends: call in another worker
                    _enqueue(queue, helper=True)
                except Exception:
                    pass
            return bool(events or worked or sender.busy)

        try:
            while time.monotonic() < deadline:
                if hold:
                    _hold(queue, True)
                if step():
                    idle_since = None
                    continue
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since < linger:
                    time.sleep(0.05)
                    continue
                # Leaving: from now a commit enqueues a new relay; one last look covers
                # the commits that came before that.
                if hold:
                    _hold(queue, False)
                if not step():
                    return totals
                idle_since = None
            if hold:  # out of time with work left: hand over to a fresh job
                _hold(queue, False)
                try:
                    nudge()
                except Exception:
                    pass
        finally:
            db.session.rollback()
            sender.drain(db.session)  # requests in flight end by their timeout
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
