"""The subscription API: scope, tenant isolation, validation, SSRF refusal, secrets."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models import WebhookSubscription
from tests.webhooks.conftest import auth, relay, subscribe

WH = "reports:read webhooks:manage"


def test_needs_the_webhooks_scope(make_caller, fast, receiver):
    plain = make_caller("kab-sleman", "reports:read reports:write")
    resp = plain.post("/webhooks", json={"url": receiver.url})
    assert resp.status_code == 403
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert plain.get("/webhooks").status_code == 403
    assert plain.client.get("/api/v1/webhooks").status_code == 401


def test_create_shows_secret_once_and_stores_it_sealed(app, make_caller, fast, receiver):
    caller = make_caller("kab-sleman", WH)
    created = subscribe(caller, receiver, event_types=["report.created"],
                        agencies=["kab-sleman"])
    assert created["secret"].startswith("whsec_")
    assert created["active"] is True and created["event_types"] == ["report.created"]
    listed = caller.get("/webhooks").get_json()["items"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in caller.get(f"/webhooks/{created['id']}").get_json()
    with app.app_context():
        sealed = db.session.execute(sa.select(WebhookSubscription.secret_sealed)).scalar_one()
    assert created["secret"] not in sealed and "whsec_" not in sealed


def test_another_clients_subscription_is_404(make_caller, fast, receiver):
    owner = make_caller("kab-sleman", WH)
    other = make_caller("kab-sleman", WH)  # same agency, different client
    sub = subscribe(owner, receiver)
    sid = sub["id"]
    assert other.get(f"/webhooks/{sid}").status_code == 404
    assert other.get(f"/webhooks/{sid}/deliveries").status_code == 404
    assert other.post(f"/webhooks/{sid}/test").status_code == 404
    assert other.client.delete(f"/api/v1/webhooks/{sid}", headers=auth(other)).status_code == 404
    assert other.get("/webhooks").get_json()["items"] == []
    # the owner's test ping makes a delivery; the other client cannot see or retry it
    ping = owner.post(f"/webhooks/{sid}/test").get_json()
    assert other.get(f"/webhooks/deliveries/{ping['id']}").status_code == 404
    assert other.post(f"/webhooks/deliveries/{ping['id']}/retry").status_code == 404
    assert owner.get(f"/webhooks/{sid}").status_code == 200
    assert owner.client.delete(f"/api/v1/webhooks/{sid}", headers=auth(owner)).status_code == 204
    assert owner.get(f"/webhooks/{sid}").status_code == 404


def test_private_destinations_refused_without_the_allow_list(app, make_caller, receiver):
    caller = make_caller("kab-sleman", WH)
    app.config.pop("HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS", None)
    for url in (receiver.url, "http://localhost:8080/x", "http://10.1.2.3/hook",
                "http://169.254.169.254/latest/meta-data", "http://[::1]:9000/",
                "http://192.168.1.10/", "http://224.0.0.1/", "http://0.0.0.0/",
                "http://[::ffff:127.0.0.1]/"):
        resp = caller.post("/webhooks", json={"url": url})
        assert resp.status_code == 422, (url, resp.get_json())
        assert "url" in resp.get_json()["errors"], url
    for url in ("ftp://example.org/x", "file:///etc/passwd", "http://user:pw@example.org/",
                "not a url"):
        resp = caller.post("/webhooks", json={"url": url})
        assert resp.status_code == 422, (url, resp.get_json())
    assert caller.get("/webhooks").get_json()["items"] == []


def test_allow_list_admits_only_the_listed_range(app, make_caller, receiver):
    caller = make_caller("kab-sleman", WH)
    app.config["HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.0/8"
    try:
        assert caller.post("/webhooks", json={"url": receiver.url}).status_code == 201
        assert caller.post("/webhooks", json={"url": "http://10.1.2.3/"}).status_code == 422
    finally:
        app.config.pop("HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS", None)


def test_destination_checked_again_at_delivery(app, make_caller, fast, receiver, sleman):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    app.config.pop("HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS")  # e.g. the DNS now points inside
    sleman.create_report(agency="kab-sleman")
    relay(app, timeout=0)
    assert receiver.requests == []
    items = caller.get(f"/webhooks/{sub['id']}/deliveries").get_json()["items"]
    assert len(items) == 1 and items[0]["status"] == "pending"
    assert items[0]["attempt_log"][0]["error"].startswith("refused:")


def test_bad_input_is_a_clear_422(make_caller, fast, receiver):
    caller = make_caller("kab-sleman", WH)
    cases = [
        {"url": receiver.url, "event_types": ["report.deleted"]},
        {"url": receiver.url, "agencies": ["kab-bantul"]},  # not the caller's agency
        {"url": receiver.url, "agencies": ["no-such-agency"]},
        {"url": ""},
        {},
        {"url": receiver.url, "event_types": []},
    ]
    for body in cases:
        resp = caller.post("/webhooks", json=body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.get_json()["errors"], body
    resp = caller.post(f"/webhooks/{'0' * 8}-0000-0000-0000-{'0' * 12}/replay",
                       json={"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"})
    assert resp.status_code == 404
    sub = subscribe(caller, receiver)
    resp = caller.post(f"/webhooks/{sub['id']}/replay",
                       json={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert resp.status_code == 422
    resp = caller.post(f"/webhooks/{sub['id']}/replay",
                       json={"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00Z"})
    assert resp.status_code == 400
    assert caller.get(f"/webhooks/{sub['id']}/deliveries?cursor=zzz").status_code == 400
    assert caller.get("/webhooks").get_json()["items"][0]["id"] == sub["id"]


def test_test_ping_is_signed_and_logged(make_caller, fast, receiver):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    resp = caller.post(f"/webhooks/{sub['id']}/test")
    assert resp.status_code == 200, resp.get_json()
    ping = resp.get_json()
    assert ping["status"] == "succeeded" and ping["type"] == "webhook.test"
    assert receiver.ids() == [ping["webhook_id"]]
    assert receiver.payloads()[0]["type"] == "webhook.test"
    attempt = ping["attempt_log"][0]
    assert attempt["status_code"] == 200 and attempt["attempt"] == 1
    assert attempt["latency_ms"] is not None and attempt["request_headers"]["webhook-id"]


def test_rotation_signs_with_both_secrets_during_the_overlap(make_caller, fast, receiver):
    caller = make_caller("kab-sleman", WH)
    sub = subscribe(caller, receiver)
    old = receiver.secrets[0]
    resp = caller.post(f"/webhooks/{sub['id']}/rotate-secret", json={"overlap_seconds": 3600})
    assert resp.status_code == 200
    new = resp.get_json()["secret"]
    assert new.startswith("whsec_") and new != old
    for secrets in ([old], [new]):  # a receiver on either secret accepts
        receiver.secrets[:] = secrets
        assert caller.post(f"/webhooks/{sub['id']}/test").get_json()["status"] == "succeeded"
    header = receiver.requests[-1]["headers"]["webhook-signature"]
    assert len(header.split(" ")) == 2
    caller.post(f"/webhooks/{sub['id']}/rotate-secret", json={"overlap_seconds": 0})
    receiver.secrets[:] = [new]  # the overlap is over: the previous secret no longer signs
    assert caller.post(f"/webhooks/{sub['id']}/test").get_json()["status"] == "dead"
