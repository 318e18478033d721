"""Account management in the UI: an agency admin changes roles within what it may grant
and resets passwords (a temporary password shown once, never in the cookie); everyone
changes their own password; each change ends the sessions it should. Refusals are 403
(its own or a national admin's account), 404 (another agency's), 422 (a translated
message), and no change is made without the form's CSRF token."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import UiSession, User, utcnow
from tests.ui.conftest import PASSWORD, login, page_csrf

ADMIN = "admin@slemankab.go.id"
OFFICER = "petugas@slemankab.go.id"


def _client(app, email, password=PASSWORD, lang=None, address=None):
    client = app.test_client()
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    assert login(client, email, password, lang=lang).status_code == 302
    return client


def _signed_in(client) -> bool:
    resp = client.get("/ui/connectors")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def _user(app, uid) -> User:
    with app.app_context():
        user = db.session.get(User, uid)
        db.session.expunge(user)
        return user


def _can_sign_in(app, email, password) -> bool:
    return login(app.test_client(), email, password).status_code == 302


@pytest.fixture
def accounts(app, make_user):
    """Sleman's admin (signed in), a Sleman unit's officer (signed in), Bantul's officer
    and a national admin."""
    ids = {"admin": make_user(ADMIN, "kab-sleman", role="agency_admin"),
           "officer": make_user(OFFICER, "kab-sleman.dpupkp"),
           "bantul": make_user("petugas@bantulkab.go.id", "kab-bantul"),
           "national": make_user("pusat@lapor.go.id", role="national_admin")}
    return ids


# -- roles ----------------------------------------------------------------------------

def test_an_agency_admin_changes_a_role_and_that_ends_the_users_sessions(app, accounts):
    admin, officer = _client(app, ADMIN), _client(app, OFFICER)
    token = page_csrf(admin, "/ui/users")
    resp = admin.post(f"/ui/users/{accounts['officer']}/role",
                      data={"csrf_token": token, "role": "agency_admin"}, follow_redirects=True)
    assert resp.status_code == 200
    assert f"Peran {OFFICER} kini Admin instansi; semua sesinya diakhiri." in \
        resp.get_data(as_text=True)
    assert _user(app, accounts["officer"]).role == "agency_admin"
    assert not _signed_in(officer)  # signed out everywhere
    promoted = _client(app, OFFICER)
    assert promoted.get("/ui/users").status_code == 200  # an admin's page now
    # And back to officer.
    assert admin.post(f"/ui/users/{accounts['officer']}/role",
                      data={"csrf_token": token, "role": "officer"}).status_code == 302
    assert _user(app, accounts["officer"]).role == "officer"
    assert promoted.get("/ui/users").status_code == 302  # that session ended too


@pytest.mark.parametrize("lang,message", [
    ("id", "Anda tidak dapat memberikan peran ini."), ("en", "You cannot grant this role.")])
def test_no_role_above_what_the_admin_may_grant(app, accounts, lang, message):
    admin, officer = _client(app, ADMIN, lang=lang), _client(app, OFFICER)
    token = page_csrf(admin, "/ui/users")
    for role in ("national_admin", "superuser", ""):
        resp = admin.post(f"/ui/users/{accounts['officer']}/role",
                          data={"csrf_token": token, "role": role})
        assert resp.status_code == 422, role
        html = resp.get_data(as_text=True)
        assert f'id="err-user-{accounts["officer"]}"' in html and message in html
    assert _user(app, accounts["officer"]).role == "officer"
    assert _signed_in(officer)  # a refused change ends nothing


def test_role_refusals_own_account_national_admin_other_agency_officer_no_csrf(app, accounts):
    admin, officer = _client(app, ADMIN), _client(app, OFFICER)
    token = page_csrf(admin, "/ui/users")
    change = {"csrf_token": token, "role": "officer"}
    own = admin.post(f"/ui/users/{accounts['admin']}/role", data=change)
    assert own.status_code == 403
    assert "Anda tidak berhak membuka halaman ini." in own.get_data(as_text=True)
    # A national admin belongs to no agency: not in an agency admin's list at all.
    assert admin.post(f"/ui/users/{accounts['national']}/role", data=change).status_code == 404
    foreign = admin.post(f"/ui/users/{accounts['bantul']}/role", data=change)
    assert foreign.status_code == 404
    assert "Halaman tidak ditemukan." in foreign.get_data(as_text=True)
    assert admin.post("/ui/users/999999/role", data=change).status_code == 404
    # An officer manages no accounts, not even with a valid token of its own.
    assert officer.post(f"/ui/users/{accounts['bantul']}/role", data={
        "csrf_token": page_csrf(officer), "role": "agency_admin"}).status_code == 403
    missing = admin.post(f"/ui/users/{accounts['officer']}/role", data={"role": "agency_admin"})
    assert missing.status_code == 400
    assert "Formulir kedaluwarsa" in missing.get_data(as_text=True)
    assert admin.post(f"/ui/users/{accounts['officer']}/role", data={
        "role": "agency_admin", "csrf_token": "forged"}).status_code == 400
    assert _user(app, accounts["admin"]).role == "agency_admin"
    assert _user(app, accounts["national"]).role == "national_admin"
    assert _user(app, accounts["officer"]).role == "officer"
    assert _user(app, accounts["bantul"]).role == "officer"


def test_a_national_admin_changes_any_agencys_roles_but_grants_no_national_admin(
        app, accounts, make_user):
    national = _client(app, "pusat@lapor.go.id")
    token = page_csrf(national, "/ui/users")
    assert national.post(f"/ui/users/{accounts['bantul']}/role", data={
        "csrf_token": token, "role": "agency_admin"}).status_code == 302
    assert _user(app, accounts["bantul"]).role == "agency_admin"
    assert national.post(f"/ui/users/{accounts['bantul']}/role", data={
        "csrf_token": token, "role": "national_admin"}).status_code == 422
    assert _user(app, accounts["bantul"]).role == "agency_admin"
    # Nor does it change another national admin's role (or its own).
    other = make_user("pusat2@lapor.go.id", role="national_admin")
    for uid in (other, accounts["national"]):
        assert national.post(f"/ui/users/{uid}/role", data={
            "csrf_token": token, "role": "officer"}).status_code == 403
        assert _user(app, uid).role == "national_admin"


# -- password resets ------------------------------------------------------------------

def _temporary(html: str) -> str:
    marker = 'data-testid="temporary-password">'
    assert marker in html, "no temporary password on the page"
    return html.split(marker, 1)[1].split("<", 1)[0]


def test_a_reset_shows_a_temporary_password_once_and_ends_the_old_one(app, accounts):
    address = "198.51.100.23"
    admin = _client(app, ADMIN)
    officer = _client(app, OFFICER, address=address)
    # Locked out: five wrong passwords from the officer's address, and the old counters.
    for _ in range(5):
        assert login(officer, OFFICER, "salah-sekali-ini").status_code == 401
    with app.app_context():
        user = db.session.get(User, accounts["officer"])
        user.failed_logins, user.locked_until = 4, utcnow() + timedelta(minutes=10)
        db.session.commit()
    token = page_csrf(admin, "/ui/users")
    resp = admin.post(f"/ui/users/{accounts['officer']}/reset-password",
                      data={"csrf_token": token})
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]
    html = resp.get_data(as_text=True)
    assert f"Kata sandi sementara untuk {OFFICER}" in html
    temporary = _temporary(html)
    assert len(temporary) >= 20 and temporary != PASSWORD
    # Not in the session cookie (signed, not encrypted), nor shown again.
    for cookie in resp.headers.getlist("Set-Cookie"):
        assert temporary not in cookie
    session_cookie = admin.get_cookie("session").value
    with app.test_request_context():
        stored = app.session_interface.get_signing_serializer(app).loads(session_cookie)
    assert temporary not in repr(stored)
    again = admin.get("/ui/users").get_data(as_text=True)
    assert temporary not in again and 'data-testid="temporary-password"' not in again
    # The old password no longer works, the old sessions are over, the lockout is gone.
    assert not _signed_in(officer)
    assert not _can_sign_in(app, OFFICER, PASSWORD)
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = address
    assert login(fresh, OFFICER, temporary).status_code == 302
    user = _user(app, accounts["officer"])
    assert user.failed_logins == 0 and user.locked_until is None
    # Another reset gives another password.
    other = _temporary(admin.post(f"/ui/users/{accounts['officer']}/reset-password",
                                  data={"csrf_token": token}).get_data(as_text=True))
    assert other != temporary and not _signed_in(fresh)


def test_reset_refusals_own_account_national_admin_other_agency_no_csrf(app, accounts):
    admin, officer = _client(app, ADMIN), _client(app, OFFICER)
    token = page_csrf(admin, "/ui/users")
    for key, status in (("admin", 403), ("national", 404), ("bantul", 404)):
        resp = admin.post(f"/ui/users/{accounts[key]}/reset-password",
                          data={"csrf_token": token})
        assert resp.status_code == status, key
        assert 'data-testid="temporary-password"' not in resp.get_data(as_text=True)
    assert officer.post(f"/ui/users/{accounts['bantul']}/reset-password", data={
        "csrf_token": page_csrf(officer)}).status_code == 403
    assert admin.post(f"/ui/users/{accounts['officer']}/reset-password").status_code == 400
    for email in (ADMIN, OFFICER, "petugas@bantulkab.go.id", "pusat@lapor.go.id"):
        assert _can_sign_in(app, email, PASSWORD), email
    assert _signed_in(officer) and _signed_in(admin)


# -- one's own password ---------------------------------------------------------------

def _change(client, current, new, again=None, token=None):
    return client.post("/ui/account", data={
        "csrf_token": token or page_csrf(client, "/ui/account"), "current": current,
        "new": new, "again": new if again is None else again})


@pytest.mark.parametrize("lang,texts", [
    ("id", {"current": "Kata sandi saat ini salah.", "new": "Kata sandi minimal 12 karakter.",
            "again": "Kedua isian kata sandi baru tidak sama.",
            "same": "Kata sandi baru harus berbeda dari yang sekarang."}),
    ("en", {"current": "The current password is wrong.",
            "new": "The password needs at least 12 characters.",
            "again": "The two new passwords differ.",
            "same": "The new password must differ from the current one."})])
def test_own_password_change_refusals_are_translated(app, accounts, lang, texts):
    officer = _client(app, OFFICER, lang=lang)
    cases = [(("salah-sama-sekali", "kata-sandi-baru-panjang"), "current"),
             ((PASSWORD, "pendek"), "new"),
             ((PASSWORD, "kata-sandi-baru-panjang", "kata-sandi-lain-panjang"), "again"),
             ((PASSWORD, PASSWORD), "new")]
    for args, field in cases:
        resp = _change(officer, *args)
        assert resp.status_code == 422, args
        html = resp.get_data(as_text=True)
        expected = texts["same"] if args == (PASSWORD, PASSWORD) else texts[field]
        assert f'id="err-{field}"' in html and expected in html, args
    assert _change(officer, PASSWORD, "kata-sandi-baru-panjang", token="forged"
                   ).status_code == 400
    assert _can_sign_in(app, OFFICER, PASSWORD)
    assert not _can_sign_in(app, OFFICER, "kata-sandi-baru-panjang")


def test_own_password_change_keeps_this_session_and_ends_the_others(app, accounts):
    here, elsewhere = _client(app, OFFICER), _client(app, OFFICER)
    admin = _client(app, ADMIN)
    resp = _change(here, PASSWORD, "kata-sandi-baru-panjang")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/ui/account")
    page = here.get("/ui/account").get_data(as_text=True)
    assert "Kata sandi diganti; sesi Anda yang lain telah diakhiri." in page
    assert _signed_in(here) and not _signed_in(elsewhere)
    assert _signed_in(admin)  # nobody else's sessions
    assert not _can_sign_in(app, OFFICER, PASSWORD)
    assert _can_sign_in(app, OFFICER, "kata-sandi-baru-panjang")
    with app.app_context():
        live = db.session.execute(sa.select(sa.func.count()).select_from(UiSession).where(
            UiSession.user_id == accounts["officer"], UiSession.ended_at.is_(None))).scalar()
    assert live == 2  # this one and the sign-in just above


def test_the_right_current_password_is_no_failed_try(app, accounts):
    """An officer who types the current password right but the new one wrong, again and
    again, is not locked out of signing in."""
    officer = _client(app, OFFICER)
    token = page_csrf(officer, "/ui/account")
    for _ in range(6):
        assert _change(officer, PASSWORD, "kata-sandi-baru-panjang",
                       "kata-sandi-lain-panjang", token=token).status_code == 422
    assert _can_sign_in(app, OFFICER, PASSWORD)
    assert _change(officer, PASSWORD, "kata-sandi-baru-panjang", token=token
                   ).status_code == 302


def test_every_role_has_an_account_page_and_wrong_current_passwords_lock(app, accounts):
    national = _client(app, "pusat@lapor.go.id", lang="en")
    page = national.get("/ui/account")
    assert page.status_code == 200 and "Change password" in page.get_data(as_text=True)
    assert _change(national, PASSWORD, "kata-sandi-nasional-baru").status_code == 302
    officer = _client(app, OFFICER)
    assert 'id="nav-account"' in officer.get("/ui/").get_data(as_text=True)
    token = page_csrf(officer, "/ui/account")
    for _ in range(5):
        assert _change(officer, "tebakan-salah-lagi", "kata-sandi-baru-panjang",
                       token=token).status_code == 422
    # Locked: even the right password is not checked now, and nothing changes.
    locked = _change(officer, PASSWORD, "kata-sandi-baru-panjang", token=token)
    assert locked.status_code == 422
    assert "Terlalu banyak percobaan" in locked.get_data(as_text=True)
    assert not _can_sign_in(app, OFFICER, "kata-sandi-baru-panjang")
    assert app.test_client().get("/ui/account").status_code == 302  # signed in only


# -- the list -------------------------------------------------------------------------

@pytest.mark.parametrize("lang,ago,never,role", [
    ("id", "3 jam lalu", "belum pernah", "Pejabat penghubung"),
    ("en", "3 hours ago", "never", "Liaison officer")])
def test_the_list_shows_last_sign_in_relative_and_roles_translated(app, accounts, make_user,
                                                                     lang, ago, never, role):
    make_user("baru@slemankab.go.id", "kab-sleman")
    admin = _client(app, ADMIN, lang=lang)
    with app.app_context():
        db.session.get(User, accounts["officer"]).last_login_at = utcnow() - timedelta(
            hours=3, minutes=5)
        db.session.commit()
    html = admin.get("/ui/users").get_data(as_text=True)

    def row(email):
        part = html.split(f'data-email="{email}"', 1)[1]
        return part.split("</tr>", 1)[0]

    officer = row(OFFICER)
    cell = officer.split('data-testid="last-login">', 1)[1].split("</td>", 1)[0]
    assert f">{ago}</time>" in cell and 'title="' in cell  # the exact moment on hover
    assert f">{never}</span>" in row("baru@slemankab.go.id")
    roles = [r.split('data-testid="role">', 1)[1].split("<", 1)[0] for r in
             html.split('data-email="')[1:]]
    assert role in roles
    assert not {"officer", "agency_admin", "national_admin"} & set(roles)
    assert "just now" in html or "baru saja" in html  # the admin itself signed in
