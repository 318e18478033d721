"""/metrics under gunicorn with several workers: every scrape reports the requests of all
workers (gunicorn.conf.py + prometheus_client's multiprocess mode), whichever answers."""
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import free_port

pytestmark = pytest.mark.timeout(120)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _samples(text: str, name: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name]


def test_every_scrape_sums_the_requests_of_every_worker(app, tmp_path):
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "stale.db").write_bytes(b"an earlier master's file")  # cleared at start
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_SECRET_KEY=app.config["SECRET_KEY"],
               HUB_ATTACHMENT_DIR=str(tmp_path / "attachments"),
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
               HUB_RATELIMIT_ENABLED="false")  # with limits on, this test does not pass yet
    # Run from the checkout, as in production: gunicorn reads gunicorn.conf.py there.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise AssertionError(server.stderr.read().decode()[-2000:])
        assert not (metrics_dir / "stale.db").exists()

        def hit(_):
            with requests.Session() as s:  # a connection each: both workers take some
                return s.get(url + "/healthz", timeout=10).status_code
        sent, deadline = 0, time.time() + 60
        with ThreadPoolExecutor(8) as pool:
            # At least one round, and until both workers have served some (the second may
            # still be starting; the readiness probes may already have reached both).
            while sent == 0 or len(list(metrics_dir.glob("counter_*.db"))) < 2:
                assert time.time() < deadline, "the second worker never served"
                assert set(pool.map(hit, range(20))) == {200}
                sent += 20
        for _ in range(6):
            text = requests.get(url + "/metrics", timeout=10).text
            healthz = [s.value for s in _samples(text, "hub_http_requests_total")
                       if s.labels.get("endpoint") == "/healthz"]
            assert healthz == [float(sent)], (healthz, sent)
            # The database figures appear once, not once per worker.
            statuses = [s.labels["status"] for s in _samples(text, "hub_reports")]
            assert len(statuses) == len(set(statuses))
    finally:
        server.terminate()
        server.wait(timeout=30)
