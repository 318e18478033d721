"""`hub worker` and `hub scheduler` keep themselves running through Redis and PostgreSQL
outages: they log the failure, wait (doubling the wait up to HUB_RECONNECT_MAX_SECONDS),
reconnect and carry on, so no person has to restart them when the service is back.

RQ's own worker gives up ("found an unhandled exception, quitting") when Redis goes away
while it starts, beats or cleans up, and nothing brings it back. Here a worker that ends
that way is replaced by a fresh one once Redis answers again; only a stop request (SIGTERM,
Ctrl-C) or a burst that found the queues empty ends the command.
"""
import logging
import os
import time

log = logging.getLogger(__name__)


def max_wait() -> float:
    return float(os.environ.get("HUB_RECONNECT_MAX_SECONDS", 30))


class Backoff:
    """Waits of 0.5 s, 1 s, 2 s, ... up to max_wait(); reset after a success."""

    def __init__(self):
        self.wait = 0.5

    def sleep(self) -> float:
        waited = self.wait
        time.sleep(waited)
        self.wait = min(self.wait * 2, max_wait())
        return waited

    def reset(self) -> None:
        self.wait = 0.5


def wait_for_redis(url: str) -> None:
    from redis import Redis
    backoff = Backoff()
    while True:
        try:
            Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
            return
        except Exception as exc:
            log.warning("Redis at %s unreachable (%s); retrying in %.1f s", _safe(url),
                        exc.__class__.__name__, backoff.wait)
            backoff.sleep()


def run_worker(url: str, queue_names: list[str], burst: bool) -> None:
    from redis import Redis
    from rq import Queue, Worker
    while True:
        wait_for_redis(url)
        conn = Redis.from_url(url, health_check_interval=10)
        try:
            worker = Worker([Queue(q, connection=conn) for q in queue_names], connection=conn)
            # RQ retries a lost connection while waiting for jobs; its waits stay as short
            # as ours so a worker picks work up again soon after Redis returns.
            worker.max_connection_wait_time = max_wait()
            worker.work(burst=burst)
        except Exception as exc:
            log.warning("worker stopped by %s: %s; starting a new one", exc.__class__.__name__,
                        exc)
            continue
        if worker._stop_requested:
            return
        if burst and _queues_empty(conn, queue_names):
            return
        # Returned without being asked to: RQ quit on an error it logged.
        log.warning("worker %s quit on its own; starting a new one", worker.name)
        time.sleep(0.5)


def _queues_empty(conn, queue_names) -> bool:
    from rq import Queue
    try:
        return all(Queue(q, connection=conn).count == 0 for q in queue_names)
    except Exception:
        return False


def run_scheduler(tick, interval: float, once: bool, echo) -> None:
    """Call tick() every interval seconds; after a failure (database or Redis away) log
    it and try again after a growing wait, until it works again."""
    from hub.extensions import db
    backoff = Backoff()
    while True:
        try:
            ids = tick()
            if ids:
                echo(f"scheduled: {', '.join(ids)}")
            backoff.reset()
            pause = interval
        except Exception as exc:  # keep scheduling; the error is visible in the log
            drop_session(db)
            pause = max(interval, backoff.wait)
            backoff.wait = min(backoff.wait * 2, max_wait())
            echo(f"scheduler: {exc.__class__.__name__}: {exc}; retrying in {pause:.1f} s",
                 err=True)
        if once:
            return
        time.sleep(pause)


def drop_session(db) -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: drop the session, the pool reconnects
        try:
            db.session.invalidate()
        except Exception:
            pass
        db.session.remove()


def _safe(url: str) -> str:
    # No password in the log.
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"
