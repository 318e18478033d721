"""Idempotency-Key on writes that create: replay, misuse, scope per client, races."""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.extensions import db
from tests.helpers import Caller, report_payload

PROBLEM = "application/problem+json"


def count(app, table):
    with app.app_context():
        return db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def create(caller, payload, key):
    return caller.post("/reports", json=payload, headers={"Idempotency-Key": key})


def test_same_key_same_body_replays_first_response(app, sleman):
    payload = report_payload()
    first = create(sleman, payload, "lapor-2026-0001")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    for _ in range(2):
        again = create(sleman, payload, "lapor-2026-0001")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json() == first.get_json()
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Location"] == first.headers["Location"]
        assert again.content_type == first.content_type
    assert count(app, "reports") == 1
    assert count(app, "report_events") == 1
    listed = sleman.get("/reports").get_json()["items"]
    assert [r["id"] for r in listed] == [first.get_json()["id"]]


def test_replay_returns_the_first_response_not_the_current_state(sleman):
    payload = report_payload()
    first = create(sleman, payload, "k-state")
    sleman.status(first.get_json()["id"], "verified")
    again = create(sleman, payload, "k-state")
    assert again.get_json() == first.get_json()
    assert again.get_json()["status"] == "received" and again.get_json()["version"] == 1


def test_without_key_each_post_creates(app, sleman):
    payload = report_payload()
    a = sleman.post("/reports", json=payload)
    b = sleman.post("/reports", json=payload)
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]
    assert count(app, "reports") == 2


def test_same_key_different_body_is_422(app, sleman):
    payload = report_payload()
    first = create(sleman, payload, "k-1")
    assert first.status_code == 201
    other = create(sleman, dict(payload, title="Judul lain"), "k-1")
    assert other.status_code == 422, other.get_json()
    assert other.content_type == PROBLEM
    assert other.get_json()["status"] == 422
    assert "Idempotent-Replayed" not in other.headers
    assert count(app, "reports") == 1
    # The original is still replayed afterwards.
    assert create(sleman, payload, "k-1").get_json() == first.get_json()


@pytest.mark.parametrize("key,status", [("k" * 255, 201), ("k" * 256, 400),
                                        ("k" * 1000, 400), ("", 400)])
def test_key_length(app, sleman, key, status):
    resp = create(sleman, report_payload(), key)
    assert resp.status_code == status, resp.get_json()
    if status == 400:
        assert resp.content_type == PROBLEM
        assert count(app, "reports") == 0
    else:
        assert count(app, "reports") == 1


def test_different_clients_use_the_same_key_independently(app, sleman, bantul, make_caller):
    payload = report_payload()
    a = create(sleman, payload, "shared-key")
    b = create(bantul, payload, "shared-key")
    c = create(make_caller("kab-sleman"), payload, "shared-key")  # same agency, other client
    assert a.status_code == b.status_code == c.status_code == 201
    assert "Idempotent-Replayed" not in b.headers and "Idempotent-Replayed" not in c.headers
    assert len({a.get_json()["id"], b.get_json()["id"], c.get_json()["id"]}) == 3
    assert b.get_json()["agency"] == "kab-bantul"
    assert count(app, "reports") == 3
    # A different body under the same key is fine for another client too.
    d = create(make_caller("kab-bantul"), report_payload(title="Lain"), "shared-key")
    assert d.status_code == 201
    # Bantul replays its own, never Sleman's.
    assert create(bantul, payload, "shared-key").get_json()["id"] == b.get_json()["id"]


def test_failed_request_does_not_burn_the_key(app, sleman):
    bad = create(sleman, report_payload(title=""), "k-retry")
    assert bad.status_code == 422
    bad = create(sleman, report_payload(category="tidak-ada"), "k-retry")
    assert bad.status_code == 422
    good = create(sleman, report_payload(), "k-retry")
    assert good.status_code == 201, good.get_json()
    assert "Idempotent-Replayed" not in good.headers
    assert count(app, "reports") == 1


def test_key_expires_after_24_hours(app, sleman):
    payload = report_payload()
    first = create(sleman, payload, "k-old")
    with app.app_context():
        from hub.models import IdempotencyRecord
        for record in db.session.execute(sa.select(IdempotencyRecord)).scalars():
            record.created_at -= timedelta(hours=25)
        db.session.commit()
    again = create(sleman, payload, "k-old")
    assert again.status_code == 201, again.get_json()
    assert "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first.get_json()["id"]
    assert count(app, "reports") == 2
    assert count(app, "idempotency_records") == 1
    # And the new record is replayed from now on.
    assert create(sleman, payload, "k-old").get_json()["id"] == again.get_json()["id"]


def test_key_on_responses(app, sleman):
    report = sleman.create_report()
    body = {"body": "Petugas sudah menambal lubang."}
    key = {"Idempotency-Key": "resp-1"}
    first = sleman.post(f"/reports/{report['id']}/responses", json=body, headers=key)
    assert first.status_code == 201, first.get_json()
    again = sleman.post(f"/reports/{report['id']}/responses", json=body, headers=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert len(sleman.get(f"/reports/{report['id']}/responses").get_json()["items"]) == 1
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == 2


@pytest.mark.parametrize("n", [5, 8])
def test_concurrent_same_key_creates_one_report(app, make_caller, n):
    caller = make_caller("kab-sleman")
    payload = report_payload()
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def post(i):
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            barrier.wait(timeout=10)
            resp = create(own, payload, "race-key")
            results[i] = (resp.status_code, resp.get_json(),
                          resp.headers.get("Idempotent-Replayed"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert all(r[0] == 201 for r in results), results
    assert len({r[1]["id"] for r in results}) == 1
    assert len({r[1]["tracking_id"] for r in results}) == 1
    assert sum(1 for r in results if r[2] is None) == 1  # exactly one did the work
    assert count(app, "reports") == 1
    assert count(app, "report_events") == 1
    assert count(app, "idempotency_records") == 1


def test_concurrent_same_key_different_bodies(app, make_caller):
    """Racing requests with one key but different bodies: one wins, the others are 422."""
    caller = make_caller("kab-sleman")
    n = 6
    barrier = threading.Barrier(n)
    statuses, errors = [None] * n, []

    def post(i):
        try:
            own = Caller(app.test_client(), caller.token, caller.agency)
            barrier.wait(timeout=10)
            statuses[i] = create(own, report_payload(title=f"Laporan {i}"),
                                 "race-diff").status_code
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(statuses) == [201] + [422] * (n - 1), statuses
    assert count(app, "reports") == 1
