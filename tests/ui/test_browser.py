"""The mapping UI in real headless Chromium (playwright + Debian's chromium), as an
officer would use it: a real sync from the Sleman simulator holds two records with
unmapped values; the officer maps them from the suggestions, sees them arrive, exports
the YAML; a Bantul officer sees none of it. Every page is checked with axe-core and
saved as a screenshot (tests/ui/audit.py).
"""
import copy
import os
import threading
from pathlib import Path

import pytest
import yaml
from werkzeug.serving import WSGIRequestHandler, make_server

from hub.extensions import db
from hub.sync import files
from simulators.sleman.testing import run_simulator
from tests.ui.audit import page_opener
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SLEMAN_FILE = ROOT / "mappings/kab-sleman/lapor-sleman.yaml"
CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def sim():
    with run_simulator() as handle:
        yield handle


@pytest.fixture
def connector(app, sim):
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    doc["connector"]["config"]["base_url"] = sim.url
    doc["connector"]["config"]["timeout_seconds"] = 3
    doc["connector"]["lookback_seconds"] = 60
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={"api_key": sim.api_key})
        db.session.commit()
        return conn.id


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # "localhost" is a secure context for Chromium, so the Secure session cookie works
    # over plain HTTP in the test.
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, request):
    """open_page(width, height, **context options): a page in a new browser context whose
    every page is checked with axe-core and saved as a screenshot."""
    opener, contexts = page_opener(browser, request)
    yield opener
    for context in contexts:
        context.close()


def _sign_in(page, base, email):
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/ui/")  # officers land on what needs their action
    page.goto(f"{base}/ui/connectors")


def test_officer_maps_unmapped_values_and_bantul_sees_nothing(
        app, sim, connector, live_url, open_page, make_user, tmp_path):
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    make_user("petugas@bantulkab.go.id", "kab-bantul", name="Petugas Bantul")
    sim.control("aduan", {"judul": "Izin usaha lama belum terbit", "kategori": "IZIN",
                          "opd": "DPUPKP"})
    sim.control("aduan", {"judul": "Temuan inspektorat soal pungutan", "kategori": "PJU",
                          "opd": "INSPEKTORAT"})
    sim.control("aduan", {"judul": "Lampu PJU mati di Jl. Magelang", "kategori": "PJU",
                          "opd": "DPUPKP"})

    page = open_page(1366, 900, accept_downloads=True)
    page.goto(f"{live_url}/ui/login")
    _sign_in(page, live_url, "petugas@slemankab.go.id")
    assert page.locator("#connector-lapor-sleman").is_visible()

    # A real sync from the simulator: one report arrives, two are held.
    page.click("#connector-lapor-sleman >> text=Rincian")
    page.click("#sync-now")
    page.wait_for_selector("#runs")
    assert page.locator("#runs tbody tr").first.locator(".badge").inner_text() == "berhasil"
    assert page.locator("[data-testid=held-count]").first.inner_text() == "2"

    # The queue shows both unmapped values, with the best suggestion preselected.
    page.click("text=Pemetaan")
    queue = page.locator("#queue tbody tr")
    assert queue.count() == 2
    izin = page.locator('#queue tr[data-value="IZIN"]')
    insp = page.locator('#queue tr[data-value="INSPEKTORAT"]')
    assert "Izin usaha lama belum terbit" in izin.inner_text()
    assert "Temuan inspektorat" in insp.inner_text()
    assert izin.locator("select").input_value() == "pelayanan-publik.perizinan"
    assert insp.locator("select").input_value() == "kab-sleman.inspektorat"
    # The searchable list filters the targets.
    insp.locator("input[type=search]").fill("inspektorat")
    assert insp.locator("select").input_value() == "kab-sleman.inspektorat"
    page.audit("mappings-queue-filtered")  # the search box changed the page

    # Typing in the search box neither ticks the row nor saves on Enter.
    insp.locator("input[type=search]").press("Enter")
    assert not insp.locator('input[name="accept"]').is_checked()
    assert page.locator("#queue tbody tr").count() == 2

    page.check("[data-select-all]")
    # Saving asks first, naming each choice and the records it releases.
    page.click("#save-mappings")
    asked = page.locator('#confirm tr[data-value="IZIN"]').inner_text()
    assert "IZIN" in asked and "Pelayanan Publik › Perizinan" in asked, asked
    assert "1 catatan akan dilepas" in asked, asked
    assert "Inspektorat" in page.locator('#confirm tr[data-value="INSPEKTORAT"]').inner_text()
    assert page.locator("#confirm-total").inner_text() == "2 catatan akan dilepas"
    page.click("#confirm-mappings")
    flash = page.locator(".flash.ok").inner_text()
    assert "2 pemetaan disimpan; 2 catatan tertahan masuk ke hub." in flash
    arrived = page.locator("#arrived").inner_text()
    assert "Izin usaha lama belum terbit" in arrived and "Temuan inspektorat" in arrived
    assert page.locator("#queue-empty").is_visible()
    assert page.locator("[data-testid=held-count]").inner_text() == "0"

    # Export the mapping as YAML.
    with page.expect_download() as info:
        page.click("#export-yaml")
    path = tmp_path / "export.yaml"
    info.value.save_as(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc["mappings"]["category"]["IZIN"] == "pelayanan-publik.perizinan"
    assert doc["mappings"]["unit"]["INSPEKTORAT"] == "kab-sleman.inspektorat"
    assert sim.api_key not in path.read_text(encoding="utf-8")  # never a secret

    # The held records are reports in the hub now.
    page.click("header >> text=Laporan")
    rows = page.locator("#reports tbody tr")
    assert rows.count() == 3
    page.click("#reports >> text=Temuan inspektorat soal pungutan")
    assert page.locator("#report-title").inner_text() == "Temuan inspektorat soal pungutan"
    assert "lapor-sleman" in page.locator("#refs").inner_text()
    assert page.locator("#timeline li").count() >= 1
    report_url = page.url

    # English.
    page.click("button[name=lang][value=en]")
    assert page.locator("h2", has_text="Timeline").is_visible()
    page.goto(f"{live_url}/ui/connectors/{connector}/mappings")
    assert page.locator("h2", has_text="Unmapped values queue").is_visible()
    page.close()

    # Another agency's officer sees none of it, on pages or by direct URL.
    page = open_page(390, 844)  # a phone
    _sign_in(page, live_url, "petugas@bantulkab.go.id")
    assert "LAPOR Sleman" not in page.content()
    for url in (f"/ui/connectors/{connector}", f"/ui/connectors/{connector}/mappings",
                f"/ui/connectors/{connector}/mappings.yaml"):
        resp = page.goto(live_url + url)
        assert resp.status == 404, url
        assert "Halaman tidak ditemukan" in page.content()
    resp = page.goto(report_url)
    assert resp.status == 404
    page.goto(f"{live_url}/ui/reports")
    body = page.content()
    assert "Temuan inspektorat" not in body and "Izin usaha" not in body
    assert page.locator("#no-reports").is_visible()
    page.close()


def test_a_serious_accessibility_finding_fails_the_test_naming_rule_and_element(open_page):
    page = open_page(390, 844)
    page.goto("data:text/html,<!doctype html><html lang=id><title>x</title><main>"
              "<h1>x</h1><img id=no-alt src=x.png><button id=no-name></button></main>")
    with pytest.raises(pytest.fail.Exception) as failed:
        page.audit("known-findings")
    text = str(failed.value)
    assert "image-alt (critical)" in text and "#no-alt" in text
    assert "button-name (critical)" in text and "#no-name" in text
    page.close()
