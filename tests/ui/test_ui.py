"""The officers' web UI through the Flask test client: sign-in, lockout, CSRF, tenant
isolation, escaping, both languages, and the mapping flow (queue -> accept -> replay)."""
import copy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from werkzeug.security import check_password_hash

from hub.extensions import db
from hub.models import Connector, HeldRecord, LoginThrottle, Mapping, Report, User, utcnow
from tests.ui.conftest import PASSWORD, confirm_form, login, page_csrf

SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"


def _import_sleman(app, base_url="http://127.0.0.1:9", api_key="x"):
    from hub.sync import files
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    doc["connector"]["config"]["base_url"] = base_url
    doc["connector"]["config"]["timeout_seconds"] = 3
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={"api_key": api_key})
        db.session.commit()
        return conn.id


def _hold(app, connector_id, external_id, field, value, title):
    """A held record as the sync engine writes it (unmapped value)."""
    with app.app_context():
        db.session.add(HeldRecord(
            connector_id=connector_id, stream="reports", external_id=external_id,
            reason="unmapped", missing=[{"field": field, "value": value}], attempts=1,
            record={"stream": "reports", "external_id": external_id,
                    "fields": {"title": title}}))
        db.session.commit()


# -- sign-in -------------------------------------------------------------------------------

def test_root_redirects_to_ui_and_ui_needs_sign_in(client):
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"].endswith("/ui/")
    resp = client.get("/ui/connectors")
    assert resp.status_code == 302 and "/ui/login" in resp.headers["Location"]


def test_login_ok_sets_hardened_session_cookie(app, client, make_user):
    make_user("a@slemankab.go.id")
    resp = login(client, "a@slemankab.go.id")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/ui/")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = client.get("/ui/connectors")
    assert page.status_code == 200 and "Konektor" in page.get_data(as_text=True)
    assert "text/html" in page.headers["Content-Type"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_login_bad_password_and_unknown_user(client, make_user):
    make_user("a@slemankab.go.id")
    for email, pw in (("a@slemankab.go.id", "wrong"), ("nobody@x.id", PASSWORD)):
        resp = login(client, email, pw)
        assert resp.status_code == 401
        assert "Email atau kata sandi salah." in resp.get_data(as_text=True)
    assert client.get("/ui/connectors").status_code == 302


def test_lockout_after_repeated_failures(app, client, make_user):
    uid = make_user("a@slemankab.go.id")  # noqa: F841
    for _ in range(5):
        login(client, "a@slemankab.go.id", "wrong")
    # Locked: even the right password is refused, with the lockout message.
    resp = login(client, "a@slemankab.go.id")
    assert resp.status_code == 401 and "dikunci" in resp.get_data(as_text=True)
    with app.app_context():
        throttle = db.session.execute(sa.select(LoginThrottle)).scalar_one()
        assert throttle.email == "a@slemankab.go.id" and throttle.locked_until is not None
        throttle.locked_until = utcnow()  # the lock expires
        db.session.commit()
    assert login(client, "a@slemankab.go.id").status_code == 302


def test_logout(officer):
    token = page_csrf(officer)
    assert officer.post("/ui/logout", data={"csrf_token": token}).status_code == 302
    assert officer.get("/ui/connectors").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    make_user("a@slemankab.go.id")
    page = client.get("/ui/login")
    from tests.ui.conftest import csrf_from
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post("/ui/login", data={"email": "a@slemankab.go.id", "password": PASSWORD,
                                          "csrf_token": token, "next": "https://evil.example/"})
    assert resp.headers["Location"].endswith("/ui/")


def test_create_user_cli(app, runner):
    result = runner.invoke(args=["hub", "create-user", "--email", "Officer@SlemanKab.go.id",
                                 "--name", "Budi", "--agency", "kab-sleman", "--role",
                                 "officer"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password=")[1].strip()
    with app.app_context():
        user = db.session.execute(sa.select(User)).scalar_one()
        assert user.email == "officer@slemankab.go.id" and user.agency_code == "kab-sleman"
        assert user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, password)
    again = runner.invoke(args=["hub", "create-user", "--email", "officer@slemankab.go.id",
                                "--name", "B", "--agency", "kab-sleman"])
    assert again.exit_code != 0
    bad = runner.invoke(args=["hub", "create-user", "--email", "x@y.id", "--name", "X",
                              "--agency", "nowhere", "--password", "p"])
    assert bad.exit_code != 0
    nat = runner.invoke(args=["hub", "create-user", "--email", "n@y.id", "--name", "N",
                              "--role", "national_admin", "--password", "pw-given"])
    assert nat.exit_code == 0 and "password=" not in nat.output


# -- CSRF ----------------------------------------------------------------------------------

def test_csrf_refused_without_or_with_wrong_token(app, officer, make_user):
    cid = _import_sleman(app)
    for data in ({}, {"csrf_token": "forged"}):
        resp = officer.post(f"/ui/connectors/{cid}/pause", data=data)
        assert resp.status_code == 400
        assert "Formulir kedaluwarsa" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Connector, cid).paused is False
    # A login form without the session's token is refused too.
    fresh = app.test_client()
    make_user("b@slemankab.go.id")
    resp = fresh.post("/ui/login", data={"email": "b@slemankab.go.id", "password": PASSWORD})
    assert resp.status_code == 400


def test_pause_and_resume_with_token(app, officer):
    cid = _import_sleman(app)
    token = page_csrf(officer)
    assert officer.post(f"/ui/connectors/{cid}/pause", data={"csrf_token": token}
                        ).status_code == 302
    with app.app_context():
        assert db.session.get(Connector, cid).paused is True
    page = officer.get(f"/ui/connectors/{cid}").get_data(as_text=True)
    assert "Dijeda" in page
    officer.post(f"/ui/connectors/{cid}/resume", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Connector, cid).paused is False


# -- tenant isolation ----------------------------------------------------------------------

def test_other_agency_gets_404_by_direct_url(app, bantul_officer, sleman):
    cid = _import_sleman(app)
    _hold(app, cid, "9", "category", "IZIN", "Izin usaha")
    report = sleman.create_report(title="Laporan Sleman")
    listing = bantul_officer.get("/ui/connectors").get_data(as_text=True)
    assert "LAPOR Sleman" not in listing
    for url in (f"/ui/connectors/{cid}", f"/ui/connectors/{cid}/mappings",
                f"/ui/connectors/{cid}/mappings.yaml", f"/ui/reports/{report['id']}",
                f"/ui/reports/{report['tracking_id']}"):
        resp = bantul_officer.get(url)
        assert resp.status_code == 404, url
        assert "Halaman tidak ditemukan" in resp.get_data(as_text=True)
    token = page_csrf(bantul_officer)
    for action in ("pause", "sync", "mappings/accept"):
        assert bantul_officer.post(f"/ui/connectors/{cid}/{action}",
                                   data={"csrf_token": token, "accept": "0", "field-0":
                                         "category", "value-0": "IZIN", "target-0":
                                         "pelayanan-publik.perizinan"}).status_code == 404
    assert "Laporan Sleman" not in bantul_officer.get("/ui/reports").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Connector, cid).paused is False
        assert db.session.execute(sa.select(sa.func.count()).select_from(HeldRecord)
                                  ).scalar() == 1


def test_national_admin_sees_every_agency(app, make_user, sleman, bantul):
    sleman.create_report(title="Laporan Sleman")
    bantul.create_report(title="Laporan Bantul")
    make_user("admin@lapor.go.id", role="national_admin")
    client = app.test_client()
    assert login(client, "admin@lapor.go.id").status_code == 302
    page = client.get("/ui/reports").get_data(as_text=True)
    assert "Laporan Sleman" in page and "Laporan Bantul" in page


# -- escaping ------------------------------------------------------------------------------

XSS = '<script>alert("x")</script><b onmouseover=alert(1)>tebal</b>'


def test_script_in_complaint_renders_as_text(app, officer, sleman):
    report = sleman.create_report(title=XSS[:190], body=f"Isi {XSS}")
    for url in ("/ui/reports", f"/ui/reports/{report['tracking_id']}",
                "/ui/reports?q=%3Cscript%3E"):
        html = officer.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<b onmouseover" not in html, url
        assert "&lt;script&gt;alert(" in html, url


def test_script_in_held_sample_and_value_is_escaped(app, officer):
    cid = _import_sleman(app)
    _hold(app, cid, "7", "category", "<img src=x onerror=alert(1)>", XSS)
    html = officer.get(f"/ui/connectors/{cid}/mappings").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html


# -- languages -----------------------------------------------------------------------------

@pytest.mark.parametrize("lang,words,not_words", [
    # (Sign-out is matched as the button: a unit's name may hold "Keluar"ga Berencana.)
    ("id", ["Konektor", "Laporan", ">Keluar</button>", "Antrean nilai belum dipetakan",
            "Perlu tindakan"],
     ["Sign out", "Unmapped values queue", "Needs action"]),
    ("en", ["Connectors", "Reports", ">Sign out</button>", "Unmapped values queue",
            "Needs action"],
     [">Keluar</button>", "Antrean nilai belum dipetakan", "Perlu tindakan"]),
])
def test_pages_in_both_languages(app, make_user, sleman, lang, words, not_words):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha")
    report = sleman.create_report(title="Jalan rusak")
    make_user("a@slemankab.go.id")
    client = app.test_client()
    assert login(client, "a@slemankab.go.id", lang=lang).status_code == 302
    seen = ""
    # Every main page renders (t() raises on a missing key under TESTING).
    for url in ("/ui/", "/ui/connectors", f"/ui/connectors/{cid}",
                f"/ui/connectors/{cid}/mappings", "/ui/reports",
                f"/ui/reports/{report['tracking_id']}", "/ui/nowhere"):
        resp = client.get(url)
        assert resp.status_code in (200, 404), url
        seen += resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in seen
    assert ("Page not found." if lang == "en" else "Halaman tidak ditemukan.") in seen
    for word in words:
        assert word in seen, word
    for word in not_words:
        assert word not in seen, word


def test_language_switch_is_kept_in_session(client):
    token = page_csrf(client, "/ui/login")
    assert "Masuk" in client.get("/ui/login").get_data(as_text=True)
    client.post("/ui/lang", data={"lang": "en", "csrf_token": token, "next": "/ui/login"})
    assert "Sign in" in client.get("/ui/login").get_data(as_text=True)
    client.post("/ui/lang", data={"lang": "xx", "csrf_token": token})
    assert "Sign in" in client.get("/ui/login").get_data(as_text=True)


# -- mappings ------------------------------------------------------------------------------

def test_queue_groups_held_values_with_ranked_suggestions(app, officer):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha lama")
    _hold(app, cid, "2", "category", "IZIN", "Izin bangunan")
    _hold(app, cid, "3", "unit", "INSPEKTORAT", "Temuan inspektorat")
    from hub.ui.views import unmapped_queue
    with app.app_context():
        queue = unmapped_queue(cid)
    assert [(q["field"], q["value"], q["count"]) for q in queue] == [
        ("category", "IZIN", 2), ("unit", "INSPEKTORAT", 1)]
    assert queue[0]["sample"] == "Izin usaha lama"
    html = officer.get(f"/ui/connectors/{cid}/mappings").get_data(as_text=True)
    # The best suggestion is preselected.
    assert '<option value="pelayanan-publik.perizinan" selected>' in html
    assert '<option value="kab-sleman.inspektorat" selected>' in html
    # Units offered are the officer's agency only.
    assert "kab-bantul" not in html


def test_accept_several_merges_tables_and_replays(app, officer, monkeypatch):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha lama")
    _hold(app, cid, "3", "unit", "INSPEKTORAT", "Temuan inspektorat")
    calls = []

    def fake_replay(conn, counts, *a, **kw):
        calls.append(conn.id)
        counts["replayed"] = 2
        return 2
    monkeypatch.setattr("hub.sync.runner.replay_held", fake_replay)
    token = page_csrf(officer)
    chosen = {
        "csrf_token": token, "accept": ["0", "1"],
        "field-0": "category", "value-0": "IZIN", "target-0": "pelayanan-publik.perizinan",
        "field-1": "unit", "value-1": "INSPEKTORAT", "target-1": "kab-sleman.inspektorat"}
    confirm = officer.post(f"/ui/connectors/{cid}/mappings/accept", data=chosen)
    assert confirm.status_code == 200 and calls == []  # asked first, nothing replayed
    with app.app_context():
        assert db.session.get(Mapping, (cid, "category", "IZIN")) is None
    resp = officer.post(f"/ui/connectors/{cid}/mappings/accept",
                        data=confirm_form(confirm.get_data(as_text=True)),
                        follow_redirects=True)
    assert resp.status_code == 200
    assert "2 pemetaan disimpan; 2 catatan tertahan masuk ke hub." in resp.get_data(as_text=True)
    assert calls == [cid]
    with app.app_context():
        rows = {(m.field, m.local_value): m.hub_value for m in
                db.session.execute(sa.select(Mapping).where(Mapping.connector_id == cid))
                .scalars()}
    assert rows[("category", "IZIN")] == "pelayanan-publik.perizinan"
    assert rows[("category", "PJU")] == "infrastruktur.pju"  # merged, not replaced
    assert rows[("unit", "INSPEKTORAT")] == "kab-sleman.inspektorat"
    assert rows[("unit", "DLH")] == "kab-sleman.dlh"


def test_accept_refuses_unknown_or_foreign_targets(app, officer):
    cid = _import_sleman(app)
    token = page_csrf(officer)
    for field, target in (("category", "no.such"), ("unit", "kab-bantul")):
        resp = officer.post(f"/ui/connectors/{cid}/mappings/accept", data={
            "csrf_token": token, "accept": "0", "field-0": field, "value-0": "X",
            "target-0": target}, follow_redirects=True)
        assert "tidak ada yang disimpan" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(Mapping).where(
            Mapping.local_value == "X")).first() is None


def test_export_and_import_yaml(app, officer):
    cid = _import_sleman(app)
    resp = officer.get(f"/ui/connectors/{cid}/mappings.yaml")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    doc = yaml.safe_load(resp.get_data(as_text=True))
    assert doc["connector"]["id"] == cid and doc["mappings"]["category"]["PJU"]
    assert "secrets" not in doc["connector"]
    doc["mappings"]["category"]["IZIN"] = "pelayanan-publik.perizinan"
    del doc["mappings"]["category"]["PARKIR"]  # a file replaces whole tables
    import io
    token = page_csrf(officer)
    resp = officer.post(f"/ui/connectors/{cid}/mappings/import", data={
        "csrf_token": token, "file": (io.BytesIO(yaml.safe_dump(doc).encode()), "m.yaml")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "Pemetaan diimpor" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Mapping, (cid, "category", "IZIN")).hub_value == \
            "pelayanan-publik.perizinan"
        assert db.session.get(Mapping, (cid, "category", "PARKIR")) is None
        assert db.session.get(Mapping, (cid, "unit", "DLH")) is not None
    # A file for another agency is refused.
    doc["connector"]["agency"] = "kab-bantul"
    resp = officer.post(f"/ui/connectors/{cid}/mappings/import", data={
        "csrf_token": token, "file": (io.BytesIO(yaml.safe_dump(doc).encode()), "m.yaml")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "konektor atau instansi lain" in resp.get_data(as_text=True)


def test_reports_filter_and_detail(app, officer, sleman):
    a = sleman.create_report(title="Lampu jalan mati", channel="sms")
    sleman.create_report(title="Sampah menumpuk", channel="web")
    page = officer.get("/ui/reports?channel=sms").get_data(as_text=True)
    assert "Lampu jalan mati" in page and "Sampah menumpuk" not in page
    page = officer.get("/ui/reports?q=sampah").get_data(as_text=True)
    assert "Sampah menumpuk" in page and "Lampu jalan mati" not in page
    page = officer.get("/ui/reports?status=resolved").get_data(as_text=True)
    assert "Tidak ada laporan." in page
    detail = officer.get(f"/ui/reports/{a['tracking_id']}").get_data(as_text=True)
    assert "Linimasa" in detail and "Tenggat (SLA)" in detail and "Lampu jalan mati" in detail
    assert "Laporan dibuat" in detail and "report.created" not in detail
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(Report)).scalar() == 2
