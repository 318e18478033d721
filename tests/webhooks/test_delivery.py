"""Delivery to a real receiver: signatures, order, retries, 410, redirects, Retry-After,
privacy and tenant isolation, the outbox for sync.failed, manual retry and replay."""
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub.extensions import db
from hub.models import WebhookDelivery, WebhookOutboxEvent
from tests.webhooks.conftest import dump, event_types, relay, subscribe

WH = "reports:read webhooks:manage"


def _deliveries(app, status=None):
    with app.app_context():
        stmt = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        return db.session.execute(stmt).scalars().all()


def test_events_delivered_signed_in_order_with_a_log(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    report = sleman.create_report()
    sleman.resolve(report["id"])
    assert relay(app, lambda: len(receiver.accepted) >= 6), \
        dump([(d.type, d.status, d.attempts, d.last_error) for d in _deliveries(app)])
    payloads = receiver.payloads()
    assert event_types(payloads) == [
        "report.created", "report.status_changed", "report.dispositioned",
        "response.created", "report.status_changed", "report.status_changed"], dump(payloads)
    assert all(r["verified"] for r in receiver.requests)
    first = payloads[0]
    assert set(first) == {"type", "timestamp", "data"} and first["timestamp"].endswith("Z")
    assert first["data"]["report"]["id"] == report["id"]
    assert payloads[3]["data"]["response"]["body"] == "Sudah ditangani."
    seqs = [p["data"]["seq"] for p in payloads]
    assert seqs == sorted(seqs)
    log = caller.get(f"/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert sorted(d["webhook_id"] for d in log) == sorted(receiver.ids())
    assert all(d["status"] == "succeeded" and d["attempts"] == 1 for d in log)
    assert all(d["attempt_log"][0]["status_code"] == 200 for d in log)
    # a subscription made now does not get the history
    late_owner = make_caller("kab-sleman", WH)
    late = subscribe(late_owner, receiver)
    relay(app)
    assert late_owner.get(f"/webhooks/{late['id']}/deliveries").get_json()["items"] == []


def test_filters_by_event_type_and_agency(app, make_caller, fast, receiver, sleman, national):
    nat = make_caller("*", WH)
    subscribe(nat, receiver, event_types=["report.status_changed"], agencies=["kab-bantul"])
    sleman.create_report()
    bantul_report = national.create_report(agency="kab-bantul")
    assert national.status(bantul_report["id"], "verified").status_code == 200
    relay(app)
    payloads = receiver.payloads()
    assert event_types(payloads) == ["report.status_changed"]
    assert payloads[0]["data"]["report"]["id"] == bantul_report["id"]


def test_privacy_and_tenant_isolation(app, make_caller, fast, receiver, sleman, bantul):
    own = make_caller("kab-sleman", WH)
    other_agency = make_caller("kab-bantul", WH)
    nat = make_caller("*", WH)  # national, not admin
    adm = make_caller("*", "admin")
    subs = {name: subscribe(c, receiver)["id"] for name, c in
            (("own", own), ("bantul", other_agency), ("national", nat), ("admin", adm))}
    anon = sleman.create_report(privacy={"anonymous": True, "confidential": False},
                                reporter={"name": "Rahasia", "phone": "0811111",
                                          "email": "rahasia@example.id"})
    named = sleman.create_report(reporter={"name": "Budi", "phone": "0822222",
                                           "email": "budi@example.id"})
    relay(app, lambda: len(receiver.accepted) >= 6)
    relay(app)
    sub_of = {d.message_id: str(d.subscription_id) for d in _deliveries(app)}
    assert subs["bantul"] not in sub_of.values(), "another agency's report was delivered"
    assert len(receiver.accepted) == 6
    reporters = {}
    for accepted in receiver.accepted:
        report = accepted["payload"]["data"]["report"]
        reporters[(sub_of[accepted["id"]], report["id"])] = report["reporter"]
        if sub_of[accepted["id"]] != subs["admin"]:
            raw = str(accepted["payload"])
            assert "Rahasia" not in raw and "0811111" not in raw and "rahasia@" not in raw
    assert reporters[(subs["own"], anon["id"])] is None
    assert reporters[(subs["national"], anon["id"])] is None
    assert reporters[(subs["admin"], anon["id"])]["name"] == "Rahasia"
    assert reporters[(subs["own"], named["id"])]["phone"] == "0822222"  # responsible agency
    assert reporters[(subs["national"], named["id"])] == {"name": "Budi"}  # name only
    assert reporters[(subs["admin"], named["id"])]["email"] == "budi@example.id"


def test_receiver_down_then_up_every_event_once_in_order(app, make_caller, fast, receiver,
                                                         sleman):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    receiver.stop()  # connection refused from now on
    ids = [sleman.create_report()["id"] for _ in range(4)]
    for rid in ids:
        sleman.resolve(rid)
    expected = 4 * 6
    relay(app, timeout=0)
    relay(app, timeout=0)
    pending = _deliveries(app, "pending")
    assert len(pending) == expected and any(d.attempts >= 1 for d in pending)
    # only the first event of each report was tried: the later ones wait behind it
    assert {d.report_id for d in pending if d.attempts} == {d.report_id for d in pending}
    assert all(d.attempts == 0 for d in pending if d.type != "report.created")
    time.sleep(1.5)
    receiver.start()  # same port
    assert relay(app, lambda: len(set(receiver.ids())) >= expected, timeout=40), \
        (len(receiver.ids()), dump([(d.type, d.status, d.attempts) for d in _deliveries(app)]))
    assert len(receiver.ids()) == len(set(receiver.ids())) == expected
    per_report = {}
    for p in receiver.payloads():
        per_report.setdefault(p["data"]["report_id"], []).append(
            (p["data"]["seq"], p["data"]["report_version"]))
    assert set(per_report) == set(ids)
    for rid, seen in per_report.items():
        assert seen == sorted(seen), (rid, seen)
        assert len(seen) == 6
    assert {d.status for d in _deliveries(app)} == {"succeeded"}


def test_gone_disables_the_subscription(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda n, path: (410, {})
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    sleman.create_report()
    relay(app)
    got = caller.get(f"/webhooks/{sub['id']}").get_json()
    assert got["active"] is False and "410" in got["disabled_reason"]
    assert len(receiver.requests) == 1
    sleman.create_report()
    relay(app)
    assert len(receiver.requests) == 1, "a disabled subscription got another request"
    # nothing queues up for a disabled subscription
    assert [d.status for d in _deliveries(app)] == ["dead"]
    # re-enabled, a replay of the gap brings both events
    receiver.respond = None
    resp = caller.client.patch(f"/api/v1/webhooks/{sub['id']}", json={"active": True},
                               headers={"Authorization": f"Bearer {caller.token}"})
    assert resp.status_code == 200 and resp.get_json()["disabled_reason"] is None
    resp = caller.post(f"/webhooks/{sub['id']}/replay", json={
        "since": start.isoformat(), "until": datetime.now(timezone.utc).isoformat()})
    assert resp.get_json()["queued"] == 2
    assert relay(app, lambda: len(receiver.accepted) == 2)


def test_redirects_are_not_followed(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda n, path: (302, {"Location": f"http://127.0.0.1:{receiver.port}"
                                                          "/elsewhere"}) \
        if path == "/hook" else (200, {})
    sleman.create_report()
    relay(app, timeout=0)
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    d = caller.get(f"/webhooks/{sub['id']}/deliveries").get_json()["items"][0]
    assert d["status"] == "pending" and d["last_status_code"] == 302
    assert "not followed" in d["last_error"]
    assert receiver.accepted == []


def test_retry_after_is_honoured(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    receiver.respond = lambda n, path: (503, {"Retry-After": "2"}) if n == 1 else None
    sleman.create_report()
    assert relay(app, lambda: len(receiver.accepted) == 1, timeout=15)
    first, second = receiver.requests[0]["at"], receiver.requests[1]["at"]
    assert second - first >= 1.9, second - first  # the base backoff alone is 0.2 s
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["webhook-id"] == \
        receiver.requests[1]["headers"]["webhook-id"]


def test_gives_up_after_the_retry_window_then_manual_retry(app, make_caller, fast, receiver,
                                                           sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda n, path: (500, {})
    sleman.create_report()
    relay(app, timeout=0)
    with app.app_context():  # the 24 h window ends now
        db.session.execute(sa.update(WebhookDelivery).values(
            retry_until=datetime.now(timezone.utc) - timedelta(seconds=1),
            next_attempt_at=datetime.now(timezone.utc)))
        db.session.commit()
    relay(app, timeout=0)
    [d] = caller.get(f"/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert d["status"] == "dead" and d["attempts"] == 2 and d["last_status_code"] == 500
    assert [a["attempt"] for a in d["attempt_log"]] == [1, 2]
    receiver.respond = None
    resp = caller.post(f"/webhooks/deliveries/{d['id']}/retry")
    assert resp.status_code == 202 and resp.get_json()["status"] == "pending"
    assert relay(app, lambda: len(receiver.accepted) == 1)
    assert receiver.ids() == [d["webhook_id"]]
    assert caller.get(f"/webhooks/deliveries/{d['id']}").get_json()["status"] == "succeeded"


def test_replay_resends_a_time_range_under_the_same_ids(app, make_caller, fast, receiver,
                                                        sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    for _ in range(3):
        sleman.create_report()
    assert relay(app, lambda: len(receiver.accepted) == 3)
    first_ids = receiver.ids()
    resp = caller.post(f"/webhooks/{sub['id']}/replay", json={
        "since": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat()})
    assert resp.status_code == 202 and resp.get_json()["queued"] == 3
    assert relay(app, lambda: len(receiver.accepted) == 6)
    assert sorted(receiver.ids()[3:]) == sorted(first_ids)
    # a replay reaches back before the subscription existed, with new ids
    newer = subscribe(make_caller("kab-sleman", WH), receiver)
    resp = caller.client.post(f"/api/v1/webhooks/{newer['id']}/replay", json={
        "since": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat()},
        headers={"Authorization": f"Bearer {caller.token}"})
    assert resp.status_code == 404  # not the caller's subscription


def test_sync_failed_from_the_outbox_only_when_committed(app, make_caller, fast, receiver,
                                                         national):
    from hub.services.outbox import emit
    caller = make_caller("kab-sleman", WH)
    bantul = make_caller("kab-bantul", WH)
    subscribe(caller, receiver, event_types=["sync.failed"])
    subscribe(bantul, receiver)
    with app.app_context():
        emit(db.session, "sync.failed", "kab-sleman", {"connector": "rolled-back"})
        db.session.rollback()
        emit(db.session, "sync.failed", "kab-sleman", {"connector": "lapor-sleman",
                                                        "error": "HTTP 503"})
        db.session.commit()
    national.create_report(agency="kab-sleman")  # a report event: filtered out by type
    assert relay(app, lambda: len(receiver.accepted) >= 1)
    relay(app)
    assert [p["data"]["connector"] for p in receiver.payloads()] == ["lapor-sleman"]
    assert receiver.payloads()[0]["type"] == "sync.failed"
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(WebhookOutboxEvent)
                                  .where(WebhookOutboxEvent.relayed_at.is_(None))).scalar() == 0


def test_a_failed_sync_run_emits_sync_failed(app, make_caller, fast, receiver, sim, connector):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver, event_types=["sync.failed"])
    from hub.sync.runner import run_connector
    with app.app_context():
        from hub.models import Connector
        conn = db.session.get(Connector, connector)
        conn_config = dict(conn.config)
        conn_config["base_url"] = "http://127.0.0.1:9/"  # nothing listens there
        conn.config = conn_config
        db.session.commit()
        run_connector(connector, "manual")
    assert relay(app, lambda: len(receiver.accepted) >= 1)
    [payload] = receiver.payloads()
    assert payload["type"] == "sync.failed" and payload["data"]["connector"] == connector
    assert payload["data"]["error"]


def test_each_outcome_recorded_on_its_own_delivery(app, make_caller, fast, receiver, sleman):
    """A batch is claimed in due-time order, not id order (a retry due after a newer
    event): every outcome must land on the delivery it belongs to."""
    from tests.webhooks.conftest import Receiver
    failing = Receiver()
    try:
        failing.respond = lambda n, path: (503, {})
        bad_owner, good_owner = make_caller("kab-sleman", WH), make_caller("kab-sleman", WH)
        bad = subscribe(bad_owner, failing)
        subscribe(good_owner, receiver)
        for _ in range(3):
            sleman.create_report()
        from hub.webhooks.relay import fan_out
        now = datetime.now(timezone.utc)
        with app.app_context():
            fan_out(db.session)
            rows = db.session.execute(sa.select(WebhookDelivery).order_by(
                WebhookDelivery.id)).scalars().all()
            for rank, d in enumerate(rows):  # claimed in the reverse order of their ids
                d.next_attempt_at = now - timedelta(seconds=rank)
            db.session.commit()
        assert relay(app, lambda: len(receiver.accepted) == 3)
        by_sub = {}
        for d in _deliveries(app):
            by_sub.setdefault(str(d.subscription_id), []).append(d)
        for sid, rows in by_sub.items():
            with app.app_context():
                codes = {a.status_code for d in rows for a in db.session.get(
                    WebhookDelivery, d.id).attempt_log}
            if sid == bad["id"]:
                assert codes == {503} and {d.status for d in rows} == {"pending"}
            else:
                assert codes == {200} and {d.status for d in rows} == {"succeeded"}
        assert len(failing.requests) >= 3
    finally:
        failing.stop()
