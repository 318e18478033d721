"""The webhook pages of the officers' UI through the Flask test client, against a real
receiver on 127.0.0.1: roles, the secret shown once, test ping and the delivery log,
retry of a dead delivery, replay, 410, tenant isolation, friendly URL errors, escaping
and both languages."""
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hub.extensions import db
from hub.models import ApiClient, WebhookDelivery, WebhookSubscription
from tests.ui.conftest import login, page_csrf
from tests.webhooks import conftest as webhook_fixtures
from tests.webhooks.conftest import relay

# The real receiver and the loopback allow-list of the webhook tests.
fast, receiver = webhook_fixtures.fast, webhook_fixtures.receiver

WH = "reports:read webhooks:manage"
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")


def _admin(app, make_user, email="admin@slemankab.go.id", agency="kab-sleman",
           role="agency_admin", lang=None):
    make_user(email, agency, role=role)
    client = app.test_client()
    assert login(client, email, lang=lang).status_code == 302
    return client


def _client_id(app, agency):
    with app.app_context():
        return db.session.execute(sa.select(ApiClient.id).where(
            ApiClient.agency_code == agency).order_by(ApiClient.id)).scalars().first()


def _create(ui, client_id, url, **extra):
    data = {"csrf_token": page_csrf(ui, "/ui/webhooks"), "client": client_id, "url": url,
            **extra}
    return ui.post("/ui/webhooks", data=data)


def _subscribe(app, ui, receiver, client_id, **extra):
    resp = _create(ui, client_id, receiver.url, **extra)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 201, html
    secret = _SECRET.search(html).group(0)
    receiver.secrets.append(secret)
    with app.app_context():
        sub = db.session.execute(sa.select(WebhookSubscription).order_by(
            WebhookSubscription.created_at.desc())).scalars().first()
        return str(sub.id), secret


def _deliveries(app, sub_id):
    with app.app_context():
        return db.session.execute(sa.select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == sub_id).order_by(WebhookDelivery.id)
        ).scalars().all()


def _post(ui, url, back="/ui/webhooks", **data):
    return ui.post(url, data={"csrf_token": page_csrf(ui, back), **data})


def test_officer_sees_the_list_but_every_change_is_403(app, make_user, make_caller, fast,
                                                       receiver, officer):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"))
    page = officer.get("/ui/webhooks")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and receiver.url in html
    assert 'id="new-webhook"' not in html and "rotate" not in html  # no change forms
    assert officer.get(f"/ui/webhooks/{sub_id}").status_code == 200
    token = page_csrf(officer, "/ui/webhooks")
    for url in ("/ui/webhooks", f"/ui/webhooks/{sub_id}/rotate",
                f"/ui/webhooks/{sub_id}/disable", f"/ui/webhooks/{sub_id}/delete",
                f"/ui/webhooks/{sub_id}/test", f"/ui/webhooks/{sub_id}/replay"):
        resp = officer.post(url, data={"csrf_token": token, "url": receiver.url,
                                       "client": _client_id(app, "kab-sleman")})
        assert resp.status_code == 403, url
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(
            WebhookSubscription)).scalar() == 1
    assert _deliveries(app, sub_id) == [] and receiver.requests == []


def test_admin_creates_secret_shown_once_then_ping_lands_in_the_log(app, make_user,
                                                                     make_caller, fast,
                                                                     receiver):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    sub_id, secret = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"),
                                event_types=["report.created", "report.status_changed"],
                                agencies="kab-sleman")
    with app.app_context():
        sub = db.session.get(WebhookSubscription, sub_id)
        assert sub.event_types == ["report.created", "report.status_changed"]
        assert sub.agencies == ["kab-sleman"] and sub.active
        assert secret not in sub.secret_sealed  # sealed at rest
    for url in ("/ui/webhooks", f"/ui/webhooks/{sub_id}"):
        html = admin.get(url).get_data(as_text=True)
        assert secret not in html and "whsec_" not in html
    # the secret is not carried in the session cookie either
    with admin.session_transaction() as stored:
        assert "whsec_" not in repr(dict(stored))

    resp = _post(admin, f"/ui/webhooks/{sub_id}/test")
    assert resp.status_code == 302
    assert len(receiver.accepted) == 1 and receiver.requests[0]["verified"]
    assert receiver.accepted[0]["payload"]["type"] == "webhook.test"
    log = admin.get(f"/ui/webhooks/{sub_id}").get_data(as_text=True)
    [ping] = _deliveries(app, sub_id)
    assert ping.status == "succeeded" and ping.attempts == 1
    assert ping.message_id == receiver.ids()[0]
    row = re.search(rf'<tr class="delivery[^"]*" data-id="{ping.id}".*?</tr>', log, re.S)
    assert row and "webhook.test" in row.group(0) and ping.message_id in row.group(0)
    assert '<td class="code">200</td>' in row.group(0) and "terkirim" in row.group(0)
    assert re.search(r"\d+ md", row.group(0))  # latency
    assert "Ping uji diterima (HTTP 200" in log
    # the list shows the last delivery's result
    assert "terkirim (200)" in admin.get("/ui/webhooks").get_data(as_text=True)

    # rotation: a new secret, once; the next ping is signed with both
    resp = _post(admin, f"/ui/webhooks/{sub_id}/rotate")
    html = resp.get_data(as_text=True)
    new_secret = _SECRET.search(html).group(0)
    assert resp.status_code == 200 and new_secret != secret and secret not in html
    assert "tidak akan ditampilkan lagi" in html
    assert "whsec_" not in admin.get("/ui/webhooks").get_data(as_text=True)
    receiver.secrets[:] = [new_secret]
    _post(admin, f"/ui/webhooks/{sub_id}/test")
    assert len(receiver.accepted) == 2 and receiver.requests[-1]["verified"]


def test_retry_a_dead_delivery_and_disable_enable_delete(app, make_user, make_caller, fast,
                                                         receiver):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"))
    receiver.respond = lambda n, path: (500, {})
    resp = _post(admin, f"/ui/webhooks/{sub_id}/test")
    assert "Ping uji gagal (HTTP 500)" in admin.get(resp.headers["Location"]).get_data(
        as_text=True)
    [dead] = _deliveries(app, sub_id)
    assert dead.status == "dead" and dead.last_status_code == 500
    log = admin.get(f"/ui/webhooks/{sub_id}").get_data(as_text=True)
    assert "gagal permanen" in log and f'/ui/webhooks/deliveries/{dead.id}/retry' in log

    receiver.respond = None
    resp = _post(admin, f"/ui/webhooks/deliveries/{dead.id}/retry")
    assert resp.status_code == 302
    [again] = _deliveries(app, sub_id)
    assert again.status == "pending"
    assert relay(app, lambda: _deliveries(app, sub_id)[0].status == "succeeded")
    [done] = _deliveries(app, sub_id)
    assert done.attempts == 2 and done.message_id == dead.message_id
    assert receiver.ids() == [dead.message_id]
    log = admin.get(f"/ui/webhooks/{sub_id}").get_data(as_text=True)
    assert "2 percobaan" in log and f"/deliveries/{dead.id}/retry" not in log

    assert _post(admin, f"/ui/webhooks/{sub_id}/disable").status_code == 302
    html = admin.get("/ui/webhooks").get_data(as_text=True)
    assert "nonaktif" in html and "Dinonaktifkan pada" in html and "admin@slemankab" in html
    assert _post(admin, f"/ui/webhooks/{sub_id}/enable").status_code == 302
    with app.app_context():
        assert db.session.get(WebhookSubscription, sub_id).active
    assert _post(admin, f"/ui/webhooks/{sub_id}/delete").status_code == 302
    assert _deliveries(app, sub_id) == []
    assert admin.get(f"/ui/webhooks/{sub_id}").status_code == 404


def test_410_gone_shows_why_it_was_disabled(app, make_user, make_caller, fast, receiver):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user, lang="en")
    sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"))
    receiver.respond = lambda n, path: (410, {})
    _post(admin, f"/ui/webhooks/{sub_id}/test")
    html = admin.get("/ui/webhooks").get_data(as_text=True)
    assert "Disabled automatically: the receiver answered 410 Gone on" in html
    log = admin.get(f"/ui/webhooks/{sub_id}").get_data(as_text=True)
    assert 'id="ping"' not in log and "Enable" in log


def test_replay_a_time_range(app, make_user, make_caller, fast, receiver, sleman):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    report = sleman.create_report()  # before the subscription: not sent by itself
    sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"))
    relay(app)
    assert receiver.accepted == []
    now = datetime.now(ZoneInfo("Asia/Jakarta"))
    fmt = "%Y-%m-%dT%H:%M"
    bad = _post(admin, f"/ui/webhooks/{sub_id}/replay", f"/ui/webhooks/{sub_id}",
                since=now.strftime(fmt), until=(now - timedelta(hours=1)).strftime(fmt))
    assert bad.status_code == 422 and "Harus setelah waktu mulai." in bad.get_data(
        as_text=True)
    resp = _post(admin, f"/ui/webhooks/{sub_id}/replay", f"/ui/webhooks/{sub_id}",
                 since=(now - timedelta(hours=1)).strftime(fmt),
                 until=(now + timedelta(hours=1)).strftime(fmt))
    assert resp.status_code == 302
    assert "1 pengiriman dijadwalkan." in admin.get(resp.headers["Location"]).get_data(
        as_text=True)
    assert relay(app, lambda: len(receiver.accepted) >= 1)
    payload = receiver.payloads()[0]
    assert payload["type"] == "report.created"
    assert payload["data"]["report"]["id"] == report["id"]


def test_another_agency_is_404_everywhere(app, make_user, make_caller, fast, receiver):
    make_caller("kab-sleman", WH)
    make_caller("kab-bantul", WH)
    sleman_admin = _admin(app, make_user)
    sub_id, _ = _subscribe(app, sleman_admin, receiver, _client_id(app, "kab-sleman"))
    _post(sleman_admin, f"/ui/webhooks/{sub_id}/test")
    [ping] = _deliveries(app, sub_id)
    bantul = _admin(app, make_user, "admin@bantulkab.go.id", "kab-bantul")
    html = bantul.get("/ui/webhooks").get_data(as_text=True)
    assert receiver.url not in html and sub_id not in html
    assert _client_id(app, "kab-sleman") not in html  # not offered as a client either
    assert bantul.get(f"/ui/webhooks/{sub_id}").status_code == 404
    for url in (f"/ui/webhooks/{sub_id}/rotate", f"/ui/webhooks/{sub_id}/disable",
                f"/ui/webhooks/{sub_id}/delete", f"/ui/webhooks/{sub_id}/test",
                f"/ui/webhooks/deliveries/{ping.id}/retry"):
        assert _post(bantul, url).status_code == 404, url
    # nor may Bantul subscribe with Sleman's client
    resp = _create(bantul, _client_id(app, "kab-sleman"), receiver.url)
    assert resp.status_code == 422 and "Pilih klien API instansi Anda." in resp.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(WebhookSubscription, sub_id).active
        assert db.session.execute(sa.select(sa.func.count()).select_from(
            WebhookSubscription)).scalar() == 1
    assert len(receiver.requests) == 1
    # the national admin sees both agencies' subscriptions
    nat = _admin(app, make_user, "nasional@lapor.go.id", role="national_admin")
    assert receiver.url in nat.get("/ui/webhooks").get_data(as_text=True)
    assert nat.get(f"/ui/webhooks/{sub_id}").status_code == 200


def test_unsafe_and_invalid_urls_are_friendly_form_errors(app, make_user, make_caller):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    client_id = _client_id(app, "kab-sleman")
    cases = {"http://127.0.0.1:9/hook": "mengarah ke alamat privat atau lokal",
             "ftp://example.org/x": "Hanya URL http dan https",
             "https://user:pw@example.org/x": "tidak boleh memuat nama pengguna",
             # Unknown or internal, the same words: no map of the internal DNS.
             "http://does-not-exist.invalid/x": "mengarah ke alamat privat atau lokal",
             "http://[::1": "URL tidak valid.", "": "Wajib diisi."}
    for url, message in cases.items():
        resp = _create(admin, client_id, url)
        assert resp.status_code == 422, url
        assert message in resp.get_data(as_text=True), url
    resp = _create(admin, client_id, "https://example.org/hook", agencies="kab-bantul")
    assert resp.status_code == 422 and "di luar cakupan klien ini" in resp.get_data(
        as_text=True)
    resp = _create(admin, client_id, "https://example.org/hook", agencies="nope-x")
    assert "Instansi &#39;nope-x&#39; tidak dikenal." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(
            WebhookSubscription)).scalar() == 0


def test_user_strings_are_escaped(app, make_user, make_caller, fast, receiver):
    make_caller("kab-sleman", WH)
    admin = _admin(app, make_user)
    evil = receiver.url + "?x=<script>alert(1)</script>"
    # rejected input echoed back in the form
    resp = _create(admin, _client_id(app, "kab-sleman"), "javascript:<script>alert(2)</script>",
                   description="<script>alert(3)</script>")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<script>alert" not in html
    assert "&lt;script&gt;alert(2)" in html and "&lt;script&gt;alert(3)" in html
    sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"),
                           description="<b>bold</b><script>alert(4)</script>")
    with app.app_context():
        sub = db.session.get(WebhookSubscription, sub_id)
        sub.url = evil
        db.session.commit()
    for url in ("/ui/webhooks", f"/ui/webhooks/{sub_id}"):
        html = admin.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b>bold" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    _post(admin, f"/ui/webhooks/{sub_id}/test")  # the receiver answers; error text escaped
    html = admin.get(f"/ui/webhooks/{sub_id}").get_data(as_text=True)
    assert "<script>alert" not in html


def test_both_languages_render_every_string(app, make_user, make_caller, fast, receiver):
    """TESTING makes a missing catalogue key raise, so a 200 means every string exists."""
    make_caller("kab-sleman", WH)
    for lang, words in (("id", ("Langganan webhook", "Log pengiriman", "Ganti rahasia")),
                        ("en", ("Webhook subscriptions", "Delivery log", "Rotate secret"))):
        admin = _admin(app, make_user, f"admin-{lang}@slemankab.go.id", lang=lang)
        sub_id, _ = _subscribe(app, admin, receiver, _client_id(app, "kab-sleman"))
        receiver.respond = lambda n, path: (500, {})
        _post(admin, f"/ui/webhooks/{sub_id}/test")  # a dead delivery: every column
        receiver.respond = None
        _post(admin, f"/ui/webhooks/{sub_id}/test")  # and a delivered one
        _post(admin, f"/ui/webhooks/{sub_id}/disable")
        pages = [admin.get("/ui/webhooks"), admin.get(f"/ui/webhooks/{sub_id}"),
                 _create(admin, "nope", "ftp://x"),
                 _post(admin, f"/ui/webhooks/{sub_id}/replay", since="x", until="")]
        assert [p.status_code for p in pages] == [200, 200, 422, 422]
        text = " ".join(p.get_data(as_text=True) for p in pages)
        for word in words:
            assert word in text, (lang, word)
        assert f'<html lang="{lang}">' in text
