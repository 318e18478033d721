"""NUL characters (U+0000) anywhere in a request are a 4xx, never a 500: walked over
every route of app.url_map, with the NUL in the path, the query, a form and a JSON body,
signed in (national admin: every route reaches its code) and anonymous. The API answers
problem+json, Open311 its own error shape and the officers' UI its error page."""
import pytest

from tests.security.test_access import BODIES, all_routes, fill, good_token
from tests.ui.conftest import login

PROBLEM = "application/problem+json"
QUERY_NAMES = ("cursor", "limit", "q", "status", "agency", "category", "since",
               "updated_since", "until", "start_date", "end_date", "service_code",
               "service_request_id", "jurisdiction_id", "api_key", "next", "lang", "field",
               "format", "x")


def _nul_strings(value):
    """`value` with a NUL in every string (and one more key holding a NUL)."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        out = {k: _nul_strings(v) for k, v in value.items()}
        out["note\x00"] = "x\x00"
        return out
    if isinstance(value, list):
        return [_nul_strings(v) for v in value]
    return value


def _nul_path_values(values: dict) -> dict:
    return {k: (v + "\x00" if isinstance(v, str) else v) for k, v in values.items()}


def _variants(app, rule, method, things):
    url = fill(app, rule, method, things)
    nul_url = fill(app, rule, method, _nul_path_values(things))
    if nul_url != url:
        yield "path", nul_url, {}
    query = "&".join(f"{name}=a%00b" for name in QUERY_NAMES) + "&k%00ey=1"
    yield "query", url + ("&" if "?" in url else "?") + query, {}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        form = {name: "a\x00b" for name in ("email", "password", "name", "body", "url",
                                            "value", "csrf_token", "client_id")}
        yield "form", url, {"data": form}
        body = BODIES.get(rule, lambda: {"name": "x", "url": "http://127.0.0.1:9/h",
                                         "body": "x"})()
        yield "json", url, {"json": _nul_strings(body)}


@pytest.fixture
def signed_in(app, client, make_user):
    make_user("admin@lapor.go.id", role="national_admin")
    assert login(client, "admin@lapor.go.id").status_code == 302
    return client


def _walk(app, client, things, headers):
    failures, count = [], 0
    for rule, method, _ in all_routes(app):
        for where, url, kw in _variants(app, rule, method, things):
            count += 1
            resp = client.open(url, method=method, headers=headers, **kw)
            if not 400 <= resp.status_code < 500:
                failures.append((method, rule, where, resp.status_code))
            # Open311 answers in its own error shape, the officers' UI with its error page.
            elif not rule.startswith(("/open311", "/ui")) and resp.content_type != PROBLEM:
                failures.append((method, rule, where, resp.content_type))
    return failures, count


def test_nul_anywhere_is_a_4xx_problem_signed_in(app, signed_in, sleman_things):
    token = good_token(app, "admin", agency="*")
    failures, count = _walk(app, signed_in, sleman_things,
                            {"Authorization": f"Bearer {token}"})
    assert count > 200
    assert not failures, failures


def test_nul_anywhere_is_a_4xx_problem_anonymous(app, sleman_things):
    failures, count = _walk(app, app.test_client(), sleman_things, {})
    assert count > 200
    assert not failures, failures


def test_nul_message_names_the_field(app, client):
    resp = client.post("/api/v1/auth/token", json={"client_id": "a\x00", "client_secret": "s"})
    assert resp.status_code == 400 and resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["errors"] == {"client_id": body["errors"]["client_id"]}
    assert "client_id" in body["detail"] and "NUL" in body["detail"]
    form = client.post("/api/v1/auth/token", data={"client_id": "x", "client_secret": "p\x00"})
    assert form.status_code == 400 and list(form.get_json()["errors"]) == ["client_secret"]
    assert client.post("/ui/login", data={"email": "x@y.id", "password": "p\x00"}
                       ).status_code == 400
    # Open311 keeps its own error shape.
    o = client.get("/open311/v2/requests.json?service_code=a%00")
    assert o.status_code == 400 and isinstance(o.get_json(), list)
    assert "service_code" in o.get_json()[0]["description"]
