"""Scale-out: the same sync load run by 1, 2 and 4 RQ workers on one PostgreSQL and Redis.

The load is K connectors to K local systems (K Sleman simulators, one process each),
every sync enqueued twice, as a scheduler and an
impatient officer would. Reported: wall time until every run is done, records/s, and the
duplicates found afterwards (reports per (system, external_id) above one, and runs that
overlapped on one connector), which must be zero.
"""
import json
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack

import psycopg
import yaml
from redis import Redis
from rq import Queue

from bench import harness

REDIS_URL = "redis://127.0.0.1:6379/0"
# One regency per local system: connectors of one agency would rightly push each other's
# reports out (the hub forwards), which would make the load depend on the run order.
AGENCIES = ("kab-sleman", "kab-bantul", "kota-yogyakarta", "kab-kulon-progo",
            "kab-gunungkidul", "kab-magelang", "kab-klaten", "kota-magelang")


def _connectors(env: dict, urls: list[str]) -> list[str]:
    doc = yaml.safe_load((harness.ROOT / "mappings/kab-sleman/lapor-sleman.yaml").read_text())
    ids = []
    for i, url in enumerate(urls):
        d = json.loads(json.dumps(doc))
        cid = f"bench-sleman-{i}"
        agency = AGENCIES[i]
        d["connector"].update(id=cid, system=cid, name=f"bench {i}", agency=agency)
        d["mappings"]["unit"] = {local: agency for local in d["mappings"]["unit"]}
        d["connector"]["config"]["base_url"] = url
        path = harness.ROOT / "var" / "bench" / f"{cid}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(d, allow_unicode=True))
        harness.flask_cli(env, "hub", "connector", "import", str(path),
                          "--secret", "api_key=bench-key")
        ids.append(cid)
    return ids


def _one(workers: int, records: int, urls: list[str]) -> dict:
    db_url = harness.scratch_database(f"hub_bench_scale_{workers}")
    env = harness.prepare_hub_db(db_url)
    ids = _connectors(env, urls)
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
        failed = conn.execute(
            "SELECT count(*) FROM sync_runs WHERE status <> 'succeeded'").fetchone()[0]
    return {"seconds": elapsed, "stored": stored, "doubled": doubled, "overlaps": overlaps,
            "failed": failed, "expected": len(urls) * records}


def run(records: int = 5_000, k: int = 4, worker_counts=(1, 2, 4)) -> list:
    assert k <= len(AGENCIES)
    rows = [("RQ workers", "connectors x records", "seconds", "records/s",
             "reports stored / expected", "duplicates", "overlapping runs", "failed runs")]
    for w in worker_counts:
        with ExitStack() as stack:  # fresh local systems for every round
            urls = [stack.enter_context(harness.sleman_simulator(records, seed=11 + i))
                    for i in range(k)]
            r = _one(w, records, urls)
            # Checked before the figure is reported: every record stored, and once.
            assert r["stored"] == r["expected"], \
                f"{w} workers: {r['stored']} reports stored, {r['expected']} expected"
            assert r["doubled"] == 0, f"{w} workers: {r['doubled']} external ids stored twice"
            rows.append((w, f"{k} x {records:,}", f"{r['seconds']:.1f}",
                         f"{r['expected'] / r['seconds']:,.0f}",
                         f"{r['stored']:,} / {r['expected']:,}", r["doubled"], r["overlaps"],
                         r["failed"]))
    return rows
