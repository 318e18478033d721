"""Batch ingest: reports/s through POST /api/v1/sync/batches under gunicorn, beside the
floor (binary COPY of the same rows into copies of the four tables the hub writes, with
their indexes and foreign keys), and batch updates (10 % of each batch changes reports
the hub holds or answers them), each checked in the database before it is reported."""
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import psycopg
import requests
from uuid_utils.compat import uuid7

from bench import harness

CATEGORIES = ["infrastruktur.jalan", "kesehatan", "infrastruktur"]
CHANNELS = ["web", "sms", "instagram", "facebook", "twitter", "local_app"]
# The tables one new report is written to (hub/models/reports.py), in foreign-key order.
HUB_TABLES = ("reports", "report_agencies", "report_external_refs", "report_events")


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


def post_batches(url: str, tok: str, batches: list[list[dict]], concurrency: int) -> tuple:
    """Send batches of operations from `concurrency` clients at once; (seconds, results
    of every item in order). Every item must succeed."""
    def send(ops):
        with requests.Session() as s:
            resp = s.post(url + "/api/v1/sync/batches", json={"operations": ops},
                          headers={"Authorization": f"Bearer {tok}"}, timeout=600)
        resp.raise_for_status()
        body = resp.json()
        assert body["failed"] == 0, [r for r in body["results"] if r["result"] == "failed"][:3]
        assert len(body["results"]) == len(ops)
        return body["results"]

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = [r for batch in pool.map(send, batches) for r in batch]
    return time.perf_counter() - start, results


def systems(concurrency: int) -> list[str]:
    # One source system per client, as in a national backfill from many agencies'
    # systems (writes to one system are serialised by design).
    return [f"bench-local-{k}" for k in range(concurrency)]


def via_api(url: str, tok: str, reports: list[dict], batch: int, concurrency: int,
            run: str | None = None) -> float:
    run = run or uuid.uuid4().hex[:6]
    names = systems(concurrency)
    batches = [[{"op": "upsert_report", "system": names[index % concurrency],
                 "external_id": f"{run}-{index}-{j}", "report": r}
                for j, r in enumerate(reports[start:start + batch])]
               for index, start in enumerate(range(0, len(reports), batch))]
    elapsed, results = post_batches(url, tok, batches, concurrency)
    assert len(results) == len(reports)
    assert all(r["result"] == "created" for r in results), \
        {r["result"] for r in results} - {"created"}
    return elapsed


def _types(conn, table: str) -> dict:
    return dict(conn.execute("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = "
                             "%s::regclass AND attnum > 0 AND NOT attisdropped",
                             (table,)).fetchall())


def _copy(cur, types: dict, table: str, columns: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([types[c] for c in columns])
        for row in rows:
            copy.write_row(row)


REPORT_COLUMNS = ["id", "tracking_id", "title", "body", "category_code", "classification",
                  "channel", "location_text", "region_code", "submitted_at", "anonymous",
                  "confidential", "reporter_name", "reporter_phone", "agency_code", "status",
                  "due_at", "version", "source_system", "created_by", "created_at",
                  "updated_at"]


def via_copy(db_url: str, reports: list[dict], batch: int, agency: str = "kab-sleman",
             system: str = "bench-copy") -> float:
    """The floor: the rows one new report is in the hub (report, tenant row, external
    ref, timeline event with its snapshot), with the same kind of ids (UUIDv7), written
    by binary COPY into copies of the hub's four tables with the same indexes and the
    same foreign keys, one transaction per `batch` reports as the batches commit. The
    rows are built before the clock starts: the floor is the database's share."""
    with psycopg.connect(db_url) as conn:
        for table in reversed(HUB_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS bench_{table}")
        for table in HUB_TABLES:
            conn.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
        # LIKE copies indexes, defaults and checks but not foreign keys: the hub's are
        # checked on every row it writes, so the floor checks the same ones.
        conn.execute("ALTER TABLE bench_reports ADD FOREIGN KEY (category_code) "
                     "REFERENCES categories (code), ADD FOREIGN KEY (agency_code) "
                     "REFERENCES agencies (code)")
        conn.execute("ALTER TABLE bench_report_agencies ADD FOREIGN KEY (report_id) "
                     "REFERENCES bench_reports (id), ADD FOREIGN KEY (agency_code) "
                     "REFERENCES agencies (code)")
        for table in ("bench_report_external_refs", "bench_report_events"):
            conn.execute(f"ALTER TABLE {table} ADD FOREIGN KEY (report_id) "
                         "REFERENCES bench_reports (id)")
        conn.commit()
        types = {t: _types(conn, f"bench_{t}") for t in HUB_TABLES}
        now = datetime.now(timezone.utc)
        seq = 0
        chunks = []  # built before the clock starts: the floor is the database's work
        for first in range(0, len(reports), batch):
            chunk = list(enumerate(reports[first:first + batch], first))
            rows, tenants, refs, events = [], [], [], []
            for i, r in chunk:
                rid = uuid7()
                submitted = datetime.fromisoformat(r["submitted_at"])
                row = [rid, str(90_000_000 + i), r["title"], r["body"], r["category"],
                       r["classification"], r["channel"], r["location"]["text"],
                       r["location"]["region_code"], submitted, r["privacy"]["anonymous"],
                       r["privacy"]["confidential"], r["reporter"]["name"],
                       r["reporter"]["phone"], agency, "received", now, 1, system, "bench",
                       now, now]
                rows.append(row)
                tenants.append((rid, agency, now))
                refs.append((rid, system, f"copy-{i}", submitted, "0" * 64))
                seq += 1
                state = {c: (v.isoformat() if isinstance(v, datetime) else str(v)
                             if isinstance(v, uuid.UUID) else v)
                         for c, v in zip(REPORT_COLUMNS, row, strict=True)}
                events.append((seq, rid, "report.created", now, "bench", agency, system, 1,
                               {"status": "received", "agency": agency}, agency, state))
            chunks.append((rows, tenants, refs, events))
        start = time.perf_counter()
        for rows, tenants, refs, events in chunks:
            with conn.cursor() as cur:
                _copy(cur, types["reports"], "bench_reports", REPORT_COLUMNS, rows)
                _copy(cur, types["report_agencies"], "bench_report_agencies",
                      ["report_id", "agency_code", "since"], tenants)
                _copy(cur, types["report_external_refs"], "bench_report_external_refs",
                      ["report_id", "system", "external_id", "source_updated_at",
                       "payload_hash"], refs)
                _copy(cur, types["report_events"], "bench_report_events",
                      ["seq", "report_id", "type", "occurred_at", "actor", "actor_agency",
                       "source_system", "report_version", "data", "agency_code",
                       "report_state"], events)
            conn.commit()
        elapsed = time.perf_counter() - start
        for table in HUB_TABLES:
            stored = conn.execute(f"SELECT count(*) FROM bench_{table}").fetchone()[0]
            assert stored == len(reports), f"bench_{table}: {stored} rows, not {len(reports)}"
        sample = conn.execute("SELECT r.title, e.report_state->>'title' FROM bench_reports r "
                              "JOIN bench_report_events e ON e.report_id = r.id "
                              "WHERE r.tracking_id = %s", (str(90_000_000 + len(reports) - 1),)
                              ).fetchone()
        assert sample == (reports[-1]["title"],) * 2, sample
    return elapsed


def check_stored(db_url: str, expected: int, system_prefix: str, reports: list[dict]) -> None:
    """Every report stored once with its tenant row, ref and event; a sample's content."""
    with psycopg.connect(db_url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM report_agencies), "
            "(SELECT count(*) FROM report_external_refs WHERE system LIKE %s), "
            "(SELECT count(DISTINCT report_id) FROM report_events "
            "WHERE type = 'report.created')", (system_prefix + "%",)).fetchone()
        assert counts == (expected,) * 4, f"expected {expected} of each, found {counts}"
        titles = {r["title"] for r in reports}
        sample = [row[0] for row in conn.execute(
            "SELECT title FROM reports ORDER BY random() LIMIT 200")]
        assert sample and all(t in titles for t in sample), sample[:3]


def updates(url: str, tok: str, db_url: str, batch: int, concurrency: int,
            n_batches: int, held: list[tuple[str, str]]) -> tuple[float, int]:
    """Batches of which 10 % of the operations touch reports the hub holds: half send a
    changed payload with a later status (an update, a walk of the life-cycle), half add
    a response; the other 90 % are new reports. Returns (seconds, operations)."""
    run = uuid.uuid4().hex[:6]
    names = systems(concurrency)
    touched = batch // 10
    batches, changed, answered = [], [], []
    fresh = make_reports(batch - touched)
    base = make_reports(len(held))
    # Only reports of each batch's own system: batches of one system are serialised by
    # its lock, so no two batches in flight touch one report.
    of_system = {name: [k for k, (s, _) in enumerate(held) if s == name] for name in names}
    position = 0
    for index in range(n_batches):
        system = names[index % concurrency]
        mine = of_system[system]
        ops = [{"op": "upsert_report", "system": system, "external_id": f"{run}-{index}-{j}",
                "report": r} for j, r in enumerate(fresh)]
        for j in range(touched):
            k = mine[(position + j) % len(mine)]
            ext = held[k][1]
            if j % 2 == 0:
                report = dict(base[k], title=f"Diperbarui {run}: {base[k]['title']}"[:200],
                              status="verified",
                              source_updated_at="2026-11-02T08:00:00+07:00")
                ops.append({"op": "upsert_report", "system": system, "external_id": ext,
                            "report": report})
                changed.append((system, ext, report["title"]))
            else:
                ops.append({"op": "add_response",
                            "report_ref": {"system": system, "external_id": ext},
                            "response": {"body": f"Tindak lanjut {run}-{index}-{j}",
                                         "external_ref": {"system": system,
                                                          "external_id": f"{run}-r{index}-{j}"}}})
                answered.append(f"Tindak lanjut {run}-{index}-{j}")
        position += touched
        batches.append(ops)
    elapsed, results = post_batches(url, tok, batches, concurrency)
    kinds = sorted({(r["op"], r["result"]) for r in results})
    assert kinds == [("add_response", "created"), ("upsert_report", "created"),
                     ("upsert_report", "updated")], kinds
    with psycopg.connect(db_url) as conn:
        for system, ext, title in changed[:: max(1, len(changed) // 50)]:
            row = conn.execute("SELECT r.title, r.status FROM reports r JOIN "
                               "report_external_refs x ON x.report_id = r.id "
                               "WHERE x.system = %s AND x.external_id = %s",
                               (system, ext)).fetchone()
            assert row == (title, "verified"), (system, ext, row)
        stored = conn.execute("SELECT count(*) FROM responses WHERE body = ANY(%s)",
                              (answered,)).fetchone()[0]
        assert stored == len(answered), f"{stored} of {len(answered)} responses stored"
        new = conn.execute("SELECT count(*) FROM report_external_refs WHERE external_id "
                           "LIKE %s", (run + "-%",)).fetchone()[0]
        assert new == n_batches * len(fresh), f"{new} new reports, not {n_batches * len(fresh)}"
    return elapsed, sum(len(b) for b in batches)


def run(n: int = 20_000, batch: int = 1000, workers: int = 2, concurrency: int = 2) -> list:
    db_url = harness.scratch_database("hub_bench_ingest")
    env = harness.prepare_hub_db(db_url)
    client_id, secret = harness.create_client(env, "kab-sleman")
    for system in systems(concurrency):
        harness.claim_system(env, system, "kab-sleman")
    reports = make_reports(n)
    run_id = uuid.uuid4().hex[:6]
    with harness.gunicorn(env, workers=workers) as url:
        tok = harness.token(url, client_id, secret)
        api_s = via_api(url, tok, reports, batch, concurrency, run=run_id)
        check_stored(db_url, n, "bench-local-", reports)
        with psycopg.connect(db_url) as conn:
            held = conn.execute("SELECT system, external_id FROM report_external_refs "
                                "ORDER BY id").fetchall()
        n_batches = max(2 * concurrency, n // batch // 4)
        upd_s, ops = updates(url, tok, db_url, batch, concurrency, n_batches, held)
    copy_s = via_copy(db_url, reports, batch)
    api_rate, copy_rate = n / api_s, n / copy_s
    return [("measure", "records", "seconds", "records/s", "vs COPY floor", "target"),
            (f"POST /sync/batches, new reports ({batch}/batch, gunicorn -w {workers}, "
             f"{concurrency} clients)", n, f"{api_s:.2f}", f"{api_rate:,.0f}",
             f"{api_rate / copy_rate:.1%}", ">= 50 % of the floor"),
            ("binary COPY floor: report, tenant row, ref, event into copies of the 4 hub "
             "tables (same indexes and foreign keys, UUIDv7)", n, f"{copy_s:.2f}",
             f"{copy_rate:,.0f}", "100%", ""),
            (f"POST /sync/batches, 10 % updates ({batch // 20} changed payloads + "
             f"{batch // 10 - batch // 20} responses per {batch})", ops, f"{upd_s:.2f}",
             f"{ops / upd_s:,.0f}", "", ">= 5,000 records/s")]
