"""GET /changes: the ordered change feed, exactly once, per tenant, under concurrency."""
import base64
import itertools
import json
import threading
import time

import pytest
import sqlalchemy as sa

from hub.extensions import db
from tests.helpers import Caller, report_payload

PROBLEM = "application/problem+json"


def drain(caller, cursor=None, limit=2, max_pages=1000):
    """All items from `cursor` on, page by page; returns (items, last cursor, pages)."""
    items, pages = [], 0
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        resp = caller.get("/changes", query_string=query)
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        assert len(page["items"]) <= limit
        assert page["next_cursor"], "next_cursor is always given, even when caught up"
        items += page["items"]
        cursor = page["next_cursor"]
        pages += 1
        if not page["has_more"]:
            return items, cursor, pages
        assert page["items"], "has_more with an empty page"
        assert pages < max_pages


def timeline(caller, report_id):
    return caller.get(f"/reports/{report_id}/events", query_string={"limit": 1000}
                      ).get_json()["items"]


def db_seqs(app, report_ids=None):
    from hub.models import ReportEvent
    with app.app_context():
        stmt = sa.select(ReportEvent.seq)
        if report_ids is not None:
            stmt = stmt.where(ReportEvent.report_id.in_(list(report_ids)))
        return db.session.execute(stmt.order_by(ReportEvent.seq)).scalars().all()


def cursor_of(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_every_change_once_in_order_across_pages(app, sleman):
    reports = [sleman.create_report() for _ in range(4)]
    for step in ("verified", "dispositioned", "in_progress"):
        for r in reports[:3]:
            assert sleman.status(r["id"], step).status_code == 200
    assert sleman.post(f"/reports/{reports[0]['id']}/responses",
                       json={"body": "Sudah diperbaiki."}).status_code == 201
    assert sleman.status(reports[1]["id"], "resolved").status_code == 200
    assert sleman.status(reports[3]["id"], "rejected").status_code == 200

    items, cursor, pages = drain(sleman, limit=2)
    expected = sorted(e["seq"] for r in reports for e in timeline(sleman, r["id"]))
    seqs = [i["seq"] for i in items]
    assert seqs == expected
    assert seqs == db_seqs(app)
    assert len(seqs) == 4 + 9 + 1 + 1 + 1  # created, 3 steps x 3, response, resolved, rejected
    assert pages >= len(seqs) // 2
    by_report = {}
    for item in items:
        assert item["report"]["id"] == item["report_id"]
        assert item["occurred_at"].endswith("Z")
        by_report.setdefault(item["report_id"], []).append(item)
    for r in reports:
        versions = [i["report_version"] for i in by_report[r["id"]]]
        assert versions == sorted(versions) and versions[0] == 1
        assert by_report[r["id"]][0]["type"] == "report.created"
    # A response event carries the response.
    resp_items = [i for i in items if i["type"] == "response.created"]
    assert len(resp_items) == 1
    assert resp_items[0]["response"]["body"] == "Sudah diperbaiki."
    # The report in an item is the report as it was at that event: its version is the
    # event's, and only its last event shows it resolved.
    assert all(i["report"]["version"] == i["report_version"] for i in items)
    statuses = [i["report"]["status"] for i in by_report[reports[1]["id"]]]
    assert statuses[0] == "received" and statuses[-1] == "resolved"
    assert statuses.count("resolved") == 1
    # Every item carries the response key: the response of a response.created, else null.
    assert all(i["response"] is None for i in items if i["type"] != "response.created")

    # Caught up: the cursor returns nothing and stays usable ...
    again = sleman.get("/changes", query_string={"cursor": cursor}).get_json()
    assert again["items"] == [] and again["has_more"] is False
    assert again["next_cursor"] == cursor
    # ... and continues with exactly the new changes.
    assert sleman.status(reports[2]["id"], "resolved").status_code == 200
    newer = sleman.create_report()
    more, cursor2, _ = drain(sleman, cursor=cursor, limit=1)
    assert [(i["type"], i["report_id"]) for i in more] == [
        ("report.status_changed", reports[2]["id"]), ("report.created", newer["id"])]
    assert [i["seq"] for i in more] == db_seqs(app)[-2:]
    assert drain(sleman, cursor=cursor2)[0] == []
    # A bigger page gives the same sequence.
    assert [i["seq"] for i in drain(sleman, limit=1000)[0]] == db_seqs(app)


def test_tenant_isolation(app, sleman, bantul, make_caller, national):
    mine = [sleman.create_report() for _ in range(3)]
    theirs = bantul.create_report()
    sleman.status(mine[0]["id"], "verified")
    assert [i["report_id"] for i in drain(bantul)[0]] == [theirs["id"]]
    bantul_items, bantul_cursor, _ = drain(bantul)
    assert {i["report_id"] for i in drain(sleman)[0]} == {r["id"] for r in mine}
    assert drain(make_caller("kemenpanrb"))[0] == []

    # After the disposition to Bantul it sees that report's changes (and no other of
    # Sleman's): from its old cursor on, every change after that cursor, including the
    # one it could not see when it read last; and all of them in a full re-read.
    resp = sleman.post(f"/reports/{mine[0]['id']}/dispositions",
                       json={"to_agency": "kab-bantul"})
    assert resp.status_code == 200, resp.get_json()
    bantul.status(mine[0]["id"], "in_progress")
    sleman.status(mine[1]["id"], "verified")  # still Sleman's alone
    new, _, _ = drain(bantul, cursor=bantul_cursor)
    assert [(i["type"], i["report_id"]) for i in new] == [
        ("report.status_changed", mine[0]["id"]), ("report.dispositioned", mine[0]["id"]),
        ("report.status_changed", mine[0]["id"])]
    assert [i["data"].get("to") for i in new] == ["verified", None, "in_progress"]
    assert new[1]["data"]["to_agency"] == "kab-bantul"
    assert [i["seq"] for i in new] == \
        [s for s in db_seqs(app, [mine[0]["id"]]) if s > bantul_items[-1]["seq"]]
    everything = drain(bantul)[0]
    assert {i["report_id"] for i in everything} == {theirs["id"], mine[0]["id"]}
    assert [i["seq"] for i in everything] == db_seqs(app, [theirs["id"], mine[0]["id"]])
    # Sleman keeps seeing the report it handed over, and all its own.
    assert [i["seq"] for i in drain(sleman)[0]] == db_seqs(app, [r["id"] for r in mine])
    assert [i["seq"] for i in drain(national)[0]] == db_seqs(app)


def test_anonymous_reporter_never_in_feed_for_agencies(app, sleman, bantul, national,
                                                       admin):
    payload = report_payload(privacy={"anonymous": True, "confidential": False},
                             reporter={"name": "Budi Santoso", "phone": "0899111222",
                                       "email": "budi@example.id"},
                             source_updated_at="2026-11-21T00:00:00Z")
    anon = sleman.put("/sources/sleman-app/reports/A-1", json=payload).get_json()
    # The source system updates the reporter's contact data: the feed must not leak it.
    payload2 = dict(payload, reporter={"name": "Budi Santoso", "phone": "0811000999",
                                       "email": "budi2@example.id"},
                    source_updated_at="2026-11-22T00:00:00Z")
    resp = sleman.put("/sources/sleman-app/reports/A-1", json=payload2)
    assert resp.headers["Hub-Upsert-Result"] == "updated"
    sleman.status(anon["id"], "verified")
    sleman.post(f"/reports/{anon['id']}/dispositions", json={"to_agency": "kab-bantul"})
    secrets = ("Budi", "0899111222", "0811000999", "budi@example.id", "budi2@example.id")
    for caller in (sleman, bantul, national):
        items = drain(caller, limit=1)[0]
        assert len(items) == 4
        assert all(i["report"]["reporter"] is None for i in items)
        text = json.dumps(items)
        for secret in secrets:
            assert secret not in text, (caller.agency, secret)
    updated = [i for i in drain(bantul)[0] if i["type"] == "report.updated"]
    assert updated[0]["data"]["changes"] == {"reporter_phone": None, "reporter_email": None}
    # Only admin sees who it is.
    admin_items = drain(admin)[0]
    assert admin_items[-1]["report"]["reporter"]["phone"] == "0811000999"


def test_contact_data_in_feed_only_for_responsible_agency(sleman, bantul):
    report = sleman.create_report()
    sleman.status(report["id"], "verified")
    sleman.post(f"/reports/{report['id']}/dispositions", json={"to_agency": "kab-bantul"})
    for item in drain(sleman)[0]:
        assert item["report"]["reporter"] == {"name": "Siti Rahayu"}
    for item in drain(bantul)[0]:
        assert item["report"]["reporter"]["phone"] == "081234567890"


@pytest.mark.parametrize("cursor", ["garbage!!", "%%%", cursor_of({"seq": 1}),
                                    cursor_of(["12"]), cursor_of([True]), cursor_of([1, 2]),
                                    cursor_of([1.5]), cursor_of([None]),
                                    base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_invalid_cursor_is_400(sleman, cursor):
    sleman.create_report()
    resp = sleman.get("/changes", query_string={"cursor": cursor})
    assert resp.status_code == 400, resp.get_json()
    assert resp.content_type == PROBLEM
    assert resp.get_json()["status"] == 400


def test_overlong_cursor_is_refused(sleman):
    resp = sleman.get("/changes", query_string={"cursor": "x" * 501})
    assert resp.status_code in (400, 422), resp.get_json()
    assert resp.content_type == PROBLEM


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc"])
def test_invalid_limit(sleman, limit):
    resp = sleman.get("/changes", query_string={"limit": limit})
    assert resp.status_code == 422
    assert resp.content_type == PROBLEM


def test_changes_need_read_scope(make_caller):
    writer_only = make_caller("kab-sleman", "reports:write")
    assert writer_only.get("/changes").status_code == 403
    assert writer_only.client.get("/api/v1/changes").status_code == 401


# --- concurrency ------------------------------------------------------------------------

WRITERS = (("kab-sleman", 2), ("kab-bantul", 2))  # (agency, threads)
REPORTS_PER_WRITER = 6
STEPS = ("verified", "dispositioned", "in_progress")
BATCHES, BATCH_REPORTS = 4, 5


def test_feed_exactly_once_while_writers_commit(app, make_caller):
    """Writers create reports and move them on while readers page the feed with a small
    limit; every committed event must be seen exactly once, in increasing seq order."""
    writer_callers = [make_caller(agency) for agency, n in WRITERS for _ in range(n)]
    readers = {"national": make_caller("*", "reports:read"),
               "kab-sleman": make_caller("kab-sleman", "reports:read")}
    done = threading.Event()
    errors: list = []
    created: dict = {}  # agency -> report ids
    lock = threading.Lock()
    seen: dict = {name: [] for name in readers}
    deadline = time.monotonic() + 30

    def writer(caller):
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            for _ in range(REPORTS_PER_WRITER):
                resp = own.post("/reports", json=report_payload())
                assert resp.status_code == 201, resp.get_json()
                rid = resp.get_json()["id"]
                with lock:
                    created.setdefault(caller.agency, []).append(rid)
                for step in STEPS:
                    resp = own.status(rid, step)
                    assert resp.status_code == 200, resp.get_json()
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)

    def reader(name, caller):
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            cursor, final_pass = None, False
            while time.monotonic() < deadline:
                writers_finished = done.is_set()
                query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
                resp = own.get("/changes", query_string=query)
                assert resp.status_code == 200, resp.get_json()
                page = resp.get_json()
                seen[name].extend(i["seq"] for i in page["items"])
                cursor = page["next_cursor"]
                if not page["has_more"] and writers_finished:
                    if final_pass:
                        return
                    final_pass = True  # one more read after everything committed
            raise AssertionError(f"reader {name} did not drain the feed in time")
        except BaseException as exc:
            errors.append(exc)

    def batch_writer(caller):
        # Batches: new reports created together, then moved on by report_ref, with a bad
        # item in each batch whose savepoint (and events) must vanish.
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            for b in range(BATCHES):
                ids = [f"C-{b}-{i}" for i in range(BATCH_REPORTS)]
                ops = [{"op": "upsert_report", "system": "sleman-batch", "external_id": x,
                        "report": report_payload()} for x in ids]
                ops += [{"op": "change_status", "status": "verified",
                         "report_ref": {"system": "sleman-batch", "external_id": x}}
                        for x in ids]
                ops.append({"op": "change_status", "status": "closed",
                            "report_ref": {"system": "sleman-batch", "external_id": ids[0]}})
                resp = own.post("/sync/batches", json={"operations": ops})
                assert resp.status_code == 207, resp.get_json()
                body = resp.get_json()
                assert body["failed"] == 1 and body["results"][-1]["status"] == 409, body
                with lock:
                    created.setdefault(caller.agency, []).extend(
                        r["id"] for r in body["results"][:BATCH_REPORTS])
        except BaseException as exc:
            errors.append(exc)

    writer_threads = [threading.Thread(target=writer, args=(c,)) for c in writer_callers]
    writer_threads.append(threading.Thread(target=batch_writer,
                                           args=(make_caller("kab-sleman"),)))
    reader_threads = [threading.Thread(target=reader, args=item)
                      for item in readers.items()]
    for t in reader_threads + writer_threads:
        t.start()
    for t in writer_threads:
        t.join(timeout=30)
    done.set()
    for t in reader_threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in writer_threads + reader_threads)
    assert not errors, errors

    total_writers = sum(n for _, n in WRITERS)
    all_seqs = db_seqs(app)
    batch_events = BATCHES * BATCH_REPORTS * 2  # created + verified
    assert len(all_seqs) == total_writers * REPORTS_PER_WRITER * (1 + len(STEPS)) + \
        batch_events
    for name, seqs in seen.items():
        assert len(seqs) == len(set(seqs)), f"{name}: a change was delivered twice"
        assert seqs == sorted(seqs), f"{name}: out of order"  # no repeats: strictly up
    assert seen["national"] == all_seqs
    assert seen["kab-sleman"] == db_seqs(app, created["kab-sleman"])
    assert len(seen["kab-sleman"]) == 2 * REPORTS_PER_WRITER * (1 + len(STEPS)) + \
        batch_events


def test_three_writers_one_reader_limit_seven(app, make_caller):
    """The brief's shape: 3 writer threads (own client and token each, one shared app),
    one reader paging with limit=7 until the writers are done and it has drained. Every
    event seq in the DB is seen exactly once, strictly increasing. Bounded to seconds."""
    writers = [make_caller(a) for a in ("kab-sleman", "kab-bantul", "kab-sleman")]
    reader_caller = make_caller("*", "reports:read")
    done, errors, seen = threading.Event(), [], []
    deadline = time.monotonic() + 15

    def writer(caller):
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            for _ in range(4):
                resp = own.post("/reports", json=report_payload())
                assert resp.status_code == 201, resp.get_json()
                for step in ("verified", "dispositioned"):
                    assert own.status(resp.get_json()["id"], step).status_code == 200
        except BaseException as exc:
            errors.append(exc)

    def reader():
        try:
            own = Caller(app.test_client(), reader_caller.token, "*")
            cursor, final_pass = None, False
            while time.monotonic() < deadline:
                finished = done.is_set()
                query = {"limit": 7, **({"cursor": cursor} if cursor else {})}
                page = own.get("/changes", query_string=query).get_json()
                assert len(page["items"]) <= 7
                seen.extend(i["seq"] for i in page["items"])
                cursor = page["next_cursor"]
                if not page["has_more"] and finished:
                    if final_pass:
                        return
                    final_pass = True
            raise AssertionError("reader did not drain in time")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in writers]
    read = threading.Thread(target=reader)
    read.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    done.set()
    read.join(timeout=15)
    assert not read.is_alive() and not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(seen) == len(set(seen))
    assert all(a < b for a, b in itertools.pairwise(seen))
    all_seqs = db_seqs(app)
    assert len(all_seqs) == 3 * 4 * 3
    assert set(seen) == set(all_seqs)
