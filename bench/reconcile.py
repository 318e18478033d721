"""Reconciliation: N local complaints in a SQL database without a last-modified column
(the common "pengaduan masyarakat" schema), already in the hub; one reconciliation reads
them all through the SQL connector and compares each with the hub's fingerprint. All are
unchanged, so the figure is the cost of the comparison itself: seconds and records/s."""
import json
import subprocess
import sys

import psycopg
import yaml

from bench import harness

READER = "hub_bench_reader"
SCHEMA = """
CREATE TABLE masyarakat (nik char(16) NOT NULL, nama varchar(35) NOT NULL,
    username varchar(25) NOT NULL, password varchar(32) NOT NULL, telp varchar(13));
CREATE TABLE pengaduan (id_pengaduan integer PRIMARY KEY, tgl_pengaduan date NOT NULL,
    nik char(16), isi_laporan text NOT NULL, foto varchar(255), status text DEFAULT '0');
CREATE TABLE tanggapan (id_tanggapan integer NOT NULL DEFAULT 0, id_pengaduan integer,
    tgl_tanggapan date NOT NULL, tanggapan text NOT NULL, id_petugas integer);
INSERT INTO masyarakat VALUES ('3573030508070009', 'Ahmad Eka', 'ahmadeka', 'x',
    '083138920771');
"""

RUN = """
import json, sys, time
from hub import create_app
from hub.extensions import db
from hub.models import SyncRun
from hub.sync.reconcile import reconcile_connector
from hub.sync.runner import run_connector

app = create_app()
with app.app_context():
    started = time.perf_counter()
    sync = db.session.get(SyncRun, run_connector("bench-ukk", "bench"))
    backfill = time.perf_counter() - started
    started = time.perf_counter()
    run = db.session.get(SyncRun, reconcile_connector("bench-ukk", "bench"))
    print(json.dumps({"backfill_seconds": backfill, "backfill_counts": sync.counts,
                      "seconds": time.perf_counter() - started, "status": run.status,
                      "counts": run.counts, "error": run.error}))
"""


def source_database(n: int) -> str:
    url = harness.scratch_database("hub_bench_reconcile_src")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO pengaduan SELECT i, DATE '2024-01-01' + (i %% 700), "
                     "'3573030508070009', 'Aduan warga nomor ' || i, NULL, "
                     "(ARRAY['0', 'proses', 'selesai'])[1 + i %% 3] "
                     "FROM generate_series(1, %s) AS i", (n,))
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                            (READER,)).fetchone():
            conn.execute(f'CREATE ROLE "{READER}" LOGIN')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{READER}"')
        conn.execute("ANALYZE")
    return url


def document() -> dict:
    return {"connector": {
        "id": "bench-ukk", "agency": "kota-yogyakarta", "kind": "sql", "lookback_seconds": 0,
        "config": {
            "source": "ukk", "timezone": "Asia/Jakarta", "page_size": 1000,
            "defaults": {"category": "infrastruktur.jalan", "channel": "local_app"},
            "streams": {
                "reports": {
                    "query": "SELECT p.*, m.nama, m.telp FROM pengaduan p LEFT JOIN "
                             "masyarakat m ON m.nik = p.nik",
                    "since_column": "tgl_pengaduan", "id_column": "id_pengaduan",
                    "fields": {"external_id": {"path": "id_pengaduan", "type": "str"},
                               "submitted_at": {"path": "tgl_pengaduan", "type": "datetime"},
                               "title": "isi_laporan", "body": "isi_laporan",
                               "status": "status", "reporter.name": "nama",
                               "reporter.phone": "telp"}},
                "responses": {
                    "query": "tanggapan", "since_column": "tgl_tanggapan",
                    "id_column": "id_tanggapan",
                    "fields": {"external_id": {"path": "id_tanggapan", "type": "str"},
                               "report_external_id": {"path": "id_pengaduan", "type": "str"},
                               "created_at": {"path": "tgl_tanggapan", "type": "datetime"},
                               "body": "tanggapan"}}}}},
        "mappings": {"status": {"0": "received", "proses": "in_progress",
                                "selesai": "resolved"}}}


def reconcile(n: int) -> dict:
    source = source_database(n)
    reader = source.replace("postgres@", f"{READER}@", 1)
    env = harness.prepare_hub_db(harness.scratch_database("hub_bench_reconcile"))
    env["HUB_SQL_SOURCES"] = json.dumps({"ukk": {"url": reader,
                                                 "agencies": ["kota-yogyakarta"]}})
    doc_path = harness.ROOT / "var" / "bench" / "bench-ukk.yaml"
    doc_path.parent.mkdir(parents=True, exist_ok=True)
    doc_path.write_text(yaml.safe_dump(document(), sort_keys=False))
    harness.flask_cli(env, "hub", "connector", "import", str(doc_path))
    out = subprocess.run([sys.executable, "-c", RUN], cwd=harness.ROOT, env=env,
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["backfill_counts"]["created"] == n, result["backfill_counts"]
    assert result["status"] == "succeeded", result
    counts = result["counts"]
    assert counts["unchanged"] == n and counts["read"] == n, counts
    assert counts["missing"] == counts["changed"] == counts["gone"] == 0, counts
    return result


def run(sizes=(100_000,)) -> list:
    rows = [("unchanged records", "backfill seconds", "reconciliation seconds",
             "records/s compared", "target")]
    for n in sizes:
        r = reconcile(n)
        rows.append((f"{n:,}", f"{r['backfill_seconds']:.1f}", f"{r['seconds']:.1f}",
                     f"{n / r['seconds']:,.0f}", "< 30 s for 100,000"))
    return rows
