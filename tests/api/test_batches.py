"""POST /sync/batches: per-item results, partial success, replays and limits."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from tests.helpers import report_payload

PROBLEM = "application/problem+json"
SYS = "sleman-app"


def upsert(external_id, system=SYS, **fields):
    return {"op": "upsert_report", "system": system, "external_id": external_id,
            "report": report_payload(**fields)}


def ref(external_id, system=SYS):
    return {"system": system, "external_id": external_id}


def batch(caller, operations, headers=None):
    return caller.post("/sync/batches", json={"operations": operations}, headers=headers)


def all_reports(caller):
    return caller.get("/reports", query_string={"limit": 1000}).get_json()["items"]


def refs_of(caller):
    return {(r["system"], r["external_id"]): rep["id"] for rep in all_reports(caller)
            for r in rep["external_refs"]}


def responses(caller, report_id):
    return caller.get(f"/reports/{report_id}/responses").get_json()["items"]


def timeline(caller, report_id):
    return caller.get(f"/reports/{report_id}/events").get_json()["items"]


def count(app, table):
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_mixed_batch(app, sleman, bantul):
    existing = sleman.put(f"/sources/{SYS}/reports/E-1", json=report_payload()).get_json()
    rejected = sleman.put(f"/sources/{SYS}/reports/E-2",
                          json=report_payload(status="rejected")).get_json()
    plain = sleman.create_report()
    assert bantul.put("/sources/bantul-app/reports/B-1",
                      json=report_payload()).status_code == 201
    unknown_uuid = "00000000-0000-0000-0000-000000000001"
    ops = [
        upsert("N-1", title="Lampu jalan mati"),                              # 0 ok
        {"op": "upsert_report", "system": SYS, "external_id": "N-BAD",
         "report": {k: v for k, v in report_payload().items() if k != "title"}},  # 1 422
        {"op": "change_status", "report_ref": ref("NOPE"), "status": "verified"},  # 2 404
        {"op": "change_status", "report_ref": ref("N-1"), "status": "resolved"},   # 3 409
        upsert("N-2", occurred_at="2026-11-20T08:00:00"),                     # 4 400
        {"op": "add_response", "report_ref": ref("E-1"),
         "response": {"body": "Sudah ditinjau petugas.",
                      "external_ref": ref("R-1")}},                           # 5 ok
        {"op": "change_status", "report": plain["tracking_id"],
         "status": "verified", "note": "valid"},                              # 6 ok
        {"op": "add_response", "report": plain["tracking_id"],
         "response": {"body": "Terima kasih, segera kami proses."}},          # 7 ok
        {"op": "delete_report", "report": plain["id"]},                       # 8 422
        {"op": "change_status", "report": unknown_uuid, "status": "verified"},  # 9 404
        upsert("B-2", system="bantul-app"),                                   # 10 403
        {"op": "upsert_report", "system": SYS, "external_id": "E-2",
         "report": report_payload(title="Dibuka lagi", status="verified",
                                  source_updated_at="2026-12-01T00:00:00Z")},  # 11 409
        {"op": "add_response", "report_ref": ref("E-1"), "response": {}},     # 12 422
        {"op": "change_status", "report_ref": ref("N-1"), "status": "verified"},  # 13 ok
        {"op": "upsert_report", "system": "bad system!", "external_id": "X",
         "report": report_payload()},                                         # 14 422
        {"op": "change_status", "report": plain["id"]},                       # 15 422
        {"op": "change_status", "report_ref": ref("B-1", "bantul-app"),
         "status": "verified"},                                               # 16 404
    ]
    expected = [(201, "created"), (422, "failed"), (404, "failed"), (409, "failed"),
                (400, "failed"), (201, "created"), (200, "updated"), (201, "created"),
                (422, "failed"), (404, "failed"), (403, "failed"), (409, "failed"),
                (422, "failed"), (200, "updated"), (422, "failed"), (422, "failed"),
                (404, "failed")]
    events_before = count(app, "report_events")
    resp = batch(sleman, ops)
    assert resp.status_code == 207, resp.get_json()
    body = resp.get_json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(ops)))
    assert [r["op"] for r in results] == [op["op"] for op in ops]
    assert [(r["status"], r["result"]) for r in results] == expected
    assert body["succeeded"] == 5 and body["failed"] == len(ops) - 5
    for r in results:
        if r["result"] == "failed":
            assert r["error"]["status"] == r["status"]
            assert r["error"]["title"] and r["error"]["type"]
        else:
            assert not r.get("error")
            assert r["id"] and r["tracking_id"] and r["version"] >= 1
    assert "title" in results[1]["error"]["errors"]
    assert sorted(results[3]["error"]["allowed"]) == ["rejected", "verified"]
    assert any("occurred_at" in k for k in results[4]["error"]["errors"])
    assert "op" in results[8]["error"]["errors"]
    assert results[11]["error"]["allowed"] == []

    # The good ones are committed.
    n1 = sleman.get(f"/reports/{results[0]['id']}").get_json()
    assert n1["title"] == "Lampu jalan mati"
    assert n1["external_refs"] == [{"system": SYS, "external_id": "N-1"}]
    assert n1["status"] == "verified" and results[13]["id"] == n1["id"]
    assert [(e["data"] or {}).get("to") for e in timeline(sleman, n1["id"])] == \
        [None, "verified"]
    got = sleman.get(f"/reports/{plain['id']}").get_json()
    assert got["status"] == "verified"
    assert [r["body"] for r in responses(sleman, plain["id"])] == [
        "Terima kasih, segera kami proses."]
    assert results[6]["id"] == plain["id"] and results[7]["id"] == plain["id"]
    e1 = responses(sleman, existing["id"])
    assert [(r["body"], r["external_refs"]) for r in e1] == [
        ("Sudah ditinjau petugas.", [ref("R-1")])]
    # The bad ones wrote nothing.
    known = refs_of(sleman)
    assert set(known) == {(SYS, "E-1"), (SYS, "E-2"), (SYS, "N-1")}
    assert ("bantul-app", "B-2") not in refs_of(bantul)
    assert sleman.get(f"/reports/{rejected['id']}").get_json()["title"] == rejected["title"]
    assert sleman.get(f"/reports/{rejected['id']}").get_json()["version"] == \
        rejected["version"]
    # created N-1, verified N-1, verified plain, response on plain, response on E-1
    assert count(app, "report_events") == events_before + 5
    assert count(app, "reports") == 5  # E-1, E-2, plain, B-1 and the new N-1


def test_non_object_item_fails_alone(sleman):
    resp = batch(sleman, [upsert("OK-1"), "junk", 7, None, upsert("OK-2")])
    assert resp.status_code == 207, resp.get_json()
    results = resp.get_json()["results"]
    assert [(r["status"], r["result"]) for r in results] == [
        (201, "created"), (422, "failed"), (422, "failed"), (422, "failed"),
        (201, "created")]
    assert set(refs_of(sleman)) == {(SYS, "OK-1"), (SYS, "OK-2")}


@pytest.mark.parametrize("body", [{}, {"operations": []}, {"operations": "x"},
                                  {"operations": [upsert("X")] * 1001}])
def test_whole_batch_rejected_only_when_the_envelope_is_bad(app, sleman, body):
    resp = sleman.post("/sync/batches", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == PROBLEM
    assert count(app, "reports") == 0


def test_thousand_operations_accepted(app, sleman):
    ops = [upsert(f"K-{i}", title=f"Laporan {i}") for i in range(1000)]
    resp = batch(sleman, ops)
    assert resp.status_code == 207, resp.get_json()
    body = resp.get_json()
    assert body["succeeded"] == 1000 and body["failed"] == 0
    assert [r["index"] for r in body["results"]] == list(range(1000))
    assert all(r["result"] == "created" and r["status"] == 201 for r in body["results"])
    assert len({r["tracking_id"] for r in body["results"]}) == 1000
    assert count(app, "reports") == 1000
    assert count(app, "report_external_refs") == 1000
    known = refs_of(sleman)
    for i in (0, 499, 999):
        report = sleman.get(f"/reports/{known[(SYS, f'K-{i}')]}").get_json()
        assert report["title"] == f"Laporan {i}"
        assert report["id"] == body["results"][i]["id"]
    # 1001 is refused as a whole, and writes nothing.
    ops.append(upsert("K-1000"))
    resp = batch(sleman, ops)
    assert resp.status_code == 422
    assert resp.content_type == PROBLEM
    assert count(app, "reports") == 1000


def good_batch(plain):
    return [
        upsert("G-1", title="Sampah menumpuk"),
        upsert("G-2", status="in_progress"),
        {"op": "change_status", "report_ref": ref("G-1"), "status": "verified"},
        {"op": "add_response", "report_ref": ref("G-2"),
         "response": {"body": "Petugas sudah ke lokasi.", "external_ref": ref("RESP-1")}},
        {"op": "add_response", "report": plain["tracking_id"],
         "response": {"body": "Diterima.", "external_ref": ref("RESP-2"),
                      "created_at": "2026-11-21T09:00:00+07:00"}},
        {"op": "change_status", "report": plain["id"], "status": "verified"},
    ]


def test_replay_is_unchanged_and_adds_nothing(app, sleman):
    plain = sleman.create_report()
    ops = good_batch(plain)
    first = batch(sleman, ops)
    assert first.status_code == 207
    results = first.get_json()["results"]
    assert [r["result"] for r in results] == ["created", "created", "updated", "created",
                                              "created", "updated"]
    g2 = sleman.get(f"/reports/{results[1]['id']}").get_json()
    assert g2["status"] == "in_progress"
    resp_on_plain = responses(sleman, plain["id"])
    assert [r["created_at"] for r in resp_on_plain] == ["2026-11-21T02:00:00Z"]
    counts = {t: count(app, t) for t in ("reports", "responses", "report_events",
                                         "report_external_refs", "response_external_refs")}

    for _ in range(2):
        again = batch(sleman, ops)
        assert again.status_code == 207
        body = again.get_json()
        assert [r["result"] for r in body["results"]] == ["unchanged"] * len(ops)
        assert body["failed"] == 0
        assert [r["id"] for r in body["results"]] == [r["id"] for r in results]
        assert {t: count(app, t) for t in counts} == counts
    final = {r["id"]: r for r in all_reports(sleman)}
    assert final[results[0]["id"]]["version"] == results[2]["version"]
    assert final[plain["id"]]["status"] == "verified"


def test_same_new_record_twice_in_one_batch(sleman):
    first = report_payload(title="Versi satu", source_updated_at="2026-11-21T01:00:00Z")
    second = dict(first, title="Versi dua", source_updated_at="2026-11-21T02:00:00Z")
    older = dict(first, title="Versi nol", source_updated_at="2026-11-21T00:00:00Z")
    ops = [{"op": "upsert_report", "system": SYS, "external_id": "D-1", "report": p}
           for p in (first, second, first, older)]
    results = batch(sleman, ops).get_json()["results"]
    assert [r["result"] for r in results] == ["created", "updated", "stale", "stale"]
    assert len({r["id"] for r in results}) == 1
    reports = all_reports(sleman)
    assert len(reports) == 1 and reports[0]["title"] == "Versi dua"


def test_add_response_by_ref_and_tracking_id_moves_dispositioned(sleman):
    report = sleman.put(f"/sources/{SYS}/reports/T-1",
                        json=report_payload(status="dispositioned")).get_json()
    ops = [{"op": "add_response", "report_ref": ref("T-1"),
            "response": {"body": "Internal: cek lokasi", "visibility": "internal",
                         "external_ref": ref("IR-1")}},
           {"op": "add_response", "report": report["tracking_id"],
            "response": {"body": "Sedang kami tangani.", "author_name": "Dinas PU",
                         "external_ref": ref("PR-1")}}]
    results = batch(sleman, ops).get_json()["results"]
    assert [(r["status"], r["result"]) for r in results] == [(201, "created"),
                                                             (201, "created")]
    got = sleman.get(f"/reports/{report['id']}").get_json()
    # Only the public response moves the report on.
    assert got["status"] == "in_progress"
    listed = responses(sleman, report["id"])
    assert [(r["body"], r["visibility"], r["source"]) for r in listed] == [
        ("Internal: cek lokasi", "internal", SYS), ("Sedang kami tangani.", "public", SYS)]
    assert listed[1]["author_name"] == "Dinas PU"
    # Same external_ref on another report is a conflict, not a silent re-link.
    other = sleman.create_report()
    clash = batch(sleman, [{"op": "add_response", "report": other["id"],
                            "response": {"body": "x", "external_ref": ref("PR-1")}}])
    assert clash.get_json()["results"][0]["status"] == 409
    assert responses(sleman, other["id"]) == []


def test_items_respect_tenant_isolation(sleman, bantul):
    theirs = bantul.create_report()
    ops = [{"op": "change_status", "report": theirs["id"], "status": "verified"},
           {"op": "add_response", "report": theirs["tracking_id"],
            "response": {"body": "bukan urusan kami"}}]
    results = batch(sleman, ops).get_json()["results"]
    assert [r["status"] for r in results] == [404, 404]
    got = bantul.get(f"/reports/{theirs['id']}").get_json()
    assert got["status"] == "received" and got["version"] == 1
    assert responses(bantul, theirs["id"]) == []


def test_change_status_replay_is_unchanged(sleman):
    report = sleman.create_report()
    op = {"op": "change_status", "report": report["id"], "status": "verified"}
    first = batch(sleman, [op]).get_json()["results"][0]
    assert (first["status"], first["result"], first["version"]) == (200, "updated", 2)
    again = batch(sleman, [op, op]).get_json()["results"]
    assert [(r["status"], r["result"], r["version"]) for r in again] == [
        (200, "unchanged", 2), (200, "unchanged", 2)]
    assert len(timeline(sleman, report["id"])) == 2


def test_idempotency_key_replays_first_body(app, sleman):
    plain = sleman.create_report()
    ops = good_batch(plain)
    key = {"Idempotency-Key": "batch-2026-11-21-001"}
    first = batch(sleman, ops, headers=key)
    assert first.status_code == 207
    events = count(app, "report_events")
    replay = batch(sleman, ops, headers=key)
    assert replay.status_code == 207
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.get_json() == first.get_json()
    assert [r["result"] for r in replay.get_json()["results"]][:2] == ["created", "created"]
    assert count(app, "report_events") == events
    assert count(app, "reports") == 3
    # The same key with another batch is refused.
    other = batch(sleman, ops[:1], headers=key)
    assert other.status_code == 422
    assert other.content_type == PROBLEM
