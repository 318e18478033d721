"""Deliveries that no event and no receiver can stall, in order, with the right share for
every filter: poison payloads, a hanging receiver beside a healthy one, 410 then
re-enable then replay, agency filters on the event as it happened, and every delivery's
data being the /changes item of its seq."""
import io
import socket
import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, WebhookDelivery, WebhookRelayCursor, utcnow
from tests.api.test_attachments import tiny_png
from tests.webhooks.conftest import Receiver, dump, event_types, relay, subscribe

WH = "reports:read webhooks:manage"


def _deliveries(app, **where):
    with app.app_context():
        stmt = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(WebhookDelivery, key) == value)
        return db.session.execute(stmt).scalars().all()


def _upload_png(caller, report_id):
    resp = caller.post(f"/reports/{report_id}/attachments",
                       data={"file": (io.BytesIO(tiny_png()), "foto.png", "image/png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _patch(caller, sub, body):
    return caller.client.patch(f"/api/v1/webhooks/{sub['id']}", json=body,
                               headers={"Authorization": f"Bearer {caller.token}"})


def _changes(caller) -> dict:
    """seq -> the /changes item, every page, as the caller sees them."""
    items, cursor = {}, None
    while True:
        query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = caller.get("/changes", query_string=query).get_json()
        items.update({i["seq"]: i for i in page["items"]})
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items


def test_a_report_with_an_attachment_is_delivered(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    a = sleman.create_report()
    attachment = _upload_png(sleman, a["id"])
    assert sleman.status(a["id"], "verified").status_code == 200
    b = sleman.create_report()
    assert relay(app, lambda: len(receiver.accepted) >= 3), \
        dump([(d.type, d.status, d.last_error) for d in _deliveries(app)])
    got = [(p["type"], p["data"]["report_id"])
           for p in sorted(receiver.payloads(), key=lambda p: p["data"]["seq"])]
    assert got == [("report.created", a["id"]), ("report.status_changed", a["id"]),
                   ("report.created", b["id"])]
    [verified] = [p["data"]["report"] for p in receiver.payloads()
                  if p["type"] == "report.status_changed"]
    assert [x["id"] for x in verified["attachments"]] == [attachment["id"]]
    # The relay's cursor went past every event.
    with app.app_context():
        cursor = db.session.execute(sa.select(WebhookRelayCursor)).scalar_one()
        assert cursor.last_seq == max(p["data"]["seq"] for p in receiver.payloads())
    assert {d.status for d in _deliveries(app)} == {"succeeded"}


def test_a_poison_event_becomes_a_failed_delivery_and_the_rest_go_on(
        app, make_caller, fast, receiver, sleman, monkeypatch):
    from hub.webhooks import payloads
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    poison = sleman.create_report(title="Racun")
    fine = sleman.create_report()
    real = payloads.report_event_body

    def body(feed, event, principal):
        if event.report_id == poison["id"] or str(event.report_id) == poison["id"]:
            raise ValueError("cannot encode this report")
        return real(feed, event, principal)

    monkeypatch.setattr(payloads, "report_event_body", body)
    assert relay(app, lambda: len(receiver.accepted) >= 1)
    assert [p["data"]["report_id"] for p in receiver.payloads()] == [fine["id"]]
    log = caller.get(f"/webhooks/{sub['id']}/deliveries").get_json()["items"]
    [failed] = [d for d in log if d["report_id"] == poison["id"]]
    assert failed["status"] == "failed" and failed["attempts"] == 0
    assert "ValueError: cannot encode this report" in failed["last_error"]
    assert caller.get(f"/webhooks/{sub['id']}/deliveries",
                      query_string={"status": "failed"}).get_json()["items"] == [failed]
    retry = caller.post(f"/webhooks/deliveries/{failed['id']}/retry")
    assert retry.status_code == 409
    # Later events of the poisoned report are not held behind it.
    assert sleman.status(poison["id"], "verified").status_code == 200
    monkeypatch.setattr(payloads, "report_event_body", real)
    assert relay(app, lambda: len(receiver.accepted) >= 2)
    assert receiver.payloads()[-1]["data"]["report_id"] == poison["id"]


class Hanging:
    """A receiver on 127.0.0.1 that takes connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(200)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.secrets = []
        self.held = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)  # read nothing, answer nothing

    def stop(self):
        self.stopped = True
        for conn in self.held:
            conn.close()
        self.sock.close()


def test_a_hanging_receiver_does_not_block_a_healthy_one(app, make_caller, fast, receiver,
                                                         sleman):
    app.config["HUB_WEBHOOK_TIMEOUT_SECONDS"] = 10.0
    hanging = Hanging()
    try:
        stuck = subscribe(make_caller("kab-sleman", WH), hanging)
        subscribe(make_caller("kab-sleman", WH), receiver)
        # One report's events: each waits for the one before it to be delivered, so a
        # healthy subscription held behind the hanging one's timeouts would get its
        # second event only after the hanging one's first attempt ended.
        report = sleman.create_report()
        assert sleman.status(report["id"], "verified").status_code == 200
        assert sleman.post(f"/reports/{report['id']}/dispositions",
                           json={"to_agency": "kab-sleman"}).status_code == 200
        assert sleman.post(f"/reports/{report['id']}/responses",
                           json={"body": "Sedang ditangani."}).status_code == 201
        expected = 5  # created, verified, dispositioned, response, in progress

        def run():
            from hub.tasks.webhooks import relay_webhooks
            with app.app_context():
                relay_webhooks(max_seconds=9)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        deadline = time.monotonic() + 9
        while len(receiver.accepted) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        # The healthy one got everything while the hanging one's first request is
        # still waiting for an answer (no outcome recorded for it yet).
        stuck_log = _deliveries(app, subscription_id=uuid.UUID(stuck["id"]))
        assert len(receiver.accepted) == expected, dump(
            [(str(d.subscription_id), d.type, d.status, d.attempts, d.last_error)
             for d in _deliveries(app)])
        assert hanging.held, "the hanging receiver was never called"
        assert all(d.last_error is None and d.last_status_code is None for d in stuck_log)
        assert [d.status for d in stuck_log] == ["pending"] * expected
        worker.join(timeout=40)
    finally:
        hanging.stop()


def test_gone_then_re_enabled_then_replayed_keeps_each_reports_order(
        app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda n, path: (410, {}) if n == 1 else None
    report = sleman.create_report()
    assert relay(app, lambda: len(receiver.requests) >= 1)
    assert caller.get(f"/webhooks/{sub['id']}").get_json()["active"] is False
    # More of the same report and another report while it is disabled: the gap.
    assert sleman.status(report["id"], "verified").status_code == 200
    other = sleman.create_report()
    relay(app, timeout=0)
    resp = _patch(caller, sub, {"active": True})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["active"] is True and body["gap"]["since"] and body["gap"]["until"]
    # A new event of the report goes nowhere ahead of its dead first one.
    assert sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-sleman"}).status_code == 200
    relay(app, timeout=0)
    assert [p["data"]["report_id"] for p in receiver.payloads()] == []
    # Replay the gap: everything, in seq order per report.
    queued = caller.post(f"/webhooks/{sub['id']}/replay", json=body["gap"])
    assert queued.status_code == 202, queued.get_json()
    assert relay(app, lambda: len(receiver.accepted) >= 4), \
        dump([(d.type, d.event_seq, d.status) for d in _deliveries(app)])
    got = receiver.payloads()
    mine = [p for p in got if p["data"]["report_id"] == report["id"]]
    assert event_types(mine) == ["report.created", "report.status_changed",
                                 "report.dispositioned"], dump(mine)
    assert [p["data"]["seq"] for p in mine] == sorted(p["data"]["seq"] for p in mine)
    assert [p["data"]["report_id"] for p in got].count(other["id"]) == 1


def test_re_enabling_with_replay_gap_sends_the_gap_in_order(app, make_caller, fast, receiver,
                                                            sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda n, path: (410, {}) if n == 1 else None
    report = sleman.create_report()
    assert relay(app, lambda: len(receiver.requests) >= 1)
    assert sleman.status(report["id"], "verified").status_code == 200
    relay(app, timeout=0)
    resp = _patch(caller, sub, {"active": True, "replay_gap": True})
    assert resp.status_code == 200 and resp.get_json()["replayed"] == 2, resp.get_json()
    assert relay(app, lambda: len(receiver.accepted) >= 2)
    assert event_types(receiver.payloads()) == ["report.created", "report.status_changed"]


def _sleman_story(national, step):
    """Reports that are, or come to be, at Sleman or one of its units, or leave it;
    `step()` after every change. Returns the reports in order."""
    def ok(resp):
        assert resp.status_code in (200, 201), resp.get_json()
        step()

    unit = national.create_report(agency="kab-sleman")
    step()
    ok(national.status(unit["id"], "verified"))
    ok(national.post(f"/reports/{unit['id']}/dispositions",
                     json={"to_agency": "kab-sleman.bappeda"}))
    moved_in = national.create_report(agency="kab-bantul")
    step()
    ok(national.status(moved_in["id"], "verified"))
    ok(national.post(f"/reports/{moved_in['id']}/dispositions",
                     json={"to_agency": "kab-sleman.bkad"}))
    moved_out = national.create_report(agency="kab-sleman.setda")
    step()
    ok(national.status(moved_out["id"], "verified"))
    ok(national.post(f"/reports/{moved_out['id']}/dispositions",
                     json={"to_agency": "kab-bantul"}))
    return [unit, moved_in, moved_out]


def _shape(receiver, reports):
    index = {r["id"]: i for i, r in enumerate(reports)}
    # Order is kept per report, not across reports: compare in seq order.
    return [(index[p["data"]["report_id"]], p["type"], p["data"]["report"]["agency"])
            for p in sorted(receiver.payloads(), key=lambda p: p["data"]["seq"])
            if p["data"]["report_id"] in index]


def test_an_agency_filter_covers_its_units_live_or_late_alike(app, make_caller, fast,
                                                              national):
    received = {}
    for mode in ("live", "late"):
        rec = Receiver()
        try:
            subscribe(make_caller("*", WH), rec, agencies=["kab-sleman"])
            step = (lambda: relay(app, timeout=0)) if mode == "live" else (lambda: None)
            reports = _sleman_story(national, step)
            relay(app, timeout=0)
            relay(app, timeout=0)
            received[mode] = _shape(rec, reports)
        finally:
            rec.stop()
        with app.app_context():  # the next mode has a subscription of its own
            from hub.models import WebhookSubscription
            db.session.execute(sa.delete(WebhookSubscription))
            db.session.commit()
    expected = [
        (0, "report.created", "kab-sleman"),
        (0, "report.status_changed", "kab-sleman"),
        (0, "report.dispositioned", "kab-sleman.bappeda"),
        (1, "report.dispositioned", "kab-sleman.bkad"),
        (2, "report.created", "kab-sleman.setda"),
        (2, "report.status_changed", "kab-sleman.setda"),
    ]
    assert received["live"] == expected, dump(received)
    assert received["late"] == received["live"], dump(received)


def test_every_delivery_is_the_changes_item_of_its_seq(app, make_caller, fast, receiver,
                                                       sleman):
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver)
    first = sleman.create_report(reporter={"name": "Budi", "phone": "0822", "email": "b@x.id"})
    second = sleman.create_report()
    _upload_png(sleman, first["id"])
    sleman.resolve(first["id"])
    assert sleman.status(second["id"], "verified").status_code == 200
    # The relay runs only now, after every change: each delivery must still show its
    # report as it was at its event.
    assert relay(app, lambda: len(receiver.accepted) >= 8), \
        dump([(d.type, d.status, d.last_error) for d in _deliveries(app)])
    feed = _changes(caller)
    payloads = receiver.payloads()
    assert len(payloads) == 8
    for p in payloads:
        assert p["data"] == feed[p["data"]["seq"]], dump([p["data"], feed[p["data"]["seq"]]])
        assert p["data"]["report"]["version"] == p["data"]["report_version"]
    statuses = [p["data"]["report"]["status"] for p in payloads
                if p["data"]["report_id"] == first["id"]]
    assert statuses[0] == "received" and statuses[-1] == "resolved"
    [response] = [p for p in payloads if p["type"] == "response.created"]
    assert response["data"]["response"]["body"] == "Sudah ditangani."
    assert all(p["data"]["response"] is None for p in payloads if p is not response)


def test_report_overdue_is_delivered_as_of_its_event(app, make_caller, fast, receiver,
                                                     sleman):
    from hub.tasks.sla import flag_overdue
    caller = make_caller("kab-sleman", WH)
    subscribe(caller, receiver, event_types=["report.overdue"])
    report = sleman.create_report()
    with app.app_context():
        db.session.execute(sa.update(Report).where(Report.id == report["id"])
                           .values(due_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        assert flag_overdue(db.session) == 1
    assert relay(app, lambda: len(receiver.accepted) >= 1)
    [p] = receiver.payloads()
    assert p["type"] == "report.overdue" and p["data"]["report_id"] == report["id"]
    assert p["data"]["report"]["version"] == p["data"]["report_version"]
    assert p["data"] == _changes(caller)[p["data"]["seq"]]


def test_metrics_per_subscription(app, make_caller, fast, receiver, sleman, client):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    sleman.create_report()
    sleman.create_report()
    assert relay(app, lambda: len(receiver.accepted) >= 2)
    text = client.get("/metrics").get_data(as_text=True)
    assert f'hub_webhook_deliveries{{status="succeeded",subscription="{sub["id"]}"}} 2.0' \
        in text, text[-3000:]
    assert f'hub_webhook_lag_seconds{{subscription="{sub["id"]}"}} 0.0' in text
    assert f'hub_webhook_circuit_open{{subscription="{sub["id"]}"}} 0.0' in text


@pytest.mark.parametrize("n", [6])
def test_a_failing_receiver_opens_its_circuit(app, make_caller, fast, receiver, sleman, n,
                                              monkeypatch):
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_CIRCUIT_FAILURES", 3)
    # One request at a time, so the count is exact: with more in flight, those already
    # sent when the third failure lands still arrive (at most threshold + share - 1).
    monkeypatch.setitem(app.config, "HUB_WEBHOOK_SUBSCRIPTION_CONCURRENCY", 1)
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    receiver.respond = lambda k, path: (503, {})
    for _ in range(n):
        sleman.create_report()
    relay(app, lambda: len(receiver.requests) >= 3, timeout=5)
    relay(app, timeout=0)
    # After 3 failures in a row, no more attempts while the circuit is open.
    assert len(receiver.requests) == 3, len(receiver.requests)
    with app.app_context():
        from hub.models import WebhookSubscription
        row = db.session.get(WebhookSubscription, sub["id"])
        assert row.circuit_open_until is not None and row.circuit_open_until > utcnow()



def test_a_lease_is_renewed_while_its_request_runs(app, make_caller, fast, receiver, sleman):
    """A request slower than the lease is not claimed and sent again by another relay:
    its job renews the claim while it waits (the lease is short so that a dead job's
    claims come back fast)."""
    app.config.update(HUB_WEBHOOK_CLAIM_SECONDS=0.9, HUB_WEBHOOK_TIMEOUT_SECONDS=6.0)
    subscribe(make_caller("kab-sleman", WH), receiver)
    receiver.delay = 2.5
    sleman.create_report()
    sleman.create_report()

    def run():
        from hub.tasks.webhooks import relay_webhooks
        with app.app_context():
            relay_webhooks(max_seconds=4)

    relays = [threading.Thread(target=run, daemon=True) for _ in range(2)]
    for t in relays:
        t.start()
        time.sleep(0.3)
    for t in relays:
        t.join(timeout=30)
    assert len(receiver.requests) == 2, [r["headers"]["webhook-id"] for r in receiver.requests]
    assert {d.status for d in _deliveries(app)} == {"succeeded"}
    assert all(d.attempts == 1 for d in _deliveries(app))


def test_on_sqlite_the_relay_delivers_the_changes_items(tmp_path):
    """The embedded default: the same claim, lease and builder on SQLite."""
    from hub.models import ApiClient, hash_secret
    from tests.helpers import Caller, sqlite_app, sqlite_caller
    from tests.webhooks.conftest import FAST
    app = sqlite_app(tmp_path)
    app.config.update(FAST)
    writer = sqlite_caller(app)
    with app.app_context():
        db.session.add(ApiClient(id="lite-wh", name="lite-wh", agency_code="kab-sleman",
                                 scopes=WH, secret_hash=hash_secret("s")))
        db.session.commit()
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"client_id": "lite-wh", "client_secret": "s"}).get_json()
    owner = Caller(client, token["access_token"], "kab-sleman")
    rec = Receiver()
    try:
        subscribe(owner, rec)
        report = writer.create_report()
        writer.resolve(report["id"])
        assert relay(app, lambda: len(rec.accepted) >= 6)
        feed = _changes(owner)
        assert all(p["data"] == feed[p["data"]["seq"]] for p in rec.payloads())
        assert sorted(p["data"]["seq"] for p in rec.payloads()) == sorted(feed)
    finally:
        rec.stop()
