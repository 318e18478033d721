"""UI sign-in sessions: 8 hours, ended server-side by sign-out and by deactivation (a
copied cookie dies with them); a lockout that parallel tries cannot overshoot and that
a stranger cannot turn against an officer."""
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import sqlalchemy as sa

from hub.extensions import db
from hub.models import UiSession
from hub.models import types as model_types
from tests.ui.conftest import PASSWORD, csrf_from, page_csrf

OFFICER = "petugas@slemankab.go.id"


def _login(client, email=OFFICER, password=PASSWORD, address="198.51.100.7"):
    env = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/ui/login", environ_base=env).get_data(as_text=True))
    return client.post("/ui/login", data={"email": email, "password": password,
                                          "csrf_token": token}, environ_base=env)


def _signed_in(client) -> bool:
    resp = client.get("/ui/connectors")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_session_lasts_8_hours(app, client, make_user, monkeypatch):
    make_user(OFFICER)
    resp = _login(client)
    assert resp.status_code == 302
    expires = parsedate_to_datetime(
        resp.headers["Set-Cookie"].split("Expires=")[1].split(";")[0])
    lifetime = expires - datetime.now(timezone.utc)
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8), lifetime
    with app.app_context():
        row = db.session.execute(sa.select(UiSession)).scalar_one()
        assert row.expires_at - row.created_at == timedelta(hours=8)
    real = model_types.utcnow
    monkeypatch.setattr(model_types, "utcnow", lambda: real() + timedelta(hours=7, minutes=58))
    assert _signed_in(client)
    # Past 8 hours the session is over, whatever the cookie says.
    monkeypatch.setattr(model_types, "utcnow", lambda: real() + timedelta(hours=8, minutes=1))
    assert not _signed_in(client)


def test_a_cookie_replayed_after_logout_is_refused(app, client, make_user):
    make_user(OFFICER)
    assert _login(client).status_code == 302
    copied = _session_cookie(client)
    assert client.post("/ui/logout", data={"csrf_token": page_csrf(client)}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert not _signed_in(replay)
    # Another session of the same officer is untouched by that sign-out.
    other = app.test_client()
    assert _login(other).status_code == 302 and _signed_in(other)


def test_deactivating_the_user_ends_their_sessions(app, client, make_user):
    uid = make_user(OFFICER)
    make_user("admin@slemankab.go.id", role="agency_admin")
    assert _login(client).status_code == 302 and _signed_in(client)
    copied = _session_cookie(client)
    boss = app.test_client()
    assert _login(boss, "admin@slemankab.go.id").status_code == 302
    token = page_csrf(boss, "/ui/users")
    assert boss.post(f"/ui/users/{uid}/deactivate", data={"csrf_token": token}
                     ).status_code == 302
    assert not _signed_in(client)
    # Reactivated, the officer signs in afresh: the old cookie stays dead.
    assert boss.post(f"/ui/users/{uid}/activate", data={"csrf_token": token}
                     ).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert not _signed_in(replay)
    assert _login(app.test_client()).status_code == 302


def test_parallel_wrong_passwords_check_no_more_than_the_limit(app, make_user, monkeypatch):
    make_user(OFFICER)
    import hub.ui.views as views
    checks, real_check = [], views.check_password_hash

    def counted(*args):
        checks.append(1)
        time.sleep(0.3)  # a slow check: the window in which a counter race shows
        return real_check(*args)

    monkeypatch.setattr(views, "check_password_hash", counted)
    clients = [app.test_client() for _ in range(10)]
    env = {"REMOTE_ADDR": "203.0.113.9"}
    tokens = [csrf_from(c.get("/ui/login", environ_base=env).get_data(as_text=True))
              for c in clients]
    start, statuses = threading.Barrier(10), []

    def attempt(c, token):
        start.wait()
        statuses.append(c.post("/ui/login", environ_base=env, data={
            "email": OFFICER, "password": "wrong", "csrf_token": token}).status_code)

    threads = [threading.Thread(target=attempt, args=pair)
               for pair in zip(clients, tokens, strict=False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [401] * 10
    assert len(checks) == views.MAX_FAILED_LOGINS, len(checks)


def test_a_stranger_cannot_lock_an_officer_out(app, make_user):
    make_user(OFFICER)
    stranger = app.test_client()
    for _ in range(8):
        resp = _login(stranger, password="guess", address="203.0.113.66")
        assert resp.status_code == 401
    # The stranger is locked out, even with the right password...
    locked = _login(stranger, address="203.0.113.66")
    assert locked.status_code == 401 and "dikunci" in locked.get_data(as_text=True)
    # ...the officer, signing in from the office, is not.
    officer = app.test_client()
    assert _login(officer, address="198.51.100.7").status_code == 302
    assert _signed_in(officer)
