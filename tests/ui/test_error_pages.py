"""What an officer sees when a page fails: a page of the UI in their language saying
what happened, that nothing was saved and what to do, never the API's problem+json or a
raw server error; the details go to the log."""
import pytest
from sqlalchemy.exc import OperationalError

from hub.services import needs_action
from tests.ui.conftest import login, page_csrf


@pytest.fixture
def english_officer(app, make_user):
    make_user("officer-en@slemankab.go.id", "kab-sleman")
    client = app.test_client()
    assert login(client, "officer-en@slemankab.go.id", lang="en").status_code == 302
    return client


def _html(resp) -> str:
    assert resp.mimetype == "text/html", (resp.status_code, resp.mimetype)
    return resp.get_data(as_text=True)


def test_a_form_too_large_gets_a_page_saying_how_large_it_may_be(app, officer):
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1048576
    token = page_csrf(officer)
    resp = officer.post("/ui/lang", data={"lang": "id", "csrf_token": token,
                                          "padding": "x" * (3 * 1048576)})
    assert resp.status_code == 413
    assert "terlalu besar (paling besar 2 MB)" in _html(resp)


def test_a_failure_inside_a_page_is_a_page_in_the_officers_language(
        app, officer, english_officer, monkeypatch, caplog):
    def broken(*_a, **_k):
        raise RuntimeError("a bug in a query")
    monkeypatch.setattr(needs_action, "connector_problems", broken)
    resp = officer.get("/ui/")
    assert resp.status_code == 500
    page = _html(resp)
    assert "tidak ada yang tersimpan" in page and "a bug in a query" not in page
    assert "a bug in a query" in caplog.text  # for the admin, in the log
    resp = english_officer.get("/ui/")
    assert resp.status_code == 500 and "nothing was saved" in _html(resp)


def test_a_lost_database_is_a_503_page_with_retry_after(app, officer, monkeypatch):
    def gone(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    monkeypatch.setattr(needs_action, "connector_problems", gone)
    resp = officer.get("/ui/")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
    assert "tidak dapat dihubungi" in _html(resp)
    assert officer.get("/ui/connectors").status_code == 200  # the next page works
