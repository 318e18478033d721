"""Shared plumbing for benchmarks: a scratch database, a hub under gunicorn, a table."""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def scratch_database(name: str) -> str:
    """Drop and create `name`; return its psycopg URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return db_url(name)


def db_url(name: str) -> str:
    """The psycopg URL of database `name` on the benchmarks' server."""
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def hub_env(db_url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({"HUB_DATABASE_URL": db_url, "HUB_SECRET_KEY": "bench-secret-key-0123456789abcdef",
                "HUB_VAR_DIR": str(ROOT / "var" / "bench"),
                # The local systems (simulators) run on this machine, as in the demo: the
                # operator allows loopback for connectors, nothing more.
                "HUB_CONNECTOR_ALLOW_NETWORKS": "127.0.0.0/8"})
    env.pop("HUB_REDIS_URL", None)
    env.update(extra)
    return env


def flask_cli(env: dict, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout


def prepare_hub_db(db_url: str) -> dict:
    env = hub_env(db_url)
    flask_cli(env, "hub", "init-db")
    flask_cli(env, "hub", "seed")
    return env


def create_client(env: dict, agency: str, scopes: str = "reports:read reports:write"):
    out = flask_cli(env, "hub", "create-client", "--name", f"bench {agency}", "--agency",
                    agency, "--scopes", scopes)
    fields = dict(line.split("=", 1) for line in out.strip().splitlines())
    return fields["client_id"], fields["client_secret"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict, workers: int = 2, threads: int = 1, app: str = "wsgi:app"):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", app],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not up yet
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a worker still in a long request
            proc.kill()
            proc.wait(timeout=30)


@contextmanager
def sleman_simulator(records: int, seed: int = 7, api_key: str = "bench-key",
                     with_responses: bool = False):
    """The Sleman simulator in its own process with `records` complaints; yields its URL."""
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "simulators.sleman", "--port", str(port),
                            "--api-key", api_key], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(url + "/_sim/state", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        requests.post(url + "/_sim/generate", json={"count": records, "seed": seed,
                                                    "with_responses": with_responses},
                      timeout=600).raise_for_status()
        yield url
    finally:
        sim.terminate()
        sim.wait(timeout=30)


def token(url: str, client_id: str, secret: str) -> str:
    resp = requests.post(url + "/api/v1/auth/token",
                         json={"client_id": client_id, "client_secret": secret}, timeout=10)
    resp.raise_for_status()
    return resp.json()["access_token"]


def print_table(title: str, rows: list[tuple]) -> str:
    header, *body = rows
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    def line(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
    text = "\n".join([f"### {title}", "", line(header),
                      "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *[line(r) for r in body], ""])
    print(text, flush=True)
    return text


def claim_system(env: dict, name: str, agency: str) -> None:
    """Claim a source-system name for an agency (only its clients, and national ones,
    write under it)."""
    flask_cli(env, "hub", "source-system", "claim", name, "--agency", agency)
