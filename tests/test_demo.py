"""The README's first command, `make demo` (= python -m hub.demo), on the embedded defaults:
SQLite, no Redis, the Sleman simulator beside the hub. It must come up, print working
credentials, and within a minute show complaints synced in from the local system and the
hub's own complaints pushed out to it."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path):
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_VAR_DIR"] = str(tmp_path / "var")
    proc = subprocess.Popen([sys.executable, "-m", "hub.demo", "--port", str(port),
                             "--simulator-port", str(sim_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        yield proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}", tmp_path
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass  # already gone, as after the SIGTERM test
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait(predicate, seconds: float, what: str):
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} did not happen within {seconds} s (last: {last!r})")


@pytest.mark.slow
def test_demo_syncs_both_ways_within_a_minute(demo):
    proc, hub, sim, tmp = demo
    _wait(lambda: requests.get(hub + "/healthz", timeout=2).status_code == 200, 90,
          "the hub answering /healthz")
    creds = (tmp / "var" / "demo-credentials.txt").read_text()
    client_id, secret = re.search(r"sleman\s+client_id=(\S+) client_secret=(\S+)", creds).groups()
    assert re.search(r"sign in as \S+@slemankab\.go\.id / \S+", creds)
    token = requests.post(hub + "/api/v1/auth/token", timeout=5, json={
        "client_id": client_id, "client_secret": secret}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    def synced_in():
        items = requests.get(hub + "/api/v1/reports?limit=1000", headers=auth,
                             timeout=10).json()["items"]
        return [r for r in items
                if any(ref["system"] == "lapor-sleman" for ref in r["external_refs"])]

    # Local complaints (the simulator generates 25) appear in the hub by themselves...
    local = _wait(lambda: len(synced_in()) >= 25 and synced_in(), 60,
                  "the simulator's complaints reaching the hub")
    assert {r["channel"] for r in local} - {"web"}, "local channels are mapped, not flattened"
    # ...and the hub's dispositioned complaint reaches the local system, marked as the hub's.
    def pushed_out():
        state = requests.get(sim + "/_sim/state", timeout=5).json()
        return state["per_sumber"].get("hub", 0) >= 1 and state
    _wait(pushed_out, 60, "a hub complaint reaching the local system")
    assert proc.poll() is None, "the demo process must keep running"


def readme_walkthrough() -> list[str]:
    """The shell commands of the README's "The API in five calls", one per entry (lines
    continued with a backslash or inside quotes joined), comments left out."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The API in five calls", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line + "\n"
        if current.endswith("\\\n") or current.count("'") % 2:
            continue  # a continued line, or a quoted body still open
        commands.append(current.strip())
        current = ""
    return commands


def test_readme_api_walkthrough_runs_on_the_embedded_default(demo):
    """Every curl of the README's walk-through, as written, against `make demo`'s server
    (SQLite, in-process jobs, the scheduler syncing beside it) over real HTTP, ending with
    a change feed page that holds the response."""
    _proc, hub, _sim, tmp = demo
    _wait(lambda: requests.get(hub + "/healthz", timeout=2).status_code == 200, 90,
          "the hub answering /healthz")
    creds = (tmp / "var" / "demo-credentials.txt").read_text()
    client_id, secret = re.search(r"sleman\s+client_id=(\S+) client_secret=(\S+)", creds).groups()
    assert client_id == "demo-sleman"  # the id the README's first call names
    commands = readme_walkthrough()
    assert len(commands) == 9, commands  # HUB, TOKEN, AUTH and six calls
    prelude, answers, report_id = "set -e -o pipefail\n", [], None
    for command in commands:
        command = command.replace("http://127.0.0.1:5000", hub).replace("<secret>", secret)
        if "<id>" in command:
            assert report_id, "the walk-through uses <id> before creating a report"
            command = command.replace("<id>", report_id)
        if re.match(r"^[A-Z]+=", command):  # HUB=, TOKEN=$(...), AUTH=: the shell's state
            prelude += command + "\n"
            done = subprocess.run(["bash", "-c", prelude + 'test -n "$TOKEN$HUB"'],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, (command, done.stderr)
            continue
        done = subprocess.run(["bash", "-c", prelude + command], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, (command, done.stderr)
        answer = json.loads(done.stdout)
        # A problem+json answer (an error) has a numeric status; a report's is a word.
        assert not isinstance(answer.get("status"), int), (command, answer)
        answers.append((command, answer))
        if report_id is None and "Idempotency-Key" in command:  # step 2, the creation
            report_id = answer["id"]
    created, verified, dispositioned, responded, resolved, feed = (a for _, a in answers)
    assert created["status"] == "received" and created["channel"] == "instagram"
    assert verified["status"] == "verified"
    assert dispositioned["agency"] == "kab-sleman"
    assert responded["body"] == "Penambalan dijadwalkan Kamis."
    assert resolved["status"] == "resolved"
    ours = [item for item in feed["items"] if item["report_id"] == report_id]
    if not ours:  # the demo's own data came first: read on to the walk-through's report
        token = requests.post(hub + "/api/v1/auth/token", timeout=5, json={
            "client_id": client_id, "client_secret": secret}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        cursor = feed["next_cursor"]
        while not ours and feed["has_more"]:
            feed = requests.get(hub + "/api/v1/changes", params={"cursor": cursor,
                                "limit": 1000}, headers=auth, timeout=10).json()
            cursor = feed["next_cursor"]
            ours = [item for item in feed["items"] if item["report_id"] == report_id]
    response_items = [item for item in ours if item["type"] == "response.created"]
    assert len(response_items) == 1, ours
    assert response_items[0]["response"]["body"] == "Penambalan dijadwalkan Kamis."
    assert [item["report"]["status"] for item in ours][-1] == "resolved"


@pytest.mark.slow
def test_sigterm_stops_the_demo_and_its_simulator(demo):
    proc, hub, sim, _ = demo
    _wait(lambda: requests.get(hub + "/healthz", timeout=2).status_code == 200, 90,
          "the hub answering /healthz")
    assert requests.get(sim + "/_sim/state", timeout=5).status_code == 200
    proc.send_signal(signal.SIGTERM)  # to the demo alone, as `kill <pid>` would
    assert proc.wait(timeout=30) is not None

    def simulator_gone():
        try:
            requests.get(sim + "/_sim/state", timeout=1)
        except requests.ConnectionError:
            return True
        return False
    _wait(simulator_gone, 15, "the simulator stopping with the demo")
