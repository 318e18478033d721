"""The dashboard, connector forms and roles through the Flask test client: the same
numbers as GET /api/v1/stats, tenant isolation (404), officers cannot edit connectors,
per-field errors, write-only secrets, test connection, both languages, escaping."""
import html as htmllib
import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Connector, Report, User
from hub.services.secrets import unseal
from hub.ui import i18n
from simulators.sleman.testing import run_simulator
from tests.api.test_stats import load
from tests.ui.conftest import login, page_csrf
from tests.ui.test_ui import XSS, _hold, _import_sleman


def kpi(html: str, key: str) -> str:
    match = re.search(rf'data-stat="{key}".*?class="kpi-value[^"]*">([^<]*)<', html, re.S)
    assert match, key
    return match.group(1).strip()


@pytest.fixture
def agency_admin(app, make_user):
    make_user("admin@slemankab.go.id", "kab-sleman", role="agency_admin")
    client = app.test_client()
    assert login(client, "admin@slemankab.go.id").status_code == 302
    return client


# -- dashboard -------------------------------------------------------------------------

def test_dashboard_shows_the_api_numbers_as_charts_and_tables(app, officer, sleman):
    load(app)
    page = officer.get("/ui/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    api = sleman.get("/stats").get_json()["totals"]
    for key in ("received", "dispositioned", "responded", "resolved", "overdue"):
        assert kpi(html, key) == str(api[key]), key
    assert kpi(html, "in_time") == "50%"
    assert kpi(html, "median") == "217 jam"
    # Charts are inline SVG with a title, and the same numbers are in tables.
    for chart in ("chart-units", "chart-channels", "chart-time"):
        assert re.search(f'<svg class="chart [a-z]+" id="{chart}" role="img"', html), chart
        assert f'<title id="{chart}-title">' in html
    units = html.split('id="stats-units"')[1].split("</table>")[0]
    assert 'data-agency="kab-sleman.dpupkp"' in units and "kab-bantul" not in units
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing external
    # Filters: a unit, a channel, a date window (inclusive end day, WIB).
    unit = officer.get("/ui/dashboard?agency=kab-sleman.dpupkp").get_data(as_text=True)
    assert kpi(unit, "received") == "2"
    window = officer.get("/ui/dashboard?since=2026-08-10&until=2026-08-19&period=week"
                         ).get_data(as_text=True)
    assert kpi(window, "received") == "2"
    assert ">2026-08-10</th>" in window
    bad = officer.get("/ui/dashboard?since=kemarin&channel=merpati").get_data(as_text=True)
    assert "Tanggal tidak valid." in bad and "Kanal tidak dikenal." in bad
    assert kpi(bad, "received") == "6"  # the bad filters are ignored, and said so


def test_dashboard_changes_when_a_report_arrives(app, officer, sleman):
    assert kpi(officer.get("/ui/dashboard").get_data(as_text=True), "received") == "0"
    sleman.create_report(channel="whatsapp")
    html = officer.get("/ui/dashboard").get_data(as_text=True)
    assert kpi(html, "received") == "1"
    assert "WhatsApp" in html.split('id="stats-channels"')[1]


def test_dashboard_tenant_isolation(app, bantul_officer, make_user):
    load(app)
    html = bantul_officer.get("/ui/dashboard").get_data(as_text=True)
    assert kpi(html, "received") == "1"
    assert "kab-sleman" not in html.split('id="stats-units"')[1]
    for url in ("/ui/dashboard?agency=kab-sleman", "/ui/dashboard?agency=kab-sleman.dpupkp"):
        resp = bantul_officer.get(url)
        assert resp.status_code == 404 and "Halaman tidak ditemukan" in \
            resp.get_data(as_text=True)
    make_user("nas@lapor.go.id", role="national_admin")
    national = app.test_client()
    login(national, "nas@lapor.go.id")
    assert kpi(national.get("/ui/dashboard").get_data(as_text=True), "received") == "7"


def test_dashboard_escapes_report_titles(app, officer, sleman):
    report = sleman.create_report(title=XSS[:190])
    with app.app_context():
        row = db.session.get(Report, report["id"])
        row.due_at = row.submitted_at  # overdue now, so it is listed on the dashboard
        db.session.commit()
    html = officer.get("/ui/dashboard").get_data(as_text=True)
    assert "<script>alert" not in html and "<b onmouseover" not in html
    overdue = html.split('id="overdue"')[1]
    assert "&lt;script&gt;alert(" in overdue
    # The unit by its name, not its code.
    assert "<td>Pemerintah Kabupaten Sleman</td>" in overdue
    assert "<td>kab-sleman</td>" not in overdue


# -- connector forms and roles ----------------------------------------------------------

REST_FORM = {
    "kind": "rest", "id": "aduan-bantul", "system": "", "agency": "kab-sleman",
    "name": "Aduan <b>Bantul</b>", "interval_seconds": "120", "lookback_seconds": "300",
    "config.base_url": "http://127.0.0.1:9", "config.timezone": "Asia/Jakarta",
    "config.timeout_seconds": "3", "config.auth.type": "api_key_header",
    "config.auth.header": "X-API-Key",
    "config.streams": '{"reports": {"list": {"path": "/api/aduan", "records_path": "data"},'
                      ' "fields": {"external_id": "id"}}}',
    "secret.api_key": "kunci-rahasia-123",
}


def test_officer_cannot_create_or_edit_connectors(app, officer):
    cid = _import_sleman(app)
    assert officer.get("/ui/connectors/new").status_code == 403
    assert officer.get(f"/ui/connectors/{cid}/edit").status_code == 403
    token = page_csrf(officer)
    assert officer.post("/ui/connectors/new", data={**REST_FORM, "csrf_token": token}
                        ).status_code == 403
    page = officer.get(f"/ui/connectors/{cid}").get_data(as_text=True)
    assert 'id="edit-connector"' not in page and 'id="check-connection"' in page
    with app.app_context():
        assert db.session.get(Connector, "aduan-bantul") is None


def test_form_is_generated_from_the_kind_schema(app, agency_admin):
    html = agency_admin.get("/ui/connectors/new").get_data(as_text=True)
    for kind in ("rest", "open311", "spreadsheet", "sql", "lapor"):
        assert f'value="{kind}"' in html
    rest = agency_admin.get("/ui/connectors/new?kind=rest").get_data(as_text=True)
    assert 'name="config.base_url" type="url"' in rest
    assert '<select id="f-config-auth-type" name="config.auth.type"' in rest
    assert '<textarea id="f-config-streams" name="config.streams"' in rest
    assert 'name="secret.api_key" type="password"' in rest
    lapor = agency_admin.get("/ui/connectors/new?kind=lapor").get_data(as_text=True)
    assert 'name="config.institution_id" type="number"' in lapor
    assert 'type="checkbox" id="f-config-push_internal_responses"' in lapor


def test_create_with_per_field_errors_then_valid(app, agency_admin):
    token = page_csrf(agency_admin)
    bad = {**REST_FORM, "csrf_token": token, "config.base_url": "ftp:/nope",
           "config.timeout_seconds": "lama", "config.streams": "{not json",
           "interval_seconds": "1", "id": "Bad Id!"}
    resp = agency_admin.post("/ui/connectors/new", data=bad)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="err-config-base_url"' in html and "Harus alamat http://" in html
    assert 'id="err-config-timeout_seconds"' in html and "Harus angka." in html
    assert 'id="err-config-streams"' in html and "JSON tidak valid" in html
    assert 'id="err-interval_seconds"' in html and 'id="err-id"' in html
    assert "kunci-rahasia-123" not in html  # a secret is never rendered back
    # Schema errors (jsonschema): a required property missing.
    missing = {**REST_FORM, "csrf_token": token, "config.streams": ""}
    html = agency_admin.post("/ui/connectors/new", data=missing).get_data(as_text=True)
    assert 'id="err-config-streams"' in html and "Wajib diisi." in html
    with app.app_context():
        assert db.session.get(Connector, "aduan-bantul") is None  # nothing half-saved

    resp = agency_admin.post("/ui/connectors/new", data={**REST_FORM, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith("/ui/connectors/aduan-bantul")
    with app.app_context():
        conn = db.session.get(Connector, "aduan-bantul")
        assert conn.kind == "rest" and conn.system == "aduan-bantul"
        assert conn.agency_code == "kab-sleman" and conn.interval_seconds == 120
        assert conn.config["auth"] == {"type": "api_key_header", "header": "X-API-Key"}
        assert conn.config["streams"]["reports"]["list"]["path"] == "/api/aduan"
        assert conn.config["timeout_seconds"] == 3.0
        assert conn.paused  # a new connector waits for its connection test
        assert unseal(conn.secrets) == {"api_key": "kunci-rahasia-123"}
    page = agency_admin.get("/ui/connectors/aduan-bantul").get_data(as_text=True)
    assert "Aduan &lt;b&gt;Bantul&lt;/b&gt;" in page and "<b>Bantul" not in page


def test_edit_keeps_blank_secrets_and_unknown_config_keys(app, agency_admin):
    cid = _import_sleman(app, api_key="kunci-lama")
    html = agency_admin.get(f"/ui/connectors/{cid}/edit").get_data(as_text=True)
    assert "kunci-lama" not in html and "tersimpan" in html
    assert 'value="http://127.0.0.1:9"' in html
    token = page_csrf(agency_admin, f"/ui/connectors/{cid}/edit")
    with app.app_context():
        before = db.session.get(Connector, cid).config
    form = {"csrf_token": token, "name": "LAPOR Sleman (baru)", "interval_seconds": "45",
            "lookback_seconds": "300", "config.base_url": "http://127.0.0.1:5081",
            "config.timezone": "Asia/Jakarta", "config.timeout_seconds": "20",
            "config.auth.type": "api_key_header", "config.auth.header": "X-API-Key",
            "config.streams": htmllib.unescape(re.search(
                r'name="config.streams"[^>]*>([^<]*)</textarea>', html).group(1)),
            "config.write": htmllib.unescape(re.search(
                r'name="config.write"[^>]*>([^<]*)</textarea>', html).group(1)),
            "secret.api_key": ""}
    resp = agency_admin.post(f"/ui/connectors/{cid}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with app.app_context():
        conn = db.session.get(Connector, cid)
        assert conn.name == "LAPOR Sleman (baru)" and conn.interval_seconds == 45
        assert conn.config["base_url"] == "http://127.0.0.1:5081"
        assert conn.config["streams"] == before["streams"]
        assert conn.config["write"] == before["write"]
        assert unseal(conn.secrets) == {"api_key": "kunci-lama"}  # blank: unchanged


def test_other_agency_admin_gets_404_on_edit_and_check(app, make_user):
    cid = _import_sleman(app)
    make_user("admin@bantulkab.go.id", "kab-bantul", role="agency_admin")
    client = app.test_client()
    login(client, "admin@bantulkab.go.id")
    assert client.get(f"/ui/connectors/{cid}/edit").status_code == 404
    token = page_csrf(client)
    assert client.post(f"/ui/connectors/{cid}/edit", data={"csrf_token": token,
                                                           "name": "x"}).status_code == 404
    assert client.post(f"/ui/connectors/{cid}/check",
                       data={"csrf_token": token}).status_code == 404
    # Nor can it create a connector for Sleman.
    resp = client.post("/ui/connectors/new", data={**REST_FORM, "csrf_token": token})
    assert resp.status_code == 422 and 'id="err-agency"' in resp.get_data(as_text=True)


def test_check_connection_against_the_simulator_and_a_dead_port(app, officer):
    with run_simulator() as sim:
        cid = _import_sleman(app, base_url=sim.url, api_key=sim.api_key)
        token = page_csrf(officer)
        resp = officer.post(f"/ui/connectors/{cid}/check", data={"csrf_token": token},
                            follow_redirects=True)
        assert "Koneksi berhasil" in resp.get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.delete(Connector))
        db.session.commit()
    cid = _import_sleman(app, base_url="http://127.0.0.1:9")
    resp = officer.post(f"/ui/connectors/{cid}/check", data={"csrf_token": token},
                        follow_redirects=True)
    assert "Koneksi gagal" in resp.get_data(as_text=True)


# -- both languages on every main page ---------------------------------------------------

def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|textarea)[^>]*>.*?</\1>", " ", html, flags=re.S)  # data, not UI
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", html))


def _foreign_phrases(lang: str) -> set[str]:
    """Catalogue strings of the other language that this one does not share (long enough
    not to be a name, without placeholders)."""
    other = "en" if lang == "id" else "id"
    mine = " ".join(_texts(lang))
    return {v for v in _texts(other) if len(v) >= 10 and "{" not in v and v not in mine}


def _texts(lang: str) -> list[str]:
    """Every form of every message of the language's catalogue."""
    return [form for m in i18n.catalogue(lang) if m.id
            for form in (m.string if m.pluralizable else (m.string,))]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_main_page_in_both_languages(app, make_user, sleman, lang):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha")
    report = sleman.create_report(title="Jalan rusak")
    load(app)
    make_user("admin@slemankab.go.id", role="agency_admin")
    client = app.test_client()
    assert login(client, "admin@slemankab.go.id", lang=lang).status_code == 302
    foreign = _foreign_phrases(lang)
    for url in ("/ui/dashboard", "/ui/dashboard?period=week", "/ui/connectors",
                f"/ui/connectors/{cid}", f"/ui/connectors/{cid}/mappings",
                f"/ui/connectors/{cid}/edit", "/ui/connectors/new",
                "/ui/connectors/new?kind=rest", "/ui/connectors/new?kind=lapor",
                "/ui/reports", f"/ui/reports/{report['tracking_id']}", "/ui/users"):
        resp = client.get(url)  # a missing key raises under TESTING
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        text = _visible_text(html)
        leftovers = [p for p in foreign if p in text]
        assert not leftovers, (url, leftovers)
    words = {"id": ["Dasbor", "Diterima", "Ditindaklanjuti tepat waktu", "Uji koneksi"],
             "en": ["Dashboard", "Received", "Responded in time", "Test connection"]}[lang]
    seen = client.get("/ui/dashboard").get_data(as_text=True) + \
        client.get(f"/ui/connectors/{cid}").get_data(as_text=True)
    for word in words:
        assert word in seen, word


# -- agency admins manage their officers ----------------------------------------------------

def test_agency_admin_manages_its_officers_only(app, agency_admin, officer, make_user):
    assert officer.get("/ui/users").status_code == 403
    token = page_csrf(agency_admin, "/ui/users")
    new = {"csrf_token": token, "email": "Baru@SlemanKab.go.id", "name": "Petugas <i>Baru</i>",
           "agency": "kab-sleman.dpupkp", "role": "officer", "password": "cukup-panjang-sekali"}
    # Another agency, a role above its own, a short password: per-field errors.
    bad = {**new, "agency": "kab-bantul", "role": "national_admin", "password": "pendek"}
    html = agency_admin.post("/ui/users", data=bad).get_data(as_text=True)
    assert 'id="err-agency"' in html and 'id="err-role"' in html and 'id="err-password"' in html
    assert agency_admin.post("/ui/users", data=new).status_code == 302
    page = agency_admin.get("/ui/users").get_data(as_text=True)
    assert "baru@slemankab.go.id" in page and "Petugas &lt;i&gt;Baru&lt;/i&gt;" in page
    client = app.test_client()
    assert login(client, "baru@slemankab.go.id", "cukup-panjang-sekali").status_code == 302
    assert client.get("/ui/users").status_code == 403  # an officer, not an admin
    with app.app_context():
        uid = db.session.execute(sa.select(User.id).where(
            User.email == "baru@slemankab.go.id")).scalar_one()
        me = db.session.execute(sa.select(User.id).where(
            User.email == "admin@slemankab.go.id")).scalar_one()
    assert agency_admin.post(f"/ui/users/{uid}/deactivate",
                             data={"csrf_token": token}).status_code == 302
    assert client.get("/ui/dashboard").status_code == 302  # signed out: inactive
    assert agency_admin.post(f"/ui/users/{me}/deactivate",
                             data={"csrf_token": token}).status_code == 403
    # Bantul's admin neither sees nor touches Sleman's accounts.
    make_user("admin@bantulkab.go.id", "kab-bantul", role="agency_admin")
    bantul = app.test_client()
    login(bantul, "admin@bantulkab.go.id")
    assert "slemankab" not in bantul.get("/ui/users").get_data(as_text=True)
    assert bantul.post(f"/ui/users/{uid}/activate", data={
        "csrf_token": page_csrf(bantul, "/ui/users")}).status_code == 404
    with app.app_context():
        assert db.session.get(User, uid).active is False


def test_held_samples_and_failed_records_escaped_on_the_connector_page(app, officer):
    cid = _import_sleman(app)
    _hold(app, cid, "7", "category", "<img src=x onerror=alert(1)>", XSS)
    html = officer.get(f"/ui/connectors/{cid}").get_data(as_text=True)
    held = html.split('id="held"')[1]
    assert "<img src=x" not in held and "&lt;img src=x onerror=alert(1)&gt;" in held
