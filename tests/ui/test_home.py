"""The officer's "Perlu tindakan" home and the report list's search, through the Flask
test client: each home section shows when its condition holds and not otherwise, in the
caller's tenant scope only; the navigation's badges; finding a report by tracking number
and local ticket number; the filters; another agency's things never listed and 404."""
import re
from datetime import timedelta

import pytest

from hub.extensions import db
from hub.models import Connector, Report, utcnow
from hub.services.sla import JAKARTA
from tests.helpers import report_payload
from tests.ui.conftest import login
from tests.ui.test_ui import _hold, _import_sleman


def _html(client, url="/ui/"):
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def _section(html, section_id):
    """The HTML of one <section id=...> of a page, or None when it is not there."""
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    return match.group(0) if match else None


def _connector(app, connector_id, agency, **state):
    with app.app_context():
        db.session.add(Connector(id=connector_id, agency_code=agency, kind="rest",
                                 name=f"Aplikasi {connector_id}", system=connector_id,
                                 config={}, **state))
        db.session.commit()


def _due(app, report_id, when, status=None):
    with app.app_context():
        report = db.session.get(Report, report_id)
        report.due_at = when
        if status:
            report.status = status
        db.session.commit()


def from_source(caller, system, ticket, **fields):
    resp = caller.put(f"/sources/{system}/reports/{ticket}", json=report_payload(**fields))
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


# -- the landing page -------------------------------------------------------------------------

def test_signing_in_lands_on_needs_action_with_nothing_to_do(app, client, make_user):
    make_user("a@slemankab.go.id")
    resp = login(client, "a@slemankab.go.id")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/ui/")
    html = _html(client)
    assert "<h1 id=\"home-title\">Perlu tindakan</h1>" in html
    assert 'id="all-clear"' in html
    for section in ("connector-problems", "held-records", "deadlines"):
        assert _section(html, section) is None, section
    assert "nav-count" not in html  # no badges when nothing waits
    # The pages that were there before are still a click away.
    for url in ("/ui/dashboard", "/ui/connectors", "/ui/reports", "/ui/webhooks"):
        assert f'href="{url}"' in html, url
        assert client.get(url).status_code == 200, url


def test_home_in_english(app, client, make_user):
    _connector(app, "simpel", "kab-sleman", paused=True, failure_streak=3,
               last_error="GET /api/aduan: simpel refused the credentials (HTTP 401); "
                          "check the connector's secrets")
    make_user("a@slemankab.go.id")
    login(client, "a@slemankab.go.id", lang="en")
    html = _html(client)
    assert '<html lang="en">' in html and "Needs action" in html
    problems = _section(html, "connector-problems")
    assert "The hub stopped syncing after 3 failed runs in a row" in problems
    assert "Cause: the local system refused the key or password" in problems
    assert "Technical details" in problems and "Perlu tindakan" not in html


# -- (a) connectors that stopped or fail -------------------------------------------------------

@pytest.mark.parametrize("state,error,badge,sentence,todo", [
    (dict(paused=True, failure_streak=5),
     "paused after 5 failed run(s) in a row; last error: GET /api/aduan: cannot reach "
     "simpel (ConnectionError)",
     "Dihentikan otomatis", "setelah 5 kali gagal berturut-turut",
     "pastikan server aplikasi lokal menyala"),
    (dict(paused=True, failure_streak=1),
     "GET /api/aduan: simpel refused the credentials (HTTP 403); check the connector's "
     "secrets", "Dihentikan otomatis", "menolak kunci akses atau kata sandi",
     "minta kunci akses (API key)"),
    (dict(failure_streak=2), "GET /api/aduan: simpel did not answer within 3 s",
     "Gagal", "gagal 2 kali berturut-turut", "hub mencoba lagi sendiri"),
    (dict(), "not everything was read: reports: page 51 and after (max_pages 50)",
     "Tidak lengkap", "tidak dapat membaca semua data", "sesuaikan pengaturan konektor"),
    (dict(paused=True, paused_reason="paused by user:1 (petugas@slemankab.go.id)"), None,
     "Dijeda", "dijeda oleh petugas", "lanjutkan konektor di halamannya"),
])
def test_a_stopped_or_failing_connector_is_explained(app, officer, state, error, badge,
                                                      sentence, todo):
    _connector(app, "simpel", "kab-sleman", last_error=error, **state)
    html = _html(officer)
    problems = _section(html, "connector-problems")
    assert problems is not None and 'id="all-clear"' not in html
    assert f">{badge}</span>" in problems
    assert sentence in problems and todo.lower() in problems.lower()
    # The raw words stay behind the technical disclosure.
    details = re.search(r"<details.*?</details>", problems, re.S).group(0)
    assert "Rincian teknis" in details
    if error:
        assert error.replace("'", "&#39;") in details
        assert error.replace("'", "&#39;") not in problems.replace(details, "")
    assert 'href="/ui/connectors/simpel"' in problems
    assert _html(officer, "/ui/connectors/simpel")


def test_a_healthy_connector_is_not_on_the_home(app, officer):
    _connector(app, "simpel", "kab-sleman", last_success_at=utcnow())
    assert _section(_html(officer), "connector-problems") is None


def test_another_agencys_connector_is_never_listed_and_its_pages_are_404(
        app, officer, bantul_officer):
    _connector(app, "bantul-app", "kab-bantul", paused=True, failure_streak=5,
               last_error="GET /x: bantul-app did not answer within 3 s")
    _hold(app, "bantul-app", "1", "category", "IZIN", "Izin Bantul")
    html = _html(officer)
    assert "bantul-app" not in html and 'id="all-clear"' in html
    for url in ("/ui/connectors/bantul-app", "/ui/connectors/bantul-app/mappings"):
        assert officer.get(url).status_code == 404, url
    theirs = _html(bantul_officer)
    assert "problem-bantul-app" in theirs and "held-bantul-app" in theirs


# -- (b) held records and unmapped values ------------------------------------------------------

def test_held_records_link_straight_to_the_mapping_queue(app, officer):
    cid = _import_sleman(app)
    assert _section(_html(officer), "held-records") is None
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha")
    _hold(app, cid, "2", "category", "IZIN", "Izin lagi")
    _hold(app, cid, "3", "unit", "INSPEKTORAT", "Pungutan")
    html = _html(officer)
    held = _section(html, "held-records")
    assert "2 nilai belum dipetakan" in held and "3 catatan tertahan" in held
    queue = f'href="/ui/connectors/{cid}/mappings"'
    assert held.count(queue) >= 3  # the name, the counts and the button all go there
    assert 'id="all-clear"' not in html
    # The queue it links to lists both values.
    page = _html(officer, f"/ui/connectors/{cid}/mappings")
    assert 'data-value="IZIN"' in page and 'data-value="INSPEKTORAT"' in page
    # On the connectors list and the connector's page the held count is a link too.
    for url in ("/ui/connectors", f"/ui/connectors/{cid}"):
        health = _html(officer, url)
        assert re.search(r'data-testid="held-count"><a href="/ui/connectors/'
                         + re.escape(cid) + r'/mappings"[^>]*>3</a>', health), url


# -- (c) reports past or near their deadline ---------------------------------------------------

def test_overdue_and_due_soon_reports_with_links_to_the_lists(app, officer, sleman, bantul):
    now = utcnow()
    assert _section(_html(officer), "deadlines") is None
    late = sleman.create_report(title="Jalan berlubang lewat tenggat")
    soon = sleman.create_report(title="Sampah hampir jatuh tempo")
    fine = sleman.create_report(title="Lampu masih lama")
    done = sleman.create_report(title="Sudah selesai")
    theirs = bantul.create_report(title="Laporan Bantul lewat tenggat")
    _due(app, late["id"], now - timedelta(days=2))
    _due(app, soon["id"], now + timedelta(hours=6))
    _due(app, fine["id"], now + timedelta(days=4))
    _due(app, done["id"], now - timedelta(days=2), status="closed")
    _due(app, theirs["id"], now - timedelta(days=2))
    html = _html(officer)
    section = _section(html, "deadlines")
    assert "Jalan berlubang lewat tenggat" in section
    assert "Sampah hampir jatuh tempo" in section
    for absent in ("Lampu masih lama", "Sudah selesai", "Laporan Bantul"):
        assert absent not in section, absent
    assert "Pemerintah Kabupaten Sleman" in section  # the unit's name, not its code
    assert re.search(r"lewat \d+ (hari|jam)", section)
    assert re.search(r"sisa \d+ jam", section)
    assert 'href="/ui/reports?due=overdue"' in section
    assert "Lihat laporan lewat tenggat (1)" in section
    assert 'href="/ui/reports?due=soon"' in section
    # The lists behind the links.
    overdue = _html(officer, "/ui/reports?due=overdue")
    assert "Jalan berlubang lewat tenggat" in overdue and "Sampah hampir" not in overdue
    assert "Laporan Bantul" not in overdue
    assert "Sampah hampir jatuh tempo" in _html(officer, "/ui/reports?due=soon")


def test_only_the_ten_most_urgent_are_shown(app, officer, sleman):
    now = utcnow()
    for i in range(12):
        report = sleman.create_report(title=f"Laporan mendesak {i:02d}")
        _due(app, report["id"], now - timedelta(hours=12 - i))
    section = _section(_html(officer), "deadlines")
    assert section.count("<tr data-tracking=") == 10
    assert "Laporan mendesak 00" in section and "Laporan mendesak 10" not in section
    assert "Lihat laporan lewat tenggat (12)" in section
    listed = _html(officer, "/ui/reports?due=overdue")
    assert listed.count("<tr data-tracking=") == 12


# -- (d) the navigation's badges ----------------------------------------------------------------

def test_the_navigation_counts_what_needs_action(app, officer, sleman):
    cid = _import_sleman(app)
    _hold(app, cid, "1", "category", "IZIN", "Izin usaha")
    _connector(app, "simpel", "kab-sleman", failure_streak=1,
               last_error="GET /x: simpel did not answer within 3 s")
    _connector(app, "bantul-app", "kab-bantul", paused=True, failure_streak=5)
    report = sleman.create_report(title="Lewat tenggat")
    _due(app, report["id"], utcnow() - timedelta(hours=1))
    for url in ("/ui/", "/ui/dashboard", "/ui/reports"):  # on every page
        html = _html(officer, url)
        badge = re.search(r'data-testid="nav-home-count"[^>]*>(\d+)<', html)
        assert badge and badge.group(1) == "3", url
        assert re.search(r'data-testid="nav-connectors-count"[^>]*>2<', html)
        assert re.search(r'data-testid="nav-reports-count"[^>]*>1<', html)
        assert 'aria-label="Laporan (1 laporan lewat tenggat atau jatuh tempo dalam 24 jam)"' \
            in html


# -- the report list: finding a complaint --------------------------------------------------------

@pytest.fixture
def listed(app, sleman, bantul):
    return {
        "jalan": from_source(sleman, "lapor-sleman", "SLM-2026-000055",
                             title="Jalan berlubang di Jl. Kaliurang", channel="web",
                             agency="kab-sleman.dpupkp"),
        "sampah": sleman.create_report(title="Sampah menumpuk di Pasar Gamping",
                                       channel="instagram"),
        "bantul": from_source(bantul, "lapor-bantul", "BTL-2026-000001",
                              title="Jalan rusak di Bantul", channel="web",
                              agency="kab-bantul"),
    }


def _rows(html):
    return re.findall(r'<tr data-tracking="([^"]+)"', html)


def test_find_by_tracking_number_ticket_number_and_title(app, officer, listed):
    jalan, sampah = listed["jalan"], listed["sampah"]
    assert _rows(_html(officer, f"/ui/reports?q={sampah['tracking_id']}")) == [
        sampah["tracking_id"]]
    found = _html(officer, "/ui/reports?q=SLM-2026-000055")
    assert _rows(found) == [jalan["tracking_id"]]
    assert "SLM-2026-000055" in found  # the ticket column shows it
    assert _rows(_html(officer, "/ui/reports?q=slm-2026-000055")) == [jalan["tracking_id"]]
    assert _rows(_html(officer, "/ui/reports?q=Pasar+Gamping")) == [sampah["tracking_id"]]
    assert 'id="no-reports"' in _html(officer, "/ui/reports?q=SLM-2026-999999")


def test_the_list_shows_unit_names_not_codes(app, officer, listed):
    html = _html(officer, "/ui/reports")
    units = re.findall(r'<td class="unit">([^<]*)</td>', html)
    assert sorted(units) == ["Dinas Pekerjaan Umum dan Perumahan Kawasan Permukiman",
                             "Pemerintah Kabupaten Sleman"]


def test_another_agencys_report_is_never_listed_and_is_404(app, officer, listed):
    bantul = listed["bantul"]
    for q in (bantul["tracking_id"], "BTL-2026-000001", "Bantul"):
        assert _rows(_html(officer, f"/ui/reports?q={q}")) == [], q
    assert bantul["tracking_id"] not in _html(officer, "/ui/reports")
    assert officer.get(f"/ui/reports/{bantul['tracking_id']}").status_code == 404
    # Nor can its unit be chosen as a filter.
    html = _html(officer, "/ui/reports?unit=kab-bantul")
    assert 'id="err-unit"' in html and bantul["tracking_id"] not in html
    assert 'value="kab-bantul"' not in html


def test_filters_status_unit_channel_and_dates(app, officer, sleman, listed):
    jalan, sampah = listed["jalan"]["tracking_id"], listed["sampah"]["tracking_id"]
    assert sleman.status(listed["sampah"]["id"], "verified").status_code == 200
    assert _rows(_html(officer, "/ui/reports?status=verified")) == [sampah]
    assert _rows(_html(officer, "/ui/reports?unit=kab-sleman.dpupkp")) == [jalan]
    assert set(_rows(_html(officer, "/ui/reports?unit=kab-sleman"))) == {jalan, sampah}
    assert _rows(_html(officer, "/ui/reports?channel=instagram")) == [sampah]
    with app.app_context():
        report = db.session.get(Report, listed["jalan"]["id"])
        report.submitted_at = utcnow() - timedelta(days=800)  # two years ago and more
        db.session.commit()
        old_day = report.submitted_at.astimezone(JAKARTA).strftime("%Y-%m-%d")
    assert _rows(_html(officer, "/ui/reports?period=year")) == [sampah]
    assert _rows(_html(officer, "/ui/reports?period=month")) == [sampah]
    assert _rows(_html(officer, "/ui/reports?period=quarter")) == [sampah]
    html = _html(officer, f"/ui/reports?since=2000-01-01&until={old_day}")
    assert jalan in _rows(html) and sampah not in _rows(html)
    # A preset shows its dates in the form and is marked as chosen.
    year = _html(officer, "/ui/reports?period=year")
    assert re.search(r'id="preset-year" aria-pressed="true"', year)
    assert re.search(r'name="since" value="\d{4}-01-01"', year)
    # Filters combine, and the next page keeps them.
    assert _rows(_html(officer, "/ui/reports?q=jalan&channel=instagram")) == []


def test_bad_filter_values_are_explained_not_a_crash(app, officer, listed):
    html = _html(officer, "/ui/reports?since=31-12-2026&until=2026-13-01&status=hilang"
                          "&channel=merpati&due=kemarin&unit=nowhere")
    for name in ("since", "until", "status", "channel", "due", "unit"):
        assert f'id="err-{name}"' in html, name
    assert "Tanggal tidak valid." in html
    assert len(_rows(html)) == 2  # the rest of the list, unfiltered
    backwards = _html(officer, "/ui/reports?since=2026-12-31&until=2026-01-01")
    assert "Tanggal awal harus sebelum atau sama dengan tanggal akhir." in backwards


def test_pages_keep_the_filters(app, officer, sleman):
    for i in range(51):
        sleman.create_report(title=f"Aduan web {i}", channel="web")
    sleman.create_report(title="Aduan sms", channel="sms")
    html = _html(officer, "/ui/reports?channel=web&period=year")
    assert len(_rows(html)) == 50
    nxt = re.search(r'href="(/ui/reports\?[^"]*page=2[^"]*)"', html).group(1)
    nxt = nxt.replace("&amp;", "&")
    assert "channel=web" in nxt and "period=year" in nxt
    assert len(_rows(_html(officer, nxt))) == 1
