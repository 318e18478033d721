"""Scale-out: the same sync load run by 1, 2 and 4 RQ workers on one PostgreSQL and Redis.

The load is K connectors (K local systems, each a REST connector reading the Sleman
simulator as its own source system), every sync enqueued twice, as a scheduler and an
impatient officer would. Reported: wall time until every run is done, records/s, and the
duplicates found afterwards (reports per (system, external_id) above one, and runs that
overlapped on one connector), which must be zero.
"""
import json
import subprocess
import sys
import time
import uuid

import psycopg
import requests
import yaml
from redis import Redis
from rq import Queue

from bench import harness

REDIS_URL = "redis://127.0.0.1:6379/0"


def _simulator(records: int):
    port = harness.free_port()
    sim = subprocess.Popen([sys.executable, "-m", "simulators.sleman", "--port", str(port),
                            "--api-key", "bench-key"], cwd=harness.ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/_sim/state", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    requests.post(url + "/_sim/generate", json={"count": records, "seed": 11},
                  timeout=600).raise_for_status()
    return sim, url


def _connectors(env: dict, url: str, k: int) -> list[str]:
    doc = yaml.safe_load((harness.ROOT / "mappings/kab-sleman/lapor-sleman.yaml").read_text())
    ids = []
    for i in range(k):
        d = json.loads(json.dumps(doc))
        cid = f"bench-sleman-{i}"
        d["connector"].update(id=cid, system=cid, name=f"bench {i}")
        d["connector"]["config"]["base_url"] = url
        path = harness.ROOT / "var" / "bench" / f"{cid}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(d, allow_unicode=True))
        harness.flask_cli(env, "hub", "connector", "import", str(path),
                          "--secret", "api_key=bench-key")
        ids.append(cid)
    return ids


def _one(workers: int, k: int, records: int, url: str) -> dict:
    db_url = harness.scratch_database(f"hub_bench_scale_{workers}")
    env = harness.prepare_hub_db(db_url)
    ids = _connectors(env, url, k)
    queue_name = f"bench-scale-{uuid.uuid4().hex[:8]}"
    env = dict(env, HUB_REDIS_URL=REDIS_URL)
    q = Queue(queue_name, connection=Redis.from_url(REDIS_URL))
    for cid in ids * 2:  # every sync asked for twice: the lease must keep it to one run
        q.enqueue("hub.tasks.jobs.sync_connector", cid, "bench", job_timeout=3600)
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker",
                               "--queues", queue_name, "--burst"], cwd=harness.ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    for p in procs:
        p.wait(timeout=3600)
    elapsed = time.perf_counter() - started
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT system, external_id FROM report_external_refs "
            "GROUP BY system, external_id HAVING count(*) > 1) d").fetchone()[0]
        # Two runs of one connector whose lifetimes overlap would mean the lease failed.
        overlaps = conn.execute(
            "SELECT count(*) FROM sync_runs a JOIN sync_runs b ON a.connector_id = "
            "b.connector_id AND a.id < b.id AND a.started_at < coalesce(b.ended_at, now()) "
            "AND b.started_at < coalesce(a.ended_at, now())").fetchone()[0]
        failed = conn.execute("SELECT count(*) FROM sync_runs WHERE status <> 'succeeded'").fetchone()[0]
    return {"seconds": elapsed, "stored": stored, "doubled": doubled, "overlaps": overlaps,
            "failed": failed, "expected": k * records}


def run(records: int = 5_000, k: int = 8, worker_counts=(1, 2, 4)) -> list:
    sim, url = _simulator(records)
    rows = [("RQ workers", "connectors x records", "seconds", "records/s",
             "reports stored / expected", "duplicates", "overlapping runs", "failed runs")]
    try:
        for w in worker_counts:
            r = _one(w, k, records, url)
            rows.append((w, f"{k} x {records:,}", f"{r['seconds']:.1f}",
                         f"{r['expected'] / r['seconds']:,.0f}",
                         f"{r['stored']:,} / {r['expected']:,}", r["doubled"], r["overlaps"],
                         r["failed"]))
    finally:
        sim.terminate()
        sim.wait(timeout=30)
    return rows
