"""The officer's "Perlu tindakan" home in real headless Chromium: a real sync from the
Sleman simulator holds a record with an unmapped category; the officer signs in, lands on
what needs their action, sees the held record, clicks through to the mapping queue, maps
it, and then finds reports by their local ticket numbers from the report list; the
English switch renders the home too. Every page is checked with axe-core and
saved as a screenshot (tests/ui/audit.py)."""
import pytest

from hub.extensions import db
from hub.sync.runner import run_connector
from tests.helpers import report_payload
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import browser, connector, live_url, open_page, sim  # noqa: F401

pytestmark = pytest.mark.browser


def test_officer_acts_from_the_home_and_finds_reports_by_ticket_number(
        app, sim, connector, live_url, open_page, make_user, sleman):  # noqa: F811
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    held = sim.control("aduan", {"judul": "Izin usaha lama belum terbit",
                                 "kategori": "IZIN", "opd": "DPUPKP"})["data"]
    sim.control("aduan", {"judul": "Lampu PJU mati di Jl. Magelang", "kategori": "PJU",
                          "opd": "DPUPKP"})
    with app.app_context():
        assert run_connector(connector, "schedule") is not None  # the worker's run
        db.session.remove()
    # A complaint another local system logged under its own ticket number.
    resp = sleman.put("/sources/simpel-sleman/reports/SLM-2026-000055", json=report_payload(
        title="Sampah menumpuk di Pasar Gamping", channel="whatsapp"))
    assert resp.status_code == 201, resp.get_json()

    page = open_page(1366, 900)
    page.goto(f"{live_url}/ui/login")
    page.fill("input[name=email]", "petugas@slemankab.go.id")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_url}/ui/")
    assert page.locator("h1").inner_text() == "Perlu tindakan"
    assert page.locator("[data-testid=nav-home-count]").inner_text() == "1"
    card = page.locator(f"#held-{connector}")
    assert card.is_visible()
    assert "1 nilai belum dipetakan" in card.inner_text()
    assert "1 catatan tertahan" in card.inner_text()
    assert not page.locator("#connector-problems").count()  # the sync itself went well

    # Straight to the connector's mapping queue, where the held value waits.
    card.locator("text=Buka antrean pemetaan").click()
    page.wait_for_url(f"{live_url}/ui/connectors/{connector}/mappings")
    izin = page.locator('#queue tr[data-value="IZIN"]')
    assert "Izin usaha lama belum terbit" in izin.inner_text()
    izin.locator("select").select_option("pelayanan-publik.perizinan")
    izin.locator('input[name="accept"]').check()
    page.click("#save-mappings")
    assert "1 catatan akan dilepas" in page.locator("#confirm-total").inner_text()
    page.click("#confirm-mappings")
    assert "1 catatan tertahan masuk ke hub" in page.locator(".flash.ok").inner_text()

    # Nothing is held any more: the home says there is nothing to do.
    page.click("#nav-home")
    assert page.locator("#all-clear").is_visible()
    assert not page.locator("[data-testid=nav-home-count]").count()

    # The report list finds a complaint by the ticket number its local system gave it.
    page.click("#nav-reports")
    page.fill("#report-search", "slm-2026-000055")
    page.click("#apply-filters")
    rows = page.locator("#reports tbody tr")
    assert rows.count() == 1
    assert "Sampah menumpuk di Pasar Gamping" in rows.first.inner_text()
    assert "SLM-2026-000055" in rows.first.locator(".tickets").inner_text()
    assert "Pemerintah Kabupaten Sleman" in rows.first.locator(".unit").inner_text()
    # And the record that was held, by the number LAPOR Sleman knows it by.
    page.fill("#report-search", str(held["id_aduan"]))
    page.click("#apply-filters")
    assert rows.count() == 1
    assert "Izin usaha lama belum terbit" in rows.first.inner_text()
    page.click("#reports >> text=Izin usaha lama belum terbit")
    assert page.locator("#report-title").inner_text() == "Izin usaha lama belum terbit"

    # English renders the home too.
    page.click("#nav-home")
    page.click("button[name=lang][value=en]")
    assert page.locator("h1").inner_text() == "Needs action"
    assert "Nothing needs action right now" in page.locator("#all-clear").inner_text()
    assert page.locator("#nav-reports").inner_text().startswith("Reports")
    page.close()
