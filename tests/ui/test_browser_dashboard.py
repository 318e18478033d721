"""The dashboard, connector form and roles in real headless Chromium, as officers and
an agency admin would use them: the officer signs in on the dashboard, a report comes in
through the API and another through a real sync from the Sleman simulator, and the
numbers move; Bantul's officer sees none of it; Sleman's admin creates a connector from
the form and tests its connection. Every page is checked with axe-core and
saved as a screenshot (tests/ui/audit.py).
"""
import json
import re
from datetime import date, timedelta

import pytest

from hub.sync import files
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import SLEMAN_FILE, browser, connector, live_url, open_page, sim  # noqa: F401

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
        app, sim, connector, live_url, open_page, make_user, sleman):  # noqa: F811
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    make_user("petugas@bantulkab.go.id", "kab-bantul", name="Petugas Bantul")
    make_user("admin@slemankab.go.id", "kab-sleman", role="agency_admin",
              name="Admin Sleman")
    first = sleman.create_report(title="Jalan berlubang di Jl. Kaliurang", channel="web")
    sleman.create_report(title="Sampah menumpuk di Pasar Gamping", channel="instagram")

    page = open_page(1366, 900)
    _login(page, live_url, "petugas@slemankab.go.id")
    assert page.locator("h1").inner_text() == "Dasbor kinerja pengaduan"
    assert _kpi(page, "received") == "2"
    assert page.locator("#chart-channels").is_visible()
    assert page.locator("#chart-units-title").text_content() == "Laporan per instansi / unit"
    assert page.locator("#stats-channels tbody tr").count() == 2

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

    # English, and the time chart by week.
    page.goto(f"{live_url}/ui/dashboard?period=week")
    page.click("button[name=lang][value=en]")
    assert page.locator("h1").inner_text() == "Complaint handling dashboard"
    assert page.locator("#h-time").inner_text() == "Reports per week"
    assert _kpi(page, "received") == "4"
    # Officers see the connector but cannot edit it, and have no users page.
    page.goto(f"{live_url}/ui/connectors/{connector}")
    assert page.locator("#edit-connector").count() == 0
    assert page.goto(f"{live_url}/ui/connectors/new").status == 403
    assert page.goto(f"{live_url}/ui/users").status == 403
    page.close()

    # Bantul's officer: nothing of Sleman's, on pages or by direct URL.
    page = open_page(390, 844)  # a phone
    _login(page, live_url, "petugas@bantulkab.go.id")
    assert _kpi(page, "received") == "0"
    assert page.locator("#no-data").is_visible()
    assert "Sleman" not in page.locator("main").inner_text()
    for url in ("/ui/dashboard?agency=kab-sleman", "/ui/dashboard?agency=kab-sleman.dpupkp",
                f"/ui/reports/{first['tracking_id']}", f"/ui/connectors/{connector}",
                f"/ui/connectors/{connector}/edit"):
        resp = page.goto(live_url + url)
        assert resp.status == 404, url
        assert "Halaman tidak ditemukan" in page.content()
    page.close()

    # Sleman's agency admin creates a connector from the REST kind's form.
    page = open_page(1366, 1000)
    _login(page, live_url, "admin@slemankab.go.id")
    page.goto(f"{live_url}/ui/connectors")
    page.click("#new-connector")
    page.check("input[name=kind][value=rest]")
    page.click("#choose-kind")
    assert page.locator("#f-config-base_url").is_visible()
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
    # The edit form shows the secret as stored, never its value.
    page.click("#edit-connector")
    assert page.locator("#s-api_key").input_value() == ""
    assert sim.api_key not in page.content()
    page.goto(f"{live_url}/ui/users")
    assert page.locator("#users").is_visible()
    page.close()


# What a chart shows at the width it is drawn: the value axis's tick labels, the smallest
# text as rendered (its CSS size times the SVG's scale), the period labels shown and
# whether any two of them overlap, and whether the page scrolls sideways.
_CHART_LOOK = """() => {
  const charts = {};
  for (const svg of document.querySelectorAll("svg.chart")) {
    const shown = t => getComputedStyle(t).display !== "none" && t.getScreenCTM();
    const texts = [...svg.querySelectorAll("text")].filter(shown);
    const sizes = texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a);
    const periods = [...svg.querySelectorAll("text.x-label")].filter(shown)
      .map(t => ({text: t.textContent.trim(), box: t.getBoundingClientRect()}))
      .sort((p, q) => p.box.left - q.box.left);
    charts[svg.id] = {
      ticks: [...svg.querySelectorAll(".value-axis text")].map(t => t.textContent.trim()),
      gridlines: svg.querySelectorAll(".value-axis line.gridline").length,
      smallest: Math.min(...sizes),
      periods: periods.map(p => p.text),
      overlaps: periods.slice(1).filter((p, i) => p.box.left < periods[i].box.right).length,
    };
  }
  return {charts, sideways: document.documentElement.scrollWidth > window.innerWidth};
}"""


def _look_at_charts(page) -> dict:
    look = page.evaluate(_CHART_LOOK)
    assert not look["sideways"], "the page scrolls sideways"
    charts = look["charts"]
    assert set(charts) == {"chart-units", "chart-channels", "chart-time"}
    for chart_id, chart in charts.items():
        assert len(chart["ticks"]) > 2, (chart_id, chart["ticks"])
        assert chart["gridlines"] == len(chart["ticks"]) - 1, chart_id
        assert chart["smallest"] >= 10, (chart_id, chart["smallest"])
        assert chart["overlaps"] == 0, (chart_id, chart["periods"])
    return charts


def test_dashboard_charts_read_at_a_phone_and_a_laptop_width_and_navigation_shows_where(
        app, live_url, open_page, make_user, sleman):  # noqa: F811
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    for n, channel in enumerate(("web", "web", "whatsapp", "instagram", "web", "sms", "web")):
        report = sleman.create_report(title=f"Keluhan nomor {n + 1}", channel=channel)
    since = (date.today() - timedelta(weeks=10)).isoformat()

    page = open_page(390, 844)  # a phone
    _login(page, live_url, "petugas@slemankab.go.id")
    # The navigation says which page this is, and only there.
    assert page.locator("#nav-dashboard").get_attribute("aria-current") == "page"
    assert page.locator("header nav [aria-current]").count() == 1
    page.goto(f"{live_url}/ui/dashboard?period=week&since={since}")
    charts = _look_at_charts(page)
    assert charts["chart-channels"]["ticks"] == ["0", "1", "2", "3", "4"]  # web: 4
    weeks = charts["chart-time"]["periods"]
    assert 2 <= len(weeks) <= 4, weeks  # eleven weeks, a few labelled on a phone
    assert all(re.fullmatch(r"\d{1,2} \w{3}\.?\s*\d{4}", w) for w in weeks), weeks

    # The same page on a laptop labels every week.
    page.set_viewport_size({"width": 1366, "height": 900})
    charts = _look_at_charts(page)
    assert len(charts["chart-time"]["periods"]) == 11, charts["chart-time"]["periods"]
    page.audit("dashboard-weeks-wide")

    # Keyboard focus is visible: the skip link first, then the header's links.
    for _ in range(2):
        page.keyboard.press("Tab")
        outline = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
            return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
        assert outline[0] != "none" and outline[1] >= 2, outline
    # Inside a section, its link is marked as the current one of the set.
    page.goto(f"{live_url}/ui/reports/{report['tracking_id']}")
    assert page.locator("#nav-reports").get_attribute("aria-current") == "true"
    assert page.locator("#nav-dashboard").get_attribute("aria-current") is None
    page.close()
