"""Fixtures for the web UI: officer accounts and a signed-in test client."""
import html as htmllib
import re

import pytest
from werkzeug.security import generate_password_hash

from hub.extensions import db
from hub.models import User

PASSWORD = "rahasia-yang-panjang-123"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def make_user(app):
    def make(email, agency="kab-sleman", role="officer", password=PASSWORD, name=None):
        with app.app_context():
            user = User(email=email, name=name or email.split("@")[0].title(),
                        agency_code=None if role == "national_admin" else agency, role=role,
                        active=True, failed_logins=0,
                        password_hash=generate_password_hash(password, method="scrypt"))
            db.session.add(user)
            db.session.commit()
            return user.id
    return make


def login(client, email, password=PASSWORD, lang=None):
    page = client.get("/ui/login")
    token = csrf_from(page.get_data(as_text=True))
    if lang:
        client.post("/ui/lang", data={"lang": lang, "csrf_token": token, "next": "/ui/login"})
    return client.post("/ui/login", data={"email": email, "password": password,
                                          "csrf_token": token})


@pytest.fixture
def officer(app, make_user):
    """A signed-in Sleman liaison officer's test client."""
    make_user("petugas@slemankab.go.id", "kab-sleman")
    client = app.test_client()
    resp = login(client, "petugas@slemankab.go.id")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


@pytest.fixture
def bantul_officer(app, make_user):
    make_user("petugas@bantulkab.go.id", "kab-bantul")
    client = app.test_client()
    assert login(client, "petugas@bantulkab.go.id").status_code == 302
    return client


def page_csrf(client, url="/ui/connectors") -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def confirm_form(html: str) -> dict:
    """The hidden fields of the mapping confirmation page's form, as its button posts
    them (repeated names as lists)."""
    assert 'id="confirm-form"' in html, "not the confirmation page"
    form = html.split('id="confirm-form"', 1)[1].split("</form>", 1)[0]
    data: dict = {}
    for name, value in _HIDDEN.findall(form):
        value = htmllib.unescape(value)
        if name in data:
            data[name] = (data[name] if isinstance(data[name], list) else [data[name]]) + [value]
        else:
            data[name] = value
    return data
