"""Enqueueing jobs: RQ on Redis in production, in-process for a newcomer's first run.

Jobs must be safe to run twice (RQ retries, a killed worker's job re-run): the state they
act on lives in the database, and Redis only carries "please look now".
"""
import logging

from flask import current_app

log = logging.getLogger(__name__)


def _redis():
    from redis import Redis
    return Redis.from_url(current_app.config["HUB_REDIS_URL"])


def get_queue(name: str = "default"):
    from rq import Queue
    return Queue(name, connection=_redis())


def enqueue(func, *args, queue: str = "default", **kwargs):
    """Run func(*args) in a worker; without HUB_REDIS_URL, run it now in-process.

    If Redis is away the job is not lost: callers enqueue only what the database already
    records as pending, and the scheduler re-enqueues pending work when Redis is back.
    """
    if not current_app.config.get("HUB_REDIS_URL"):
        return func(*args, **kwargs)
    try:
        # Job ids are not reused: the lease, not RQ, guarantees one run per connector.
        return get_queue(queue).enqueue(func, *args, **kwargs, job_timeout=3600)
    except Exception:
        log.warning("could not enqueue %s; the scheduler will pick it up", func.__name__,
                    exc_info=True)
        return None


EPOCH_KEY = "hub:queue:epoch"


def redis_lost_its_jobs() -> bool:
    """True once after Redis came back without its data (a restart without persistence,
    a flush) and on the very first look: the key every scheduler keeps there is missing.
    False while Redis is away (nothing can be enqueued then anyway)."""
    import time
    try:
        from redis import Redis
        conn = Redis.from_url(current_app.config["HUB_REDIS_URL"], socket_connect_timeout=2,
                              socket_timeout=2)
        return bool(conn.set(EPOCH_KEY, str(time.time()), nx=True))
    except Exception:
        return False


def health() -> str:
    if not current_app.config.get("HUB_REDIS_URL"):
        return "in-process (no HUB_REDIS_URL)"
    try:
        _redis().ping()
        return "ok"
    except Exception as exc:
        return f"unavailable: {exc.__class__.__name__}"
