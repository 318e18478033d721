"""Reads under concurrent load: GET /api/v1/reports/{id} and the list endpoint, driven by
wrk, beside a bare Flask + SQLAlchemy primary-key endpoint on the same table in the same
run (bench/bare_app.py). Same gunicorn settings for both; the ratio is the point."""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from bench import harness, ingest

LUA = """
local ids = {}
for line in io.lines("%(ids)s") do ids[#ids + 1] = line end
math.randomseed(7)
wrk.headers["Authorization"] = "%(auth)s"
request = function()
  return wrk.format("GET", "%(prefix)s" .. ids[math.random(#ids)])
end
"""


def _wrk(url: str, script: Path | None, seconds: int, connections: int, auth: str = ""):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    elif auth:
        cmd += ["-H", f"Authorization: {auth}"]
    out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise AssertionError(f"{non2xx.group(1)} failed requests in {url}:\n{out}")
    return rate, float(p99.group(1)) * scale


def run(n: int = 20_000, seconds: int = 5, connections: int = 8, workers: int = 2,
        rounds: int = 3) -> list:
    """Hub and bare reference take turns (`rounds` times, `seconds` each) with both servers
    up, and each figure is the median of its rounds: load from anything else on the
    machine then falls on both sides of a ratio alike, instead of on whichever ran
    during it."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")
    db_url = harness.scratch_database("hub_bench_reads")
    env = harness.prepare_hub_db(db_url)
    client_id, secret = harness.create_client(env, "kab-sleman")
    for system in ingest.systems(2):
        harness.claim_system(env, system, "kab-sleman")
    rows = [("endpoint", "requests/s", "p99 ms", "vs its bare reference")]
    with tempfile.TemporaryDirectory() as tmp, \
            harness.gunicorn(env, workers=workers) as hub_url, \
            harness.gunicorn(env, workers=workers, app="bench.bare_app:app") as bare_url:
        ids_file = Path(tmp) / "ids.txt"
        tok = harness.token(hub_url, client_id, secret)
        ingest.via_api(hub_url, tok, ingest.make_reports(n), 1000, 2)
        with psycopg.connect(db_url, autocommit=True) as conn:
            # Fresh statistics, as autovacuum would give a live hub after a bulk load:
            # without them the planner scans every tenant row of the agency per read.
            conn.execute("ANALYZE")
            ids = [str(r[0]) for r in conn.execute("SELECT id FROM reports")]
        assert len(ids) == n, f"expected {n} reports, found {len(ids)}"
        ingest.check_stored(db_url, n, "bench-local-", ingest.make_reports(n))
        ids_file.write_text("\n".join(ids) + "\n")
        by_id = Path(tmp) / "by_id.lua"
        by_id.write_text(LUA % {"ids": ids_file, "auth": f"Bearer {tok}",
                                "prefix": "/api/v1/reports/"})
        bare = Path(tmp) / "bare.lua"
        bare.write_text(LUA % {"ids": ids_file, "auth": "", "prefix": "/reports/"})
        loads = {
            "hub_get": (hub_url, by_id, ""),
            "bare_get": (bare_url, bare, ""),
            "hub_list": (hub_url + "/api/v1/reports?limit=100", None, f"Bearer {tok}"),
            "bare_list": (bare_url + "/reports", None, ""),
        }
        runs = {name: [] for name in loads}
        for _ in range(rounds):
            for name, (url, script, auth) in loads.items():
                runs[name].append(_wrk(url, script, seconds, connections, auth))
    hub_get, bare_get, hub_list, bare_list = (_median(runs[k]) for k in loads)
    for name, (rate, p99), ref in (
            (f"hub GET /reports/{{id}} ({n:,} reports)", hub_get, bare_get),
            ("bare Flask+SQLAlchemy GET by primary key", bare_get, bare_get),
            ("hub GET /reports?limit=100", hub_list, bare_get),
            ("hub GET /reports?limit=100 vs a bare 100-row list", hub_list, bare_list),
            ("bare Flask+SQLAlchemy list of 100 rows", bare_list, bare_list)):
        rows.append((name, f"{rate:,.0f}", f"{p99:.1f}", f"{rate / ref[0]:.0%}"))
    rows.append((f"(gunicorn -w {workers}, wrk -t1 -c{connections}; median of {rounds} "
                 f"alternating rounds of {seconds} s)", "", "", ""))
    return rows


def _median(results: list) -> tuple:
    """The round with the median rate (its own p99 with it)."""
    return sorted(results)[len(results) // 2]
