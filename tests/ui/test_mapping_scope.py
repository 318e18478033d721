"""PUT /connectors/{id}/mappings refuses unit targets outside the caller's scope, by the
same rule (hub.services.mapping_rules) the mapping UI applies."""
from pathlib import Path

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Mapping
from hub.services import mapping_rules
from hub.sync import files
from tests.ui.conftest import login, page_csrf

SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"


def _connector(app) -> str:
    doc = files.load_file(SLEMAN_FILE)
    doc["connector"]["config"]["base_url"] = "http://127.0.0.1:9"
    with app.app_context():
        conn = files.import_document(db.session, doc)
        db.session.commit()
        return conn.id


def _unit_target(app, cid, local):
    with app.app_context():
        return db.session.execute(sa.select(Mapping.hub_value).where(
            Mapping.connector_id == cid, Mapping.field == "unit",
            Mapping.local_value == local)).scalar()


def test_unit_outside_scope_is_refused(app, make_caller):
    cid = _connector(app)
    officer = make_caller("kab-sleman", "reports:read mappings:write")
    resp = officer.put(f"/connectors/{cid}/mappings",
                       json={"mappings": {"unit": {"LUAR": "kab-bantul"}}})
    assert resp.status_code == 403, resp.get_json()
    body = resp.get_json()
    assert body["type"] == "/problems/out-of-scope"
    assert list(body["errors"]) == ["mappings.unit.LUAR"]
    assert _unit_target(app, cid, "LUAR") is None
    # A unit below the caller's agency is in scope.
    ok = officer.put(f"/connectors/{cid}/mappings",
                     json={"mappings": {"unit": {"DLH2": "kab-sleman.dlh"}}})
    assert ok.status_code == 200, ok.get_json()
    assert _unit_target(app, cid, "DLH2") == "kab-sleman.dlh"
    # A national client covers every agency.
    national = make_caller("*", "reports:read mappings:write")
    assert national.put(f"/connectors/{cid}/mappings",
                        json={"mappings": {"unit": {"LUAR": "kab-bantul"}}}).status_code == 200


def test_api_and_ui_apply_one_rule(app, make_caller, make_user, monkeypatch):
    cid = _connector(app)
    calls = []
    rule = mapping_rules.check_targets

    def recording(session, principal, tables):
        calls.append((principal.agency, tables))
        return rule(session, principal, tables)
    monkeypatch.setattr(mapping_rules, "check_targets", recording)
    officer = make_caller("kab-sleman", "reports:read mappings:write")
    assert officer.put(f"/connectors/{cid}/mappings", json={
        "mappings": {"unit": {"A": "kab-bantul"}}}).status_code == 403
    make_user("petugas@slemankab.go.id", "kab-sleman")
    ui = app.test_client()
    assert login(ui, "petugas@slemankab.go.id").status_code == 302
    resp = ui.post(f"/ui/connectors/{cid}/mappings/accept", data={
        "csrf_token": page_csrf(ui), "accept": "0", "field-0": "unit", "value-0": "B",
        "target-0": "kab-bantul"}, follow_redirects=True)
    assert resp.status_code == 200
    assert calls == [("kab-sleman", {"unit": {"A": "kab-bantul"}}),
                     ("kab-sleman", {"unit": {"B": "kab-bantul"}})]
    assert _unit_target(app, cid, "A") is None and _unit_target(app, cid, "B") is None
