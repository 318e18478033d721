"""The dashboard, connector form and roles in real headless Chromium, as officers and
an agency admin would use them: the officer signs in on the dashboard, a report comes in
through the API and another through a real sync from the Sleman simulator, and the
numbers move; Bantul's officer sees none of it; Sleman's admin creates a connector from
the form and tests its connection. Screenshots go to test-artifacts/screenshots.
"""
import json
import re

import pytest

from hub.sync import files
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import SLEMAN_FILE, _shot, browser, connector, live_url, sim  # noqa: F401

pytestmark = pytest.mark.browser


def _login(page, base, email):
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/ui/")  # officers land on what needs their action
    page.click("header >> text=Dasbor")
    page.wait_for_url(f"{base}/ui/dashboard")


def _kpi(page, key) -> str:
    return page.locator(f'[data-stat="{key}"] .kpi-value').inner_text().strip()


def test_dashboard_moves_with_new_reports_and_admin_creates_a_connector(
        app, sim, connector, live_url, browser, make_user, sleman):  # noqa: F811
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    make_user("petugas@bantulkab.go.id", "kab-bantul", name="Petugas Bantul")
    make_user("admin@slemankab.go.id", "kab-sleman", role="agency_admin",
              name="Admin Sleman")
    first = sleman.create_report(title="Jalan berlubang di Jl. Kaliurang", channel="web")
    sleman.create_report(title="Sampah menumpuk di Pasar Gamping", channel="instagram")

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    _login(page, live_url, "petugas@slemankab.go.id")
    assert page.locator("h1").inner_text() == "Dasbor kinerja pengaduan"
    assert _kpi(page, "received") == "2"
    assert page.locator("#chart-channels").is_visible()
    assert page.locator("#chart-units-title").text_content() == "Laporan per instansi / unit"
    assert page.locator("#stats-channels tbody tr").count() == 2
    _shot(page, "10-dashboard")

    # A report through the API, then the dashboard again: the numbers moved.
    sleman.create_report(title="Lampu jalan mati", channel="whatsapp")
    page.reload()
    assert _kpi(page, "received") == "3"
    assert "WhatsApp" in page.locator("#stats-channels").inner_text()

    # Another through a real sync from the Sleman simulator.
    sim.control("aduan", {"judul": "Lampu PJU mati di Jl. Magelang", "kategori": "PJU",
                          "opd": "DPUPKP", "kanal": "instagram"})
    page.goto(f"{live_url}/ui/connectors/{connector}")
    page.click("#sync-now")
    page.wait_for_selector("#runs")
    assert page.locator("#runs tbody tr").first.locator(".badge").inner_text() == "berhasil"
    page.click("header >> text=Dasbor")
    assert _kpi(page, "received") == "4"
    units = page.locator("#stats-units").inner_text()
    assert "Dinas Pekerjaan Umum" in units or "DPUPKP" in units.upper()
    # Filtering to one unit shows just its report.
    page.select_option("select[name=agency]", "kab-sleman.dpupkp")
    page.click("#dashboard-filters button[type=submit]")
    assert _kpi(page, "received") == "1"
    _shot(page, "11-dashboard-unit")

    # English, and the time chart by week.
    page.goto(f"{live_url}/ui/dashboard?period=week")
    page.click("button[name=lang][value=en]")
    assert page.locator("h1").inner_text() == "Complaint handling dashboard"
    assert page.locator("#h-time").inner_text() == "Reports per week"
    assert _kpi(page, "received") == "4"
    _shot(page, "12-dashboard-en")
    # Officers see the connector but cannot edit it, and have no users page.
    page.goto(f"{live_url}/ui/connectors/{connector}")
    assert page.locator("#edit-connector").count() == 0
    assert page.goto(f"{live_url}/ui/connectors/new").status == 403
    assert page.goto(f"{live_url}/ui/users").status == 403
    ctx.close()

    # Bantul's officer: nothing of Sleman's, on pages or by direct URL.
    other = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = other.new_page()
    _login(page, live_url, "petugas@bantulkab.go.id")
    assert _kpi(page, "received") == "0"
    assert page.locator("#no-data").is_visible()
    assert "Sleman" not in page.locator("main").inner_text()
    _shot(page, "13-bantul-dashboard")
    for url in ("/ui/dashboard?agency=kab-sleman", "/ui/dashboard?agency=kab-sleman.dpupkp",
                f"/ui/reports/{first['tracking_id']}", f"/ui/connectors/{connector}",
                f"/ui/connectors/{connector}/edit"):
        resp = page.goto(live_url + url)
        assert resp.status == 404, url
        assert "Halaman tidak ditemukan" in page.content()
    other.close()

    # Sleman's agency admin creates a connector from the REST kind's form.
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    _login(page, live_url, "admin@slemankab.go.id")
    page.goto(f"{live_url}/ui/connectors")
    page.click("#new-connector")
    page.check("input[name=kind][value=rest]")
    page.click("#choose-kind")
    assert page.locator("#f-config-base_url").is_visible()
    _shot(page, "14-connector-form")
    streams = files.load_file(SLEMAN_FILE)["connector"]["config"]["streams"]
    page.fill("#f-id", "lapor-sleman-2")
    page.fill("#f-name", "LAPOR Sleman (cadangan)")
    page.fill("#f-config-base_url", "bukan alamat")  # first a mistake
    page.select_option("#f-config-auth-type", "api_key_header")
    page.fill("#f-config-auth-header", "X-API-Key")
    page.fill("#f-config-streams", json.dumps(streams, indent=2))
    page.fill("#s-api_key", sim.api_key)
    page.click("#save-connector")
    assert "Harus alamat http:// atau https://." in \
        page.locator("#err-config-base_url").inner_text()
    assert page.locator("#s-api_key").input_value() == ""  # never sent back
    _shot(page, "15-connector-form-errors")
    page.fill("#f-config-base_url", sim.url)
    page.fill("#s-api_key", sim.api_key)
    page.click("#save-connector")
    page.wait_for_url(re.compile(r".*/ui/connectors/lapor-sleman-2$"))
    assert "Konektor disimpan." in page.locator(".flash.ok").inner_text()
    assert page.locator(".badge.circuit-paused").is_visible()  # waits for its test
    page.click("#check-connection")
    assert "Koneksi berhasil" in page.locator(".flash.ok").inner_text()
    page.click("#resume")
    assert page.locator(".badge.circuit-closed").is_visible()
    _shot(page, "16-connector-created")
    # The edit form shows the secret as stored, never its value.
    page.click("#edit-connector")
    assert page.locator("#s-api_key").input_value() == ""
    assert sim.api_key not in page.content()
    page.goto(f"{live_url}/ui/users")
    assert page.locator("#users").is_visible()
    _shot(page, "17-users")
    ctx.close()
