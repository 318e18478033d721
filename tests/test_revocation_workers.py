"""Under gunicorn with two workers, a client deactivated through the admin API has its
token refused by both workers within a second, though each had just accepted it (and
remembered it as verified). Which worker answered is read from each worker's own
prometheus_client file, as in tests/test_metrics_workers.py."""
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector

from tests.helpers import free_port

pytestmark = pytest.mark.timeout(150)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _per_worker(metrics_dir) -> dict:
    """{worker file: {status: requests of the reports list}}."""
    out = {}
    for path in metrics_dir.glob("counter_*.db"):
        counts = {}
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for s in family.samples:
                if (s.name == "hub_http_requests_total" and s.labels["method"] == "GET"
                        and s.labels["endpoint"] == "/api/v1/reports"):
                    counts[s.labels["status"]] = counts.get(s.labels["status"], 0) + s.value
        out[path.name] = counts
    return out


def test_a_deactivated_client_is_refused_by_every_worker_within_a_second(
        app, tmp_path, make_caller):
    sleman = make_caller("kab-sleman", "reports:read")
    admin = make_caller("*", "admin")
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_SECRET_KEY=app.config["SECRET_KEY"],
               HUB_ATTACHMENT_DIR=str(tmp_path / "attachments"),
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {sleman.token}"}

    def hit(_):
        with requests.Session() as s:  # a connection each: both workers take some
            return s.get(url + "/api/v1/reports", headers=auth, timeout=10).status_code

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
        with ThreadPoolExecutor(8) as pool:
            # Both workers accept the token (and so remember it) before it is revoked.
            deadline = time.time() + 60
            while not (len(seen := _per_worker(metrics_dir)) == 2
                       and all(c.get("200") for c in seen.values())):
                assert time.time() < deadline, f"the second worker never served: {seen}"
                assert set(pool.map(hit, range(16))) == {200}
            before = _per_worker(metrics_dir)
            revoked = requests.post(
                f"{url}/api/v1/clients/{sleman_id(sleman)}/deactivate",
                headers={"Authorization": f"Bearer {admin.token}"}, timeout=10)
            assert revoked.status_code == 200, revoked.text
            time.sleep(1.0)
            deadline = time.time() + 60
            while True:
                assert set(pool.map(hit, range(16))) == {401}
                after = _per_worker(metrics_dir)
                if all(after[w].get("401", 0) > before[w].get("401", 0) for w in after):
                    break
                assert time.time() < deadline, f"a worker never answered: {after}"
        # Not one request was accepted after the second had passed, on either worker.
        assert all(after[w].get("200") == before[w].get("200") for w in after), (before,
                                                                                after)
    finally:
        server.terminate()
        server.wait(timeout=30)


def sleman_id(caller) -> str:
    import jwt
    return jwt.decode(caller.token, options={"verify_signature": False})["sub"]
