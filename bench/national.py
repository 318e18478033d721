"""National scale: a database of N reports over the seeded directory's agencies, built
through POST /api/v1/sync/batches and kept for reuse, then the reads under wrk (each
with a sample of its responses checked against the database) and the SLA scan.

The database is `hub_bench_national_<N>`; a second run finds it, checks its counts
against what the build recorded, and skips the build.
"""
import base64
import bisect
import json
import math
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import requests

from bench import harness
from bench.ingest import post_batches

LEVELS = ("ministry", "institution", "province", "regency", "city", "unit")
CHANNELS = ("web", "sms", "android", "ios", "twitter", "facebook", "instagram", "whatsapp",
            "email", "phone", "walk_in", "letter", "local_app")
CLASSIFICATIONS = (("complaint", 80), ("aspiration", 15), ("information_request", 5))
# Reports older than half a year are mostly done; recent ones spread over the cycle.
OLD = (("closed", 80), ("resolved", 6), ("rejected", 7), ("in_progress", 4),
       ("dispositioned", 1), ("received", 2))
RECENT = (("received", 15), ("verified", 10), ("dispositioned", 15), ("in_progress", 25),
          ("resolved", 20), ("closed", 10), ("rejected", 5))
# The status a report arrives in when a later status change of the batch moves it on.
BEFORE = {"closed": "resolved", "resolved": "in_progress", "in_progress": "dispositioned",
          "dispositioned": "verified", "verified": "received", "rejected": "received"}
RESPONSES = (0, 1, 2, 3, 4)
RESPONSE_WEIGHTS = (10, 40, 30, 12, 8)  # 1.68 per report that is being handled
REPORTS_PER_BATCH = 300  # ~2.6 operations per report: well inside 1000 per batch
CLIENTS = 4
YEARS = 10
ANCHOR = datetime(2026, 12, 1, tzinfo=timezone.utc)  # "now" of the generated history


def db_name(n: int) -> str:
    return f"hub_bench_national_{n}"


def _pick(rng, table):
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class Plan:
    """What the build sends, batch by batch, the same on every run for one N."""

    def __init__(self, n: int, agencies: list[tuple[str, str | None]], categories: list[str]):
        self.n, self.agencies, self.categories = n, agencies, categories
        order = list(range(len(agencies)))
        random.Random(679).shuffle(order)
        # Zipf-like sizes: the agency of rank r gets a share proportional to 1/r.
        weights = [0.0] * len(agencies)
        for rank, index in enumerate(order, 1):
            weights[index] = 1 / rank
        self.cum = list(_accumulate(weights))
        self.batches = math.ceil(n / REPORTS_PER_BATCH)

    def agency(self, rng) -> tuple[str, str | None]:
        return self.agencies[bisect.bisect(self.cum, rng.random() * self.cum[-1])]

    def batch(self, b: int, system: str) -> tuple[list[dict], dict]:
        rng = random.Random(f"national-{b}")
        ops, responses, changes, tail = [], 0, 0, []
        for i in range(b * REPORTS_PER_BATCH, min(self.n, (b + 1) * REPORTS_PER_BATCH)):
            report, final, n_resp = self.report(rng, i)
            ext = f"r{i}"
            ref = {"system": system, "external_id": ext}
            ops.append({"op": "upsert_report", "system": system, "external_id": ext,
                        "report": report})
            if report["status"] != final:
                tail.append({"op": "change_status", "report_ref": ref, "status": final,
                             "note": "diteruskan dari sistem asal"})
                changes += 1
            submitted = datetime.fromisoformat(report["submitted_at"])
            for k in range(n_resp):
                at = min(submitted + timedelta(days=rng.uniform(0.2, 20) * (k + 1)), ANCHOR)
                tail.append({"op": "add_response", "report_ref": ref, "response": {
                    "body": f"Tindak lanjut ke-{k + 1} atas laporan {ext}: petugas telah "
                            "memeriksa lokasi dan menjadwalkan perbaikan.",
                    "visibility": "internal" if rng.random() < 0.15 else "public",
                    "author_name": f"Petugas {rng.randint(1, 400)}",
                    "created_at": at.isoformat(),
                    "external_ref": {"system": system, "external_id": f"{ext}-t{k}"}}})
                responses += 1
        ops += tail  # new reports are created first anyway; their follow-ups after
        assert len(ops) <= 1000, len(ops)
        return ops, {"reports": len(ops) - len(tail), "responses": responses,
                     "changes": changes}

    def report(self, rng, i: int) -> tuple[dict, str, int]:
        agency, region = self.agency(rng)
        age = timedelta(days=365.25 * YEARS * (1 - math.sqrt(rng.random())))  # growing use
        submitted = ANCHOR - age - timedelta(seconds=rng.randint(0, 86_400))
        final = _pick(rng, OLD if age > timedelta(days=180) else RECENT)
        status = BEFORE[final] if final in BEFORE and rng.random() < 0.1 else final
        n_resp = 0
        if final in ("in_progress", "resolved", "closed"):
            n_resp = rng.choices(RESPONSES, weights=RESPONSE_WEIGHTS)[0]
        elif final == "rejected":
            n_resp = int(rng.random() < 0.5)
        if status == "dispositioned" and final == status:
            n_resp = 0  # a first public response would move it to in_progress
        anonymous = rng.random() < 0.15
        located = rng.random() < 0.3
        report = {
            "title": f"Laporan {i}: {rng.choice(TOPICS)} di {region or agency}"[:200],
            "body": rng.choice(BODIES) + f" (nomor rujukan warga {i})",
            "category": rng.choice(self.categories),
            "channel": rng.choice(CHANNELS),
            "classification": _pick(rng, CLASSIFICATIONS),
            "location": {"text": f"Kelurahan {rng.randint(1, 9000)}", "region_code": region,
                         "lat": round(rng.uniform(-10, 5), 5) if located else None,
                         "lon": round(rng.uniform(95, 141), 5) if located else None},
            "submitted_at": submitted.isoformat(),
            "source_updated_at": (submitted + timedelta(days=3)).isoformat(),
            "privacy": {"anonymous": anonymous, "confidential": rng.random() < 0.03},
            "reporter": {"name": f"Warga {i}", "phone": f"08{rng.randint(10**9, 10**10)}"},
            "agency": agency, "status": status,
        }
        return report, final, n_resp


TOPICS = ("jalan rusak", "lampu jalan padam", "pelayanan puskesmas", "bantuan sosial",
          "pungutan liar", "sampah menumpuk", "banjir", "izin usaha", "KTP elektronik",
          "guru tidak hadir", "air PDAM mati", "pelayanan kantor pos")
BODIES = ("Sudah lebih dari sebulan tidak ada tindak lanjut dari petugas setempat, mohon "
          "segera ditangani karena mengganggu warga.",
          "Kami warga RT 03 melaporkan masalah ini berulang kali namun belum ada perbaikan. "
          "Mohon perhatian instansi terkait.",
          "Petugas meminta biaya tambahan di luar ketentuan resmi. Mohon diperiksa.")


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


# --- the database: found and checked, or built ------------------------------------------

META = "bench_national_meta"


def _counts(conn) -> dict:
    return dict(zip(("reports", "responses", "refs", "changes"), conn.execute(
        "SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM responses), "
        "(SELECT count(*) FROM report_external_refs), (SELECT count(*) FROM report_events "
        "WHERE type = 'report.status_changed' "
        "AND data->>'note' = 'diteruskan dari sistem asal')").fetchone(), strict=True))


def _existing(n: int) -> dict | None:
    with psycopg.connect(harness.ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (db_name(n),)).fetchone():
            return None
    url = harness.db_url(db_name(n))
    with psycopg.connect(url) as conn:
        if not conn.execute("SELECT to_regclass(%s)", (META,)).fetchone()[0]:
            return None
        meta = conn.execute(f"SELECT info FROM {META}").fetchone()
        if meta is None:
            return None
        meta = meta[0]
        found = _counts(conn)
    if found != meta["expected"]:
        print(f"{db_name(n)}: counts {found} differ from the build's {meta['expected']}; "
              "building it again", flush=True)
        return None
    return meta


def _directory(url: str) -> tuple[list, list]:
    with psycopg.connect(url) as conn:
        agencies = conn.execute("SELECT code, region_code FROM agencies WHERE level = ANY(%s) "
                                "ORDER BY code", (list(LEVELS),)).fetchall()
        categories = [r[0] for r in conn.execute(
            "SELECT code FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories k "
            "WHERE k.parent_code = c.code) ORDER BY code")]
    return agencies, categories


def build(n: int, workers: int) -> dict:
    url = harness.scratch_database(db_name(n))
    env = harness.prepare_hub_db(url)
    agencies, categories = _directory(url)
    plan = Plan(n, agencies, categories)
    clients = []
    for k in range(CLIENTS):
        system = f"national-src-{k}"
        harness.claim_system(env, system, "kemenpanrb")
        clients.append((system, *harness.create_client(env, "*")))
    expected = {"reports": 0, "responses": 0, "changes": 0}
    lock = threading.Lock()
    print(f"building {db_name(n)}: {n:,} reports over {len(agencies)} agencies "
          f"({plan.batches} batches from {CLIENTS} clients)", flush=True)
    with harness.gunicorn(env, workers=workers) as hub:
        tokens = [harness.token(hub, cid, secret) for _, cid, secret in clients]
        failures = []

        def client(k):
            try:
                system = clients[k][0]
                for b in range(k, plan.batches, CLIENTS):
                    ops, sent = plan.batch(b, system)
                    post_batches(hub, tokens[k], [ops], 1)
                    with lock:
                        for key, v in sent.items():
                            expected[key] += v
            except BaseException as exc:  # reported after the others finish
                failures.append(exc)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        if failures:
            raise failures[0]
    expected["refs"] = expected["reports"]
    with psycopg.connect(url, autocommit=True) as conn:
        found = _counts(conn)
        assert found == expected, f"stored {found}, sent {expected}"
        _check_sample(conn, plan, clients)
        # Statistics, as autovacuum would give a live hub after a bulk load.
        conn.execute("VACUUM ANALYZE")
        meta = {"n": n, "expected": expected, "agencies": len(agencies),
                "build_seconds": seconds, "built_at": datetime.now(timezone.utc).isoformat()}
        conn.execute(f"CREATE TABLE {META} (info jsonb NOT NULL)")
        conn.execute(f"INSERT INTO {META} VALUES (%s)", (json.dumps(meta),))
    return meta


def _check_sample(conn, plan: Plan, clients) -> None:
    """Regenerate a few batches and compare what the hub stored with what was sent."""
    rng = random.Random(5)
    for b in rng.sample(range(plan.batches), min(10, plan.batches)):
        system = clients[b % CLIENTS][0]
        ops, _ = plan.batch(b, system)
        finals = {o["report_ref"]["external_id"]: o["status"] for o in ops
                  if o["op"] == "change_status"}
        answers = {}
        for o in ops:
            if o["op"] == "add_response":
                ext = o["report_ref"]["external_id"]
                answers[ext] = answers.get(ext, 0) + 1
        for o in ops[:: 37]:
            if o["op"] != "upsert_report":
                continue
            r = o["report"]
            row = conn.execute(
                "SELECT r.title, r.agency_code, r.status, r.anonymous, r.confidential, "
                "(SELECT count(*) FROM responses s WHERE s.report_id = r.id) FROM reports r "
                "JOIN report_external_refs x ON x.report_id = r.id WHERE x.system = %s "
                "AND x.external_id = %s", (system, o["external_id"])).fetchone()
            status = finals.get(o["external_id"], r["status"])
            if status == "dispositioned" and answers.get(o["external_id"]):
                status = "in_progress"
            want = (r["title"], r["agency"], status, r["privacy"]["anonymous"],
                    r["privacy"]["confidential"], answers.get(o["external_id"], 0))
            assert row == want, (o["external_id"], row, want)


def open_database(n: int, workers: int) -> tuple[str, dict, bool]:
    meta = _existing(n)
    reused = meta is not None
    if not reused:
        meta = build(n, workers)
    return harness.db_url(db_name(n)), meta, reused


# --- reads under wrk ------------------------------------------------------------------

LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) checked = 0; bad = 0; math.randomseed(7) end
%(headers)s
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
response = function(status, headers, body)
  checked = checked + 1
  if status ~= 200 or not string.find(body, %(needle)s, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local c, b = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("checked"); b = b + t:get("bad") end
  io.write(string.format("CHECKED %%d BAD %%d\\n", c, b))
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a Lua string literal for these characters


def _ms(match) -> float:
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def wrk(base: str, paths: list[str], needle: str, tmp: Path, name: str, seconds: int,
        connections: int, auth: str = "", cookie: str = "") -> dict:
    """wrk over `paths` (random choice per request); every body must hold `needle`."""
    (tmp / f"{name}.txt").write_text("\n".join(paths) + "\n")
    headers = "".join(f'wrk.headers["{k}"] = {_lua_string(v)}\n'
                      for k, v in (("Authorization", auth), ("Cookie", cookie)) if v)
    script = tmp / f"{name}.lua"
    script.write_text(LUA % {"paths": tmp / f"{name}.txt", "headers": headers,
                             "needle": _lua_string(needle)})
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "--timeout", "30s", "-s", str(script), base], check=True,
                         capture_output=True, text=True).stdout
    checked, bad = map(int, re.search(r"CHECKED (\d+) BAD (\d+)", out).groups())
    if bad:
        raise AssertionError(f"{name}: {bad} of {checked} responses wrong:\n{out}")
    return {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _ms(re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)),
            "p99": _ms(re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)), "requests": checked}


def _sequential(hub: str, paths: list[str], needle: str, auth: str, cookie: str,
                count: int = 5) -> dict:
    """Latency of `count` requests one after the other (p99 is then the slowest)."""
    headers = {k: v for k, v in (("Authorization", auth), ("Cookie", cookie)) if v}
    times = []
    for path in (paths * count)[:count]:
        started = time.perf_counter()
        resp = requests.get(hub + path, headers=headers, timeout=600)
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200 and needle in resp.text, (path, resp.status_code)
    times.sort()
    return {"p50": times[len(times) // 2], "p99": times[-1], "requests": count,
            "rate": 1000 * count / sum(times)}


def _scope(conn, agency: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "WITH RECURSIVE t(code) AS (SELECT %s::varchar UNION SELECT a.code FROM agencies a "
        "JOIN t ON a.parent_code = t.code) SELECT code FROM t", (agency,))]


def _visible(scope: list[str] | None) -> tuple[str, tuple]:
    if scope is None:
        return "TRUE", ()
    return ("EXISTS (SELECT 1 FROM report_agencies ra WHERE ra.report_id = r.id AND "
            "ra.agency_code = ANY(%s))", (scope,))


def _deep_cursors(conn, scope, where: str = "TRUE", params=(), count: int = 200) -> list:
    """Cursors of pages in the deeper half of a caller's list (updated_at, id order), as
    the hub writes them, taken in one pass over the list."""
    vis, vparams = _visible(scope)
    total = conn.execute(f"SELECT count(*) FROM reports r WHERE {vis} AND {where}",
                         vparams + params).fetchone()[0]
    step = max(1, (total // 2) // count)
    rows = conn.execute(
        f"SELECT updated_at, id FROM (SELECT r.updated_at, r.id, row_number() OVER "
        f"(ORDER BY r.updated_at, r.id) AS n FROM reports r WHERE {vis} AND {where}) s "
        f"WHERE n > %s AND n %% %s = 0 AND n <= %s", vparams + params +
        (total // 2, step, max(total - 100, total // 2 + 1))).fetchall()
    return [_cursor(ts, rid) for ts, rid in rows] or [None]


def _cursor(ts: datetime, rid) -> str:
    raw = json.dumps([ts.astimezone(timezone.utc).isoformat(), str(rid)],
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _check_list(conn, s: requests.Session, url: str, scope, where="TRUE", params=()):
    """A list page as the database says it must be: the next rows after the cursor in
    (updated_at, id) order, all in the caller's scope and matching the filter."""
    body = s.get(url, timeout=60).json()
    ids = [item["id"] for item in body["items"]]
    cursor = re.search(r"cursor=([^&]+)", url)
    after = ""
    args = ()
    if cursor:
        c = cursor.group(1)
        ts, rid = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
        after, args = " AND (r.updated_at, r.id) > (%s::timestamptz, %s::uuid)", (ts, rid)
    vis, vparams = _visible(scope)
    want = [str(r[0]) for r in conn.execute(
        f"SELECT r.id FROM reports r WHERE {vis} AND {where}{after} "
        "ORDER BY r.updated_at, r.id LIMIT 100", vparams + params + args)]
    assert ids == want, f"{url}: {ids[:3]} ... instead of {want[:3]} ..."


def measure(db_url: str, meta: dict, workers: int, seconds: int, connections: int) -> list:
    # The Open311 limit per address stays in the path, set far above what wrk sends from
    # one address (a public facade limits each caller; the bench is one caller).
    env = harness.hub_env(db_url, HUB_RATELIMIT_OPEN311="100000000/minute")
    n = meta["n"]
    with psycopg.connect(db_url) as conn:
        sizes = conn.execute("SELECT agency_code, count(*) FROM reports GROUP BY agency_code "
                             "ORDER BY count(*) DESC, agency_code").fetchall()
        large = sizes[0][0]
        # A small agency: the tenth percentile of agency sizes, a regional government.
        regional = [s for s in sizes if s[0].startswith(("kab-", "kota-"))]
        small = regional[int(len(regional) * 0.9)][0]
    national = harness.create_client(env, "*", "reports:read")
    small_client = harness.create_client(env, small, "reports:read")
    large_client = harness.create_client(env, large, "reports:read")
    run = uuid.uuid4().hex[:6]
    users = {}
    for who, agency, role in (("national", None, "national_admin"),
                              ("large", large, "officer")):
        email = f"bench-{who}-{run}@example.go.id"
        args = ["hub", "create-user", "--email", email, "--name", f"bench {who}", "--role",
                role, "--password", "bench-password-123"]
        harness.flask_cli(env, *args, *(["--agency", agency] if agency else []))
        users[who] = email
    rows = [("endpoint", "p50 ms", "p99 ms", "req/s", "checked", "target", "met?")]
    with tempfile.TemporaryDirectory() as tmpdir, harness.gunicorn(env, workers=workers) as hub, \
            psycopg.connect(db_url) as conn:
        tmp = Path(tmpdir)
        tok = {k: harness.token(hub, *c) for k, c in
               (("national", national), ("small", small_client), ("large", large_client))}
        sess = {}
        for k, t in tok.items():
            sess[k] = requests.Session()
            sess[k].headers["Authorization"] = f"Bearer {t}"
        cookies = {who: _login(hub, email) for who, email in users.items()}
        small_scope, large_scope = _scope(conn, small), _scope(conn, large)
        share = min(100.0, 500_000 / n)  # ~5,000 reports whatever the size
        sample = conn.execute("SELECT id, tracking_id, title FROM reports "
                              f"TABLESAMPLE BERNOULLI ({share:.4f}) LIMIT 5000").fetchall()

        def bench(name, paths, needle, target, limit, who="national", cookie="",
                  check=None):
            auth = "" if cookie or who is None else f"Bearer {tok[who]}"
            try:
                if check is not None:
                    for path in random.Random(3).sample(paths, min(20, len(paths))):
                        check(hub + path)
                probe = _sequential(hub, paths, needle, auth, cookie, count=1)
                if probe["p50"] > 1000:
                    # Too slow for a load to say more than one caller at a time does (and
                    # 8 connections would leave requests running after wrk stops).
                    r = _sequential(hub, paths, needle, auth, cookie, count=3)
                    how = "3 sequential + sample (too slow for wrk)"
                else:
                    r = wrk(hub, paths, needle, tmp, re.sub(r"\W+", "_", name), seconds,
                            connections, auth=auth, cookie=cookie)
                    how = f"{r['requests']:,} bodies + sample"
            except Exception as exc:  # one endpoint failing must not hide the others' figures
                rows.append((name, "", "", "", f"FAILED: {str(exc).splitlines()[0][:150]}",
                             target, "NO"))
                print(rows[-1], flush=True)
                return
            met = "yes" if limit is None or r["p99"] < limit else "NO"
            rows.append((name, f"{r['p50']:.1f}", f"{r['p99']:.1f}", f"{r['rate']:,.1f}",
                         how, target, met if limit is not None else ""))
            print(rows[-1], flush=True)

        def check_get(key):
            by = {str(row[key]): row for row in sample}

            def check(url):
                body = sess["national"].get(url, timeout=30).json()
                row = by[url.rsplit("/", 1)[1]]
                assert (body["id"], body["tracking_id"], body["title"]) == \
                    (str(row[0]), row[1], row[2]), (url, body.get("id"))
            return check

        bench("GET /reports/{id} (national caller)",
              [f"/api/v1/reports/{r[0]}" for r in sample], '"tracking_id":"', "p99 < 15 ms",
              15, check=check_get(0))
        bench("GET /reports/{tracking_id}", [f"/api/v1/reports/{r[1]}" for r in sample],
              '"tracking_id":"', "p99 < 15 ms", 15, check=check_get(1))
        for who, scope, label in (("small", small_scope, f"small agency {small}"),
                                  ("national", None, "national caller")):
            paths = [f"/api/v1/reports?limit=100&cursor={c}"
                     for c in _deep_cursors(conn, scope)]
            bench(f"GET /reports deep cursor, {label}", paths, '"items":[', "p99 < 50 ms", 50,
                  who=who, check=lambda u, w=who, sc=scope: _check_list(conn, sess[w], u, sc))
        bench("GET /reports?status=in_progress deep cursor, national",
              [f"/api/v1/reports?status=in_progress&limit=100&cursor={c}" for c in
               _deep_cursors(conn, None, "r.status = %s", ("in_progress",))],
              '"items":[', "p99 < 50 ms", 50,
              check=lambda u: _check_list(conn, sess["national"], u, None, "r.status = %s",
                                          ("in_progress",)))
        since = conn.execute("SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY updated_at) "
                             "FROM reports").fetchone()[0]
        since_q = since.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
        bench("GET /reports?updated_since= (newest 10 %), small agency",
              [f"/api/v1/reports?updated_since={since_q}&limit=100"], '"items":[',
              "p99 < 50 ms", 50, who="small",
              check=lambda u: _check_list(conn, sess["small"], u, small_scope,
                                          "r.updated_at >= %s", (since,)))
        seqs = [r[0] for r in conn.execute(
            "SELECT e.seq FROM report_events e WHERE EXISTS (SELECT 1 FROM report_agencies "
            "ra WHERE ra.report_id = e.report_id AND ra.agency_code = ANY(%s)) "
            "ORDER BY e.seq LIMIT 50", (small_scope,))]
        bench(f"GET /changes from an old cursor, small agency {small}",
              [f"/api/v1/changes?cursor={_seq_cursor(s)}" for s in seqs], '"items":[',
              "p99 < 50 ms", 50, who="small",
              check=lambda u: _check_changes(conn, sess["small"], u, small_scope))
        counts = {code: c for code, c in sizes}
        for label, who, path, total, limit in (
                ("national", "national", "/api/v1/stats", n, 300),
                (f"one agency {large} (the largest)", "large", "/api/v1/stats",
                 sum(counts.get(c, 0) for c in large_scope), 100),
                (f"one agency {small}", "small", "/api/v1/stats",
                 sum(counts.get(c, 0) for c in small_scope), 100)):
            bench(f"GET /stats, {label}", [path], '"totals":{', f"< {limit} ms", limit,
                  who=who, check=lambda u, w=who, t=total: _check_stats(sess[w], u, t))
        for who, total, limit in (("national", n, 300),
                                  ("large", sum(counts.get(c, 0) for c in large_scope), 100)):
            label = "national" if who == "national" else f"one agency {large}"
            bench(f"UI /ui/dashboard, {label}", ["/ui/dashboard"], 'data-stat="received"',
                  f"< {limit} ms", limit, who=None, cookie=cookies[who],
                  check=lambda u, c=cookies[who], t=total: _check_dashboard(u, c, t))
        public = conn.execute("SELECT count(*) FROM reports WHERE NOT confidential AND "
                              "submitted_at >= now() - interval '90 days'").fetchone()[0]
        for size, limit in ((100, 50), (1000, None)):
            bench(f"Open311 GET /open311/v2/requests.json?page_size={size}",
                  [f"/open311/v2/requests.json?page_size={size}"], '"service_request_id"',
                  "p99 < 50 ms (a list page)" if limit else "(no target)", limit, who=None,
                  check=lambda u, s=size: _check_open311(conn, u, min(s, public)))
        bench("GET /metrics", ["/metrics"], "hub_reports{", "(no target)", None, who=None,
              check=lambda u: _check_metrics(u, n))
    try:
        rows.append(_sla_scan(db_url, n))
    except Exception as exc:  # reported, with the reads' figures above it
        rows.append(("SLA scan (hub.tasks.sla.scan in-process)", "", "", "",
                     f"FAILED: {str(exc).splitlines()[0][:150]}", "< 60 s", "NO"))
    rows.append((f"({n:,} reports, {meta['agencies']} agencies; gunicorn -w {workers}, "
                 f"wrk -t1 -c{connections}, {seconds} s per endpoint)", "", "", "", "", "", ""))
    return rows


def _seq_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([seq]).encode()).decode().rstrip("=")


def _login(hub: str, email: str) -> str:
    """A UI session's Cookie header. The session cookie is Secure (the hub runs behind
    TLS), which a client keeps to https; over the bench's plain http it is sent by hand."""
    s = requests.Session()
    page = s.get(hub + "/ui/login", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    jar = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    resp = s.post(hub + "/ui/login", data={"email": email, "password": "bench-password-123",
                                           "csrf_token": csrf}, headers={"Cookie": jar},
                  allow_redirects=False, timeout=30)
    assert resp.status_code in (302, 303), resp.status_code
    return "; ".join(f"{c.name}={c.value}" for c in resp.cookies)


def _check_changes(conn, s, url, scope):
    body = s.get(url, timeout=60).json()
    after = json.loads(base64.urlsafe_b64decode(url.split("cursor=")[1] + "=="))[0]
    want = [r[0] for r in conn.execute(
        "SELECT e.seq FROM report_events e WHERE e.seq > %s AND EXISTS (SELECT 1 FROM "
        "report_agencies ra WHERE ra.report_id = e.report_id AND ra.agency_code = ANY(%s)) "
        "ORDER BY e.seq LIMIT 100", (after, scope))]
    got = [item["seq"] for item in body["items"]]
    assert got == want, f"{url}: {got[:3]} instead of {want[:3]}"


def _check_stats(s, url, total):
    body = s.get(url, timeout=60).json()
    assert body["totals"]["received"] == total, (url, body["totals"], total)


def _check_dashboard(url, cookie, total):
    html = requests.get(url, headers={"Cookie": cookie}, timeout=60).text
    found = re.search(r'data-stat="received".*?kpi-value[^>]*>\s*(\d+)\s*<', html, re.S)
    assert found and int(found.group(1)) == total, (found and found.group(1), total)


def _check_open311(conn, url, expected):
    items = requests.get(url, timeout=60).json()
    assert len(items) == expected, (len(items), expected)
    ids = [i["service_request_id"] for i in items]
    bad = conn.execute("SELECT count(*) FROM reports WHERE tracking_id = ANY(%s) AND "
                       "NOT confidential", (ids,)).fetchone()[0]
    assert bad == len(ids), f"{len(ids) - bad} of {len(ids)} not public reports"


def _check_metrics(url, n):
    text = requests.get(url, timeout=60).text
    total = sum(float(v) for v in re.findall(r'^hub_reports\{status="\w+"\} ([\d.e+]+)$',
                                             text, re.M))
    assert total == n, (total, n)


SLA = """
import json, sys, time
from datetime import timedelta
import sqlalchemy as sa
from hub import create_app
from hub.extensions import db
from hub.models import Report, utcnow
from hub.services import sla
from hub.tasks.sla import scan

app = create_app()
with app.app_context():
    # Late enough that every open report's deadline has passed: the scan's worst case.
    now = utcnow() + timedelta(days=400)
    open_ = db.session.execute(sa.select(sa.func.count()).where(
        Report.status.in_(sla.OVERDUE_STATUSES), Report.due_at < now)).scalar()
    db.session.commit()
    started = time.perf_counter()
    result = scan(db.session, now)
    print(json.dumps({"seconds": time.perf_counter() - started, "open": open_, **result}))
"""


def _sla_scan(db_url: str, n: int) -> tuple:
    """The scan on a copy of the database (it writes: breaches, overdue events, closes),
    so that the kept database stays as built."""
    clone = f"{db_name(n)}_sla"
    with psycopg.connect(harness.ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{db_name(n)}"')
    url = harness.db_url(clone)
    try:
        out = subprocess.run([sys.executable, "-c", SLA], cwd=harness.ROOT,
                             env=harness.hub_env(url), check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        with psycopg.connect(url) as conn:
            flagged, events = conn.execute(
                "SELECT (SELECT count(*) FROM sla_breaches), (SELECT count(*) FROM "
                "report_events WHERE type = 'report.overdue')").fetchone()
        assert r["overdue"] == r["open"] == flagged == events, (r, flagged, events)
    finally:
        with psycopg.connect(harness.ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)')
    return (f"SLA scan (hub.tasks.sla.scan in-process): {r['open']:,} open reports flagged, "
            f"{r['closed']:,} auto-closed (figure: the whole scan, ms)", "",
            f"{r['seconds'] * 1000:,.0f}", "", "breaches = events = open", "< 60 s",
            "yes" if r["seconds"] < 60 else "NO")


def run(n: int = 2_100_000, workers: int = 2, seconds: int = 10, connections: int = 8):
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does it)")
    db_url, meta, reused = open_database(n, workers)
    build = (f"kept database {db_name(n)} reused (built in {meta['build_seconds']:.0f} s)"
             if reused else f"built {db_name(n)} in {meta['build_seconds']:.0f} s")
    e = meta["expected"]
    build_row = [("build through POST /sync/batches", "reports", "responses",
                  "status changes", "reports/s", "operations/s"),
                 (build, f"{e['reports']:,}", f"{e['responses']:,}", f"{e['changes']:,}",
                  f"{e['reports'] / meta['build_seconds']:,.0f}",
                  f"{(e['reports'] + e['responses'] + e['changes']) / meta['build_seconds']:,.0f}")]
    return build_row, measure(db_url, meta, workers, seconds, connections)
