"""gunicorn's settings, read by `gunicorn wsgi:app` run from this directory.

Threads, not sync workers: a sync worker serves one connection at a time, so two clients
sending their bodies a byte at a time take a two-worker hub down (even /healthz waits, and
the master kills the stuck workers). Each gthread worker serves HUB_GUNICORN_THREADS
requests at once, waits for a new connection's first bytes in its poller rather than in a
thread, and the app gives a request body HUB_REQUEST_BODY_SECONDS to arrive before it
answers 408 (hub.body_deadline): a slow client holds one thread, for a bounded time.
Workers still come from `-w` (or WEB_CONCURRENCY); keep HUB_GUNICORN_THREADS at or under
the database pool (SQLAlchemy's default: 5 + 10 overflow per process).

Prometheus counters live in each process: with several workers, /metrics answered by one
of them would show that worker's requests only, a different figure on every scrape.
prometheus_client's multiprocess mode keeps every worker's values in files of one shared
directory and sums them at scrape time (hub/health.py). The directory must be named
before prometheus_client is first imported (it picks its value store then), hence here,
at the top: PROMETHEUS_MULTIPROC_DIR if the operator set one, else a fresh temporary
directory per master.
"""
import glob
import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hub-metrics-")

from prometheus_client import multiprocess  # noqa: E402  (after the directory is named)

worker_class = "gthread"
threads = int(os.environ.get("HUB_GUNICORN_THREADS", 8))


def on_starting(server):
    # Values of an earlier master in an operator's directory would be added to ours.
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
