"""Batch ingest: reports/s through POST /api/v1/sync/batches under gunicorn, beside a raw
psycopg COPY of the same rows into a table shaped like `reports`, in the same run."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import requests

from bench import harness

CATEGORIES = ["infrastruktur.jalan", "kesehatan", "infrastruktur"]
CHANNELS = ["web", "sms", "instagram", "facebook", "twitter", "local_app"]


def make_reports(n: int) -> list[dict]:
    return [{
        "title": f"Aduan warga nomor {i}: jalan rusak di padukuhan {i % 97}",
        "body": "Jalan berlubang sepanjang 20 meter, sudah tiga bulan tidak diperbaiki. " * 3,
        "category": CATEGORIES[i % len(CATEGORIES)],
        "channel": CHANNELS[i % len(CHANNELS)],
        "classification": "complaint",
        "location": {"text": f"Padukuhan {i % 97}, Sleman", "region_code": "34.04"},
        "submitted_at": "2026-11-01T08:00:00+07:00",
        "source_updated_at": "2026-11-01T08:00:00+07:00",
        "privacy": {"anonymous": i % 10 == 0, "confidential": False},
        "reporter": {"name": f"Warga {i}", "phone": "0812000000"},
    } for i in range(n)]


def via_api(url: str, tok: str, reports: list[dict], batch: int, concurrency: int) -> float:
    batches = [reports[i:i + batch] for i in range(0, len(reports), batch)]
    run = uuid.uuid4().hex[:6]

    def send(index_batch):
        index, items = index_batch
        # One source system per client, as in a national backfill from many agencies'
        # systems (writes to one system are serialised by design).
        ops = [{"op": "upsert_report", "system": f"bench-local-{index % concurrency}",
                "external_id":
                f"{run}-{index}-{j}", "report": r} for j, r in enumerate(items)]
        with requests.Session() as s:
            resp = s.post(url + "/api/v1/sync/batches", json={"operations": ops},
                          headers={"Authorization": f"Bearer {tok}"}, timeout=300)
        resp.raise_for_status()
        body = resp.json()
        assert body["failed"] == 0, body["results"][:3]
        return body["succeeded"]

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = sum(pool.map(send, enumerate(batches)))
    elapsed = time.perf_counter() - start
    assert done == len(reports)
    return elapsed


def via_copy(db_url: str, reports: list[dict]) -> float:
    """The floor: the same rows straight into a copy of the reports table with COPY."""
    with psycopg.connect(db_url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reports")
        conn.execute("CREATE TABLE bench_reports (LIKE reports INCLUDING ALL)")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy("COPY bench_reports (id, tracking_id, title, body, category_code, "
                          "classification, channel, location_text, region_code, "
                          "submitted_at, anonymous, confidential, reporter_name, "
                          "reporter_phone, status, version, created_at, updated_at) "
                          "FROM STDIN") as copy:
                for i, r in enumerate(reports):
                    copy.write_row((uuid.uuid4(), str(10_000_000 + i), r["title"], r["body"],
                                    r["category"], r["classification"], r["channel"],
                                    r["location"]["text"], r["location"]["region_code"],
                                    r["submitted_at"], r["privacy"]["anonymous"], False,
                                    r["reporter"]["name"], r["reporter"]["phone"],
                                    "received", 1, "now", "now"))
        conn.commit()
        elapsed = time.perf_counter() - start
    return elapsed


def run(n: int = 20_000, batch: int = 1000, workers: int = 2, concurrency: int = 2) -> list:
    db_url = harness.scratch_database("hub_bench_ingest")
    env = harness.prepare_hub_db(db_url)
    client_id, secret = harness.create_client(env, "kab-sleman")
    reports = make_reports(n)
    with harness.gunicorn(env, workers=workers) as url:
        tok = harness.token(url, client_id, secret)
        api_s = via_api(url, tok, reports, batch, concurrency)
    copy_s = via_copy(db_url, reports)
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    assert stored == n, f"expected {n} reports, found {stored}"
    api_rate, copy_rate = n / api_s, n / copy_s
    return [("measure", "reports", "seconds", "reports/s", "vs COPY"),
            (f"POST /sync/batches ({batch}/batch, gunicorn -w {workers}, {concurrency} "
             "clients)", n, f"{api_s:.2f}", f"{api_rate:,.0f}", f"{api_rate / copy_rate:.1%}"),
            ("raw psycopg COPY into a reports-shaped table", n, f"{copy_s:.2f}",
             f"{copy_rate:,.0f}", "100%")]
