"""Mappings by hand and accounts in real headless Chromium. An officer adds a status
mapping the queue did not suggest, sees how many held records it releases before saving,
confirms, and the held report arrives. An agency admin resets an officer's password and
reads the temporary password once; the officer signs in with it and sets their own.
Every page is checked with axe-core and saved as a screenshot (tests/ui/audit.py)."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Mapping
from hub.sync.runner import run_connector
from tests.ui.conftest import PASSWORD
from tests.ui.test_browser import (  # noqa: F401
    _sign_in,
    browser,
    connector,
    live_url,
    open_page,
    sim,
)

pytestmark = pytest.mark.browser


def test_officer_adds_a_status_mapping_by_hand_and_the_held_report_arrives(
        app, sim, connector, live_url, open_page, make_user):  # noqa: F811
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    with app.app_context():
        # The local system's "Diverifikasi" is not mapped yet.
        db.session.execute(sa.delete(Mapping).where(
            Mapping.connector_id == connector, Mapping.field == "status",
            Mapping.local_value == "Diverifikasi"))
        db.session.commit()
    sim.control("aduan", {"judul": "Lampu jalan padam di Jl. Kaliurang", "kategori": "PJU",
                          "opd": "DPUPKP", "status": "Diverifikasi"})
    with app.app_context():
        assert run_connector(connector, "schedule") is not None
        db.session.remove()

    page = open_page(1366, 900)
    _sign_in(page, live_url, "petugas@slemankab.go.id")
    page.goto(f"{live_url}/ui/connectors/{connector}/mappings")
    assert page.locator("[data-testid=held-count]").inner_text() == "1"
    # Only the chosen field's hub values are offered.
    assert page.locator("#add-target-category").is_visible()
    assert not page.locator("#add-target-status").is_visible()
    page.select_option("#add-field", "status")
    assert page.locator("#add-target-status").is_visible()
    assert not page.locator("#add-target-category").is_visible()
    page.fill("#add-value", "diverifikasi")  # as an officer types it
    page.select_option("#add-target-status", "verified")
    page.click("#check-mapping")

    # Nothing is saved yet: the confirmation says what the choice releases.
    row = page.locator('#confirm tr[data-value="diverifikasi"]').inner_text()
    assert "Terverifikasi" in row and "1 catatan akan dilepas" in row, row
    assert page.locator("#confirm-total").inner_text() == "1 catatan akan dilepas"
    page.click("#confirm-mappings")

    assert "1 pemetaan disimpan; 1 catatan tertahan masuk ke hub." in \
        page.locator(".flash.ok").inner_text()
    assert "Lampu jalan padam di Jl. Kaliurang" in page.locator("#arrived").inner_text()
    assert page.locator("[data-testid=held-count]").inner_text() == "0"
    assert "diverifikasi" in page.locator("#table-status").inner_text()
    page.click("#arrived a")
    assert page.locator("#report-title").inner_text() == "Lampu jalan padam di Jl. Kaliurang"


def test_admin_resets_a_password_and_the_officer_sets_their_own(
        app, live_url, open_page, make_user):  # noqa: F811
    make_user("admin@slemankab.go.id", "kab-sleman", role="agency_admin", name="Admin Sleman")
    make_user("petugas@slemankab.go.id", "kab-sleman", name="Petugas Sleman")
    officer = open_page(1366, 900)
    _sign_in(officer, live_url, "petugas@slemankab.go.id")

    admin = open_page(1366, 900)
    _sign_in(admin, live_url, "admin@slemankab.go.id")
    admin.goto(f"{live_url}/ui/users")
    row = admin.locator('#users tr[data-email="petugas@slemankab.go.id"]')
    assert row.locator("[data-testid=last-login]").inner_text() == "baru saja"
    asked = []
    admin.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    row.locator("text=Atur ulang kata sandi").click()
    assert "petugas@slemankab.go.id" in asked[0]
    temporary = admin.locator("[data-testid=temporary-password]").inner_text()
    assert len(temporary) >= 20
    # Shown once: reloading the page does not post the reset again.
    admin.reload()
    assert admin.url == f"{live_url}/ui/users"
    assert not admin.locator("[data-testid=temporary-password]").count()

    # The officer's old session is over; the temporary password signs them in.
    officer.goto(f"{live_url}/ui/connectors")
    assert "/ui/login" in officer.url
    officer.fill("input[name=email]", "petugas@slemankab.go.id")
    officer.fill("input[name=password]", temporary)
    officer.click("button[type=submit].primary")
    officer.wait_for_url(f"{live_url}/ui/connectors")  # back where they were
    officer.click("#nav-account")
    officer.fill("#a-current", temporary)
    officer.fill("#a-new", "kata-sandi-pilihan-sendiri")
    officer.fill("#a-again", "kata-sandi-pilihan-sendiri")
    officer.click("#save-password")
    assert "Kata sandi diganti" in officer.locator(".flash.ok").inner_text()
    # The temporary password has served its turn; the old one never comes back.
    fresh = open_page(390, 844)
    for password in (temporary, PASSWORD):
        fresh.goto(f"{live_url}/ui/login")
        fresh.fill("input[name=email]", "petugas@slemankab.go.id")
        fresh.fill("input[name=password]", password)
        fresh.click("button[type=submit].primary")
        assert fresh.locator("#login-error").is_visible()
