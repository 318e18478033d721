"""The generated OpenAPI document: valid, complete for the contract's endpoints, honest
about auth and errors; and the human docs page works offline."""
import re

import pytest
from openapi_spec_validator import validate

from hub.models import CHANNELS, CLASSIFICATIONS, STATUSES, VISIBILITIES

PREFIX = "/api/v1"
# Contract paths implemented so far -> methods (spec: "Endpoints").
CONTRACT = {
    "/auth/token": {"post"},
    "/categories": {"get"},
    "/agencies": {"get"},
    "/reports": {"get", "post"},
    "/reports/{report_id}": {"get"},
    "/reports/{report_id}/status": {"post"},
    "/reports/{report_id}/dispositions": {"post"},
    "/reports/{report_id}/responses": {"get", "post"},
    "/reports/{report_id}/events": {"get"},
    "/reports/{report_id}/attachments": {"post"},
    "/sources/{system}/reports/{external_id}": {"put"},
    "/sync/batches": {"post"},
    "/changes": {"get"},
}
PUBLIC = {"/auth/token", "/categories", "/agencies"}
PLACEHOLDERS = {"action": "pause"}  # path parameters restricted to a few values
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def spec(client):
    resp = client.get(f"{PREFIX}/openapi.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    return resp.get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(spec, obj):
    while "$ref" in obj:
        node = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def test_document_is_valid_openapi(spec):
    validate(spec)  # raises on any violation
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["version"] == "v1"


@pytest.mark.parametrize("path", sorted(CONTRACT))
def test_every_contract_endpoint_is_documented(spec, path):
    documented = spec["paths"].get(PREFIX + path)
    assert documented is not None, f"{path} missing; documented: {sorted(spec['paths'])}"
    assert CONTRACT[path] <= set(documented) & METHODS
    for method in CONTRACT[path]:
        op = documented[method]
        assert op.get("summary") or op.get("description"), (path, method)
        assert any(code.startswith("2") for code in op["responses"]), (path, method)


def test_bearer_auth_scheme_and_use(spec):
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert scheme.get("bearerFormat") == "JWT"
    for path, methods in CONTRACT.items():
        for method in methods:
            security = spec["paths"][PREFIX + path][method].get("security")
            if path in PUBLIC:
                assert not security, (path, method)
            else:
                assert security == [{"bearerAuth": []}], (path, method)


def test_documented_security_matches_behaviour(client, spec):
    """An operation documented with bearerAuth refuses a call without a token (401); one
    documented without it does not ask for one."""
    checked = 0
    for path, method, op in operations(spec):
        if path == PREFIX + "/auth/token":
            continue  # authenticates by its body
        url = re.sub(r"\{([^}]+)\}", lambda m: PLACEHOLDERS.get(
            m.group(1), "00000000-0000-0000-0000-000000000000"), path)
        resp = client.open(url, method=method.upper(), json={})
        if op.get("security"):
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.content_type == "application/problem+json"
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert resp.status_code != 401, (method, path)
        checked += 1
    assert checked >= 15


def test_errors_are_documented_as_problem_json(spec):
    for name in ("DEFAULT_ERROR", "UNPROCESSABLE_ENTITY"):
        response = spec["components"]["responses"][name]
        assert set(response["content"]) == {"application/problem+json"}, name
        schema = resolve(spec, response["content"]["application/problem+json"]["schema"])
        assert {"type", "title", "status", "detail", "errors"} <= set(schema["properties"])
        assert schema["properties"]["status"]["type"] == "integer"
        assert set(schema.get("required", [])) >= {"type", "title", "status"}
    for path, method, op in operations(spec):
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")) or code == "default":
                content = resolve(spec, response).get("content", {})
                assert "application/json" not in content, (path, method, code)


def test_enums_match_the_contract(spec):
    schemas = spec["components"]["schemas"]
    report_in = schemas["ReportIn"]["properties"]
    assert report_in["classification"]["enum"] == ["complaint", "aspiration",
                                                    "information_request"]
    assert set(report_in["channel"]["enum"]) == {
        "web", "sms", "android", "ios", "twitter", "facebook", "instagram", "whatsapp",
        "email", "phone", "walk_in", "letter", "local_app", "open311"}
    assert report_in["classification"]["enum"] == list(CLASSIFICATIONS)
    assert report_in["channel"]["enum"] == list(CHANNELS)
    assert set(schemas["StatusChange"]["properties"]["status"]["enum"]) == set(STATUSES) == {
        "received", "verified", "dispositioned", "in_progress", "resolved", "closed",
        "rejected"}
    assert schemas["ResponseIn"]["properties"]["visibility"]["enum"] == list(VISIBILITIES)
    assert set(VISIBILITIES) == {"public", "internal"}
    assert {"title", "body", "category", "channel"} <= set(schemas["ReportIn"]["required"])
    assert report_in["title"]["maxLength"] == 200
    assert report_in["body"]["maxLength"] == 20000
    out = schemas["ReportOut"]["properties"]
    for field in ("id", "tracking_id", "title", "body", "category", "classification",
                  "channel", "location", "occurred_at", "submitted_at", "privacy",
                  "reporter", "agency", "status", "due_at", "external_refs", "attachments",
                  "version", "created_at", "updated_at"):
        assert field in out, field
    assert out["created_at"]["format"] == "date-time"


def test_idempotency_key_documented_on_creates(spec):
    for path in ("/reports", "/reports/{report_id}/responses"):
        params = spec["paths"][PREFIX + path]["post"].get("parameters", [])
        key = [p for p in params if p["name"] == "Idempotency-Key"]
        assert key and key[0]["in"] == "header", path
        assert key[0]["schema"]["maxLength"] == 255


def test_attachment_upload_documented_as_multipart(spec):
    body = spec["paths"][PREFIX + "/reports/{report_id}/attachments"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"]["format"] == "binary"
    assert schema["required"] == ["file"]


def test_docs_page_is_self_contained(client):
    resp = client.get(f"{PREFIX}/docs", follow_redirects=True)
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    scripts = re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']([^\"']+)", html, re.I)
    styles = re.findall(r"<link[^>]*\bhref\s*=\s*[\"']([^\"']+)", html, re.I)
    assert scripts, "the docs page loads its Swagger UI bundle"
    for url in scripts + styles:
        assert not re.match(r"^(https?:)?//", url), f"external asset: {url}"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 0
    assert not re.search(r"https?://(cdn|unpkg|cdnjs|fonts\.googleapis)", html)
