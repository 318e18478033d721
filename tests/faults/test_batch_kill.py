"""A gunicorn serving POST /api/v1/sync/batches is SIGKILLed mid-request; the client
retries the same batch against a fresh server: every report is stored exactly once."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from hub.extensions import db
from tests.faults.conftest import events_counter_held, lock_waiter_pids
from tests.helpers import claim_systems, free_port, report_payload

pytestmark = pytest.mark.timeout(180)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM = "sleman-app"


class Gunicorn:
    """One gunicorn master with one worker, the app preloaded so a killed worker is
    replaced by a fresh fork in milliseconds (importing the app again would take seconds
    on a busy machine). kill_worker() SIGKILLs the process serving the request."""

    def __init__(self, app, tmp_path):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update(HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                   HUB_SECRET_KEY=app.config["SECRET_KEY"],
                   HUB_ATTACHMENT_DIR=str(tmp_path / "attachments"))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{self.port}",
             "--preload", "--timeout", "120", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 40
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError("gunicorn did not start: " + self.proc.stderr.read().decode()[-2000:])

    def worker_pid(self) -> int:
        deadline = time.time() + 20
        while time.time() < deadline:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                 text=True).stdout.split()
            if out:
                return int(out[0])
            time.sleep(0.05)
        raise RuntimeError("gunicorn has no worker")

    def kill_worker(self) -> int:
        pid = self.worker_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_ready(self, old_pid: int):
        """Until a new worker (not old_pid) answers."""
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.worker_pid() != old_pid and \
                        requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("gunicorn did not replace its killed worker")

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


@pytest.fixture
def servers(app, tmp_path):
    started = []

    def start():
        server = Gunicorn(app, tmp_path)
        started.append(server)
        return server
    yield start
    for server in started:
        server.kill()


def _batch(app, n: int) -> dict:
    claim_systems(app, "kab-sleman", [SYSTEM])  # a hub admin's claim, made beforehand
    return {"operations": [{"op": "upsert_report", "system": SYSTEM, "external_id": f"K-{i}",
                            "report": report_payload(title=f"Laporan batch nomor {i}")}
                           for i in range(n)]}


def _post(url, token, body, key=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(url + "/api/v1/sync/batches", json=body, headers=headers, timeout=90)


def _stored(app) -> tuple[int, int, int]:
    with app.app_context():
        reports = db.session.execute(sa.text("SELECT count(*) FROM reports")).scalar_one()
        refs = db.session.execute(sa.text(
            "SELECT count(*), count(DISTINCT external_id) FROM report_external_refs "
            "WHERE system = :s"), {"s": SYSTEM}).one()
        db.session.remove()
    return reports, refs[0], refs[1]


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["resp"] = fn()
        except requests.RequestException as exc:
            box["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def _retry_until_done(app, server, sleman, body, key, n):
    first = _post(server.url, sleman.token, body, key)
    assert first.status_code == 207, first.text
    results = first.json()["results"]
    assert len(results) == n and all(r["result"] in ("created", "unchanged") for r in results)
    again = _post(server.url, sleman.token, body, key)
    assert again.status_code == 207
    assert _stored(app) == (n, n, n), "a retried batch stored a report twice or lost one"


@pytest.mark.postgresql_only  # a row lock and pg_stat_activity pause the commit
@pytest.mark.parametrize("key", [None, "batch-retry-1"])
def test_kill_before_commit_then_retry_stores_each_report_once(app, db_url, servers, sleman,
                                                               key):
    n = 200
    body = _batch(app, n)
    server = servers()
    with events_counter_held(db_url):
        thread, box = _in_thread(lambda: _post(server.url, sleman.token, body, key))
        # The batch has written everything and waits to commit: kill the server now.
        assert lock_waiter_pids(db_url), "the batch never reached its commit"
        killed = server.kill_worker()
        thread.join(30)
    assert "error" in box, "the client must see the connection die"
    # The dead server's transaction never committed.
    deadline = time.time() + 10
    while lock_waiter_pids(db_url, timeout=0) and time.time() < deadline:
        time.sleep(0.1)
    assert _stored(app) == (0, 0, 0)
    server.wait_ready(killed)
    _retry_until_done(app, server, sleman, body, key, n)


def test_kill_at_random_moments_then_retry_stores_each_report_once(app, servers, sleman):
    """No lock: kills land wherever the request is (parsing, writing, committing, or after
    the commit while the answer is on its way) and the retry still converges."""
    n = 300
    body = _batch(app, n)
    server = servers()
    outcomes = set()
    for delay in (0.05, 0.5, 1.5):
        thread, box = _in_thread(lambda: _post(server.url, sleman.token, body))
        time.sleep(delay)
        killed = server.kill_worker()
        thread.join(60)
        outcomes.add("answered" if "resp" in box else "cut off")
        server.wait_ready(killed)
        reports, refs, distinct = _stored(app)
        assert reports == refs == distinct and reports in (0, n), \
            "a killed batch left part of itself behind"
    assert "cut off" in outcomes, "no kill landed mid-request"
    _retry_until_done(app, server, sleman, body, None, n)
