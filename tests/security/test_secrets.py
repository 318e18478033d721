"""Secrets at rest and in logs: API client secrets (hashed), connector credentials and
webhook signing secrets (sealed), Open311 keys (hashed). None is stored in plain text in
any table, written to any log, or returned after creation."""
import copy
import logging
import secrets as pysecrets

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.sync import files
from simulators.sleman.testing import run_simulator
from tests.conftest import data_tables
from tests.sync.conftest import SLEMAN_FILE

pytestmark = pytest.mark.timeout(120)


def database_text(app) -> str:
    """Every row of every table as text: a plain secret anywhere shows up here."""
    with app.app_context():
        names = data_tables() + ["agencies", "categories"]
        out = [str(tuple(r)) for t in names for r in db.session.execute(
            sa.select(db.metadata.tables[t]))]
        db.session.remove()
    return "\n".join(out)


@pytest.fixture
def all_logs(caplog):
    """Every logger at DEBUG (urllib3 logs URLs, werkzeug requests, the hub its own)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_client_secret_hashed_never_logged_never_returned(app, client, runner, all_logs):
    out = runner.invoke(args=["hub", "create-client", "--name", "Uji rahasia", "--agency",
                              "kab-sleman", "--client-id", "secret-test"])
    assert out.exit_code == 0, out.output
    secret = out.output.split("client_secret=")[1].split()[0]
    assert len(secret) >= 32
    resp = client.post("/api/v1/auth/token", json={"client_id": "secret-test",
                                                   "client_secret": secret})
    assert resp.status_code == 200
    form = client.post("/api/v1/auth/token", data={"client_id": "secret-test",
                                                   "client_secret": secret,
                                                   "grant_type": "client_credentials"})
    assert form.status_code == 200
    wrong = client.post("/api/v1/auth/token", json={"client_id": "secret-test",
                                                    "client_secret": secret + "x"})
    assert wrong.status_code == 401
    for r in (resp, form, wrong):
        assert secret not in r.get_data(as_text=True)
    assert secret not in database_text(app)
    assert "secret-test" in database_text(app)  # the scan does see the client's row
    assert secret not in all_logs.text


def test_connector_credentials_sealed_never_logged_never_returned(app, runner, admin,
                                                                  all_logs):
    key = "sleman-key-" + pysecrets.token_hex(16)
    with run_simulator({"api_key": key}) as sim:
        sim.generate(30, seed=81)
        doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
        doc["connector"]["config"]["base_url"] = sim.url
        doc["connector"]["config"]["timeout_seconds"] = 3
        with app.app_context():
            conn = files.import_document(db.session, doc, secrets={"api_key": key})
            db.session.commit()
            cid = conn.id
        from hub.sync.runner import run_connector
        with app.app_context():
            run_connector(cid, "manual")  # a good run
            sim.fault("error500")
            run_connector(cid, "manual")  # a failed one, with its error text
            sim.fault("none")
            db.session.remove()
        assert sim.store.aduan  # the key did work: records were read
    runs = admin.get(f"/connectors/{cid}/runs").get_json()["items"]
    assert {r["status"] for r in runs} == {"succeeded", "failed"}
    exported = runner.invoke(args=["hub", "connector", "export", cid])
    assert exported.exit_code == 0, exported.output
    answers = [admin.get("/connectors"), admin.get(f"/connectors/{cid}/runs"),
               admin.get(f"/connectors/{cid}/held"), admin.get(f"/connectors/{cid}/mappings")]
    for r in answers:
        assert r.status_code == 200 and key not in r.get_data(as_text=True)
    assert key not in exported.output
    assert key not in database_text(app)
    assert key not in all_logs.text


def test_webhook_secret_sealed_shown_once_never_logged(app, make_caller, all_logs):
    caller = make_caller("kab-sleman", "reports:read webhooks:manage")
    app.config["HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "127.0.0.0/8"
    try:
        made = caller.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"})
        assert made.status_code == 201, made.get_json()
        sub = made.get_json()
        rotated = caller.post(f"/webhooks/{sub['id']}/rotate-secret", json={})
        assert rotated.status_code in (200, 201), rotated.get_json()
        secrets_shown = [sub["secret"], rotated.get_json()["secret"]]
        later = [caller.get(f"/webhooks/{sub['id']}"), caller.get("/webhooks")]
    finally:
        app.config.pop("HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS", None)
    dump = database_text(app)
    for secret in secrets_shown:
        assert secret.startswith("whsec_")
        bare = secret.removeprefix("whsec_")
        for r in later:
            assert r.status_code == 200 and bare not in r.get_data(as_text=True)
        assert bare not in dump
        assert bare not in all_logs.text


def test_open311_key_hashed_never_logged(app, runner, make_caller, all_logs):
    make_caller("kab-sleman")
    with app.app_context():
        from hub.models import ApiClient
        cid = db.session.execute(sa.select(ApiClient.id)).scalars().first()
        db.session.remove()
    out = runner.invoke(args=["hub", "open311-key", cid])
    assert out.exit_code == 0, out.output
    key = next(w for w in out.output.replace("=", " ").split() if w.startswith("o311_"))
    assert key not in database_text(app)
    assert key not in all_logs.text
