"""A client deactivated, deleted or given a new secret loses its tokens at once; the
`hub client` commands and the /api/v1/clients admin API do it."""
import time

import jwt
import pytest

from hub.extensions import db
from hub.models import ApiClient
from tests.helpers import Caller


def _creds(caller) -> tuple[str, str]:
    """The caller's client_id and secret (as tests/conftest.py make_caller names them)."""
    client_id = jwt.decode(caller.token, options={"verify_signature": False})["sub"]
    return client_id, "secret-" + client_id.rsplit("-", 1)[1]


def _token(client, client_id, secret):
    return client.post("/api/v1/auth/token",
                       json={"client_id": client_id, "client_secret": secret})


def test_deactivated_by_the_admin_api_its_token_is_refused_at_once(admin, sleman):
    client_id, secret = _creds(sleman)
    assert sleman.get("/reports").status_code == 200  # verified and remembered
    resp = admin.post(f"/clients/{client_id}/deactivate")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["active"] is False
    refused = sleman.get("/reports")
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"
    assert "deactivated" in refused.get_json()["detail"]
    assert _token(sleman.client, client_id, secret).status_code == 401


def test_rotated_secret_ends_the_old_secret_and_its_tokens(admin, sleman):
    client_id, secret = _creds(sleman)
    assert sleman.get("/reports").status_code == 200
    resp = admin.post(f"/clients/{client_id}/rotate-secret")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["secret_generation"] == 2 and body["agency"] == "kab-sleman"
    assert sleman.get("/reports").status_code == 401
    assert _token(sleman.client, client_id, secret).status_code == 401
    fresh = _token(sleman.client, client_id, body["client_secret"])
    assert fresh.status_code == 200
    assert Caller(sleman.client, fresh.get_json()["access_token"],
                  "kab-sleman").get("/reports").status_code == 200
    # The secret is shown once: the list never carries it.
    listed = admin.get("/clients").get_json()["items"]
    assert all("client_secret" not in c for c in listed)


def test_a_deleted_client_is_refused_within_a_second(app, sleman):
    assert sleman.get("/reports").status_code == 200
    with app.app_context():
        db.session.delete(db.session.get(ApiClient, _creds(sleman)[0]))
        db.session.commit()
    time.sleep(app.config["HUB_CLIENT_STATE_CACHE_SECONDS"] + 0.1)
    assert sleman.get("/reports").status_code == 401


def test_a_change_made_elsewhere_is_seen_within_a_second(app, sleman):
    """Another process (the CLI, another worker) changes the row: no notice reaches this
    one, which stops trusting what it read after HUB_CLIENT_STATE_CACHE_SECONDS."""
    assert sleman.get("/reports").status_code == 200
    with app.app_context():
        db.session.execute(db.update(ApiClient).where(ApiClient.id == _creds(sleman)[0])
                           .values(secret_generation=ApiClient.secret_generation + 1))
        db.session.commit()
    time.sleep(app.config["HUB_CLIENT_STATE_CACHE_SECONDS"] + 0.1)
    assert sleman.get("/reports").status_code == 401


def test_clients_api_is_for_the_national_admin_only(make_caller, admin):
    sleman_admin = make_caller("kab-sleman", "admin")
    assert sleman_admin.get("/clients").status_code == 403
    assert sleman_admin.post(f"/clients/{_creds(admin)[0]}/deactivate").status_code == 403
    reader = make_caller("*", "reports:read")
    assert reader.get("/clients").status_code == 403
    assert reader.post(f"/clients/{_creds(admin)[0]}/rotate-secret").status_code == 403
    assert admin.post("/clients/nobody/rotate-secret").status_code == 404
    ids = {c["id"] for c in admin.get("/clients").get_json()["items"]}
    assert {_creds(c)[0] for c in (admin, sleman_admin, reader)} == ids
    # Refused callers changed nothing.
    assert all(c["active"] for c in admin.get("/clients").get_json()["items"])


def test_client_cli_list_deactivate_rotate(app, runner, sleman):
    client_id = _creds(sleman)[0]
    listed = runner.invoke(args=["hub", "client", "list"])
    assert listed.exit_code == 0
    assert f"{client_id}\tkab-sleman\tactive\tgen=1" in listed.output
    rotated = runner.invoke(args=["hub", "client", "rotate", client_id])
    assert rotated.exit_code == 0, rotated.output
    secret = rotated.output.split("client_secret=")[1].strip()
    assert sleman.get("/reports").status_code == 401
    assert _token(sleman.client, client_id, secret).status_code == 200
    off = runner.invoke(args=["hub", "client", "deactivate", client_id])
    assert off.exit_code == 0, off.output
    assert _token(sleman.client, client_id, secret).status_code == 401
    assert "inactive\tgen=2" in runner.invoke(args=["hub", "client", "list"]).output
    assert runner.invoke(args=["hub", "client", "rotate", "nobody"]).exit_code != 0


@pytest.mark.parametrize("path,method", [("/api/v1/clients", "get"),
                                         ("/api/v1/clients/{client_id}/deactivate", "post"),
                                         ("/api/v1/clients/{client_id}/rotate-secret",
                                          "post")])
def test_clients_api_is_in_the_openapi(client, path, method):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "401" in operation["responses"] or "default" in operation["responses"]
