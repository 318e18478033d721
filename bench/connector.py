"""Connector backfill: N local records from the Sleman simulator through the declarative
REST connector into the hub (PostgreSQL), records/s and the sync process's peak RSS,
at two sizes so that growth with the record count shows."""
import json
import subprocess
import sys

import psycopg
import requests
import yaml

from bench import harness

# Peak RSS from VmHWM, this process image's own high-water mark: ru_maxrss survives exec
# on Linux, so a sync process forked from a large bench parent reported the parent's size.
# The reader process (forked by the sync process, which waits for it) is measured by
# RUSAGE_CHILDREN: its resident pages include those it still shares with the sync process.
SYNC = """
import json, resource, sys, time
from hub import create_app
from hub.extensions import db
from hub.models import SyncRun
from hub.sync.runner import run_connector


def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


app = create_app()
with app.app_context():
    started = time.perf_counter()
    run = db.session.get(SyncRun, run_connector("lapor-sleman", "bench"))
    print(json.dumps({"seconds": time.perf_counter() - started, "status": run.status,
                      "counts": run.counts, "error": run.error,
                      "peak_rss_mb": peak_rss_mb(), "reader_peak_rss_mb":
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


PAGE_SIZE = 500  # the simulator's per_page maximum


def bench_document(url: str, embedded: bool = False) -> dict:
    """The shipped Sleman connector file, pointed at this run's simulator and paging by
    keyset (`after` = the previous page's meta.next) at the local API's largest page.
    `embedded`: the responses come inside each complaint (`?embed=tanggapan`), read as
    the children of the reports listing instead of from their own endpoint."""
    doc = yaml.safe_load((harness.ROOT / "mappings/kab-sleman/lapor-sleman.yaml").read_text())
    config = doc["connector"]["config"]
    config["base_url"] = url
    for stream in config["streams"].values():
        stream["list"]["pagination"] = {"type": "cursor", "cursor_param": "after",
                                        "next_path": "meta.next", "size_param": "per_page",
                                        "size": PAGE_SIZE}
    if embedded:
        config["streams"]["reports"]["list"]["params"] = {"embed": "tanggapan"}
        responses = config["streams"]["responses"]
        del responses["list"]
        responses["parent"] = {"stream": "reports", "records_path": "tanggapan"}
    return doc


def backfill(n: int, embedded: bool = False) -> dict:
    db_url = harness.scratch_database("hub_bench_connector")
    env = harness.prepare_hub_db(db_url)
    with harness.sleman_simulator(n, with_responses=embedded) as url:
        doc_path = harness.ROOT / "var" / "bench" / "lapor-sleman.yaml"
        doc_path.parent.mkdir(parents=True, exist_ok=True)
        doc_path.write_text(yaml.safe_dump(bench_document(url, embedded), sort_keys=False))
        harness.flask_cli(env, "hub", "connector", "import", str(doc_path),
                          "--secret", "api_key=bench-key")
        out = subprocess.run([sys.executable, "-c", SYNC], cwd=harness.ROOT, env=env,
                             check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["status"] == "succeeded", result
        responses = requests.get(url + "/_sim/state", timeout=60).json()["tanggapan"] \
            if embedded else 0
        assert result["counts"]["created"] == n + responses, result["counts"]
        check_stored(db_url, url, n, responses)
        result["responses"] = responses
        return result


def check_stored(db_url: str, url: str, n: int, responses: int = 0) -> None:
    """In the database: every complaint once under the connector's system (and every
    response, when they were read), and a page of the simulator's complaints stored with
    their title and text."""
    page = requests.get(url + "/api/aduan", params={"per_page": 100},
                        headers={"X-API-Key": "bench-key"}, timeout=60).json()["data"]
    with psycopg.connect(db_url) as conn:
        stored, refs = conn.execute(
            "SELECT (SELECT count(*) FROM reports), (SELECT count(DISTINCT external_id) "
            "FROM report_external_refs WHERE system = 'lapor-sleman')").fetchone()
        assert (stored, refs) == (n, n), f"{stored} reports, {refs} refs; expected {n}"
        got = conn.execute("SELECT count(*), count(DISTINCT x.external_id) FROM responses r "
                           "JOIN response_external_refs x ON x.response_id = r.id"
                           ).fetchone()
        assert got == (responses, responses), f"{got} responses; expected {responses}"
        for record in page:
            row = conn.execute("SELECT r.title, r.body FROM reports r JOIN "
                               "report_external_refs x ON x.report_id = r.id WHERE x.system "
                               "= 'lapor-sleman' AND x.external_id = %s",
                               (str(record["id_aduan"]),)).fetchone()
            assert row is not None and row[0] == record["judul"].strip()[:200], \
                (record["id_aduan"], row)


def run(sizes=(20_000, 100_000), embedded=(100_000,)) -> list:
    rows = [("records", "seconds", "records/s", "peak RSS of the sync process",
             "of its reader process")]
    for n in sizes:
        r = backfill(n)
        rows.append((f"{n:,}", f"{r['seconds']:.1f}", f"{n / r['seconds']:,.0f}",
                     f"{r['peak_rss_mb']:.0f} MB", f"{r['reader_peak_rss_mb']:.0f} MB"))
    for n in embedded:
        r = backfill(n, embedded=True)
        total = n + r["responses"]
        rows.append((f"{n:,} complaints + {r['responses']:,} responses inside them",
                     f"{r['seconds']:.1f}", f"{total / r['seconds']:,.0f} "
                     f"({n / r['seconds']:,.0f} complaints/s)",
                     f"{r['peak_rss_mb']:.0f} MB", f"{r['reader_peak_rss_mb']:.0f} MB"))
    return rows
