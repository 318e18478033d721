"""Source-system names are case-insensitive (stored in lower case) and claimed
explicitly: by a hub admin (API, CLI) or by creating a connector; writes under an
unclaimed name or another agency's are 403 problem+json saying what to do."""
from pathlib import Path

import sqlalchemy as sa

from hub.extensions import db
from hub.services import source_systems
from hub.sync import files
from tests.helpers import report_payload

PROBLEM = "application/problem+json"
SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"


def owner(app, name):
    with app.app_context():
        return source_systems.owner(db.session, name)


def refs(app):
    with app.app_context():
        return sorted(db.session.execute(sa.text(
            "SELECT system, external_id FROM report_external_refs")).all())


def claim(admin, name, agency):
    return admin.post("/source-systems", json={"name": name, "agency": agency})


def test_unclaimed_name_is_refused_and_says_how_to_claim(app, sleman):
    sleman.claims_systems = False
    resp = sleman.put("/sources/sleman-app/reports/X-1", json=report_payload())
    assert resp.status_code == 403 and resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["type"] == "/problems/unclaimed-system"
    assert "POST /api/v1/source-systems" in body["detail"] and "sleman-app" in body["detail"]
    assert owner(app, "sleman-app") is None and refs(app) == []
    batch = sleman.post("/sync/batches", json={"operations": [
        {"op": "upsert_report", "system": "sleman-app", "external_id": "X-2",
         "report": report_payload()}]})
    assert batch.status_code == 207
    item = batch.get_json()["results"][0]
    assert item["status"] == 403 and item["error"]["type"] == "/problems/unclaimed-system"
    assert owner(app, "sleman-app") is None and refs(app) == []


def test_admin_claims_a_name_for_an_agency(app, sleman, bantul, admin, make_caller):
    sleman.claims_systems = bantul.claims_systems = False
    resp = claim(admin, "Sleman-App", "kab-sleman")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["name"] == "sleman-app" and resp.get_json()["agency"] == "kab-sleman"
    assert claim(admin, "SLEMAN-APP", "kab-sleman").status_code == 200  # already its own
    taken = claim(admin, "sleman-app", "kab-bantul")
    assert taken.status_code == 409 and taken.get_json()["type"] == "/problems/system-claimed"
    # Only admins claim, and an agency's admin only for its own agency.
    assert claim(sleman, "sleman-other", "kab-sleman").status_code == 403
    bantul_admin = make_caller("kab-bantul", "admin")
    assert claim(bantul_admin, "sleman-other", "kab-sleman").status_code == 403
    assert claim(admin, "x", "no-such-agency").status_code == 422
    assert claim(admin, "has space", "kab-sleman").status_code == 422
    assert owner(app, "sleman-other") is None
    # The claiming agency writes; another agency is refused, whatever the case.
    assert sleman.put("/sources/sleman-app/reports/A-1", json=report_payload()
                      ).status_code == 201
    for name in ("sleman-app", "SLEMAN-APP"):
        resp = bantul.put(f"/sources/{name}/reports/A-1", json=report_payload())
        assert resp.status_code == 403 and resp.get_json()["type"] == "/problems/foreign-system"
    listed = sleman.get("/source-systems").get_json()["items"]
    assert [s["name"] for s in listed] == ["sleman-app"]
    assert bantul.get("/source-systems").get_json()["items"] == []


def test_names_are_one_whatever_their_case(app, sleman):
    sleman.claims_systems = False
    with app.app_context():
        source_systems.claim(db.session, "sleman-app", "kab-sleman")
        db.session.commit()
    first = sleman.put("/sources/SLEMAN-APP/reports/K-1", json=report_payload())
    assert first.status_code == 201, first.get_json()
    again = sleman.put("/sources/sleman-app/reports/K-1", json=report_payload(title="Baru"))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    batch = sleman.post("/sync/batches", json={"operations": [
        {"op": "upsert_report", "system": "Sleman-App", "external_id": "K-1",
         "report": report_payload(title="Lagi")},
        {"op": "upsert_report", "system": "SLEMAN-app", "external_id": "K-2",
         "report": report_payload()},
        {"op": "change_status", "report_ref": {"system": "SLEMAN-APP", "external_id": "K-2"},
         "status": "verified"}]}).get_json()
    assert [r["result"] for r in batch["results"]] == ["updated", "created", "updated"]
    assert batch["results"][0]["id"] == first.get_json()["id"]
    assert refs(app) == [("sleman-app", "K-1"), ("sleman-app", "K-2")]


def test_cli_claims_a_name(app, runner, sleman):
    sleman.claims_systems = False
    out = runner.invoke(args=["hub", "source-system", "claim", "Sleman-CLI",
                              "--agency", "kab-sleman"])
    assert out.exit_code == 0, out.output
    assert owner(app, "sleman-cli") == "kab-sleman"
    taken = runner.invoke(args=["hub", "source-system", "claim", "sleman-cli",
                                "--agency", "kab-bantul"])
    assert taken.exit_code != 0 and "another agency" in taken.output
    assert sleman.put("/sources/sleman-cli/reports/C-1", json=report_payload()
                      ).status_code == 201
    listing = runner.invoke(args=["hub", "source-system", "list"])
    assert "sleman-cli\tkab-sleman" in listing.output


def test_creating_a_connector_claims_its_system(app, bantul):
    bantul.claims_systems = False
    with app.app_context():
        conn = files.import_document(db.session, files.load_file(SLEMAN_FILE))
        db.session.commit()
        system = conn.system
    assert owner(app, system) == "kab-sleman"
    # Another agency's connector cannot take the name, in any case.
    doc = files.load_file(SLEMAN_FILE)
    doc["connector"].update(id="bantul-copy", agency="kab-bantul", system=system.upper())
    with app.app_context():
        try:
            files.import_document(db.session, doc)
            raise AssertionError("a connector took another agency's system")
        except files.FileError as exc:
            assert "another agency" in str(exc)
        db.session.rollback()
    resp = bantul.put(f"/sources/{system}/reports/Z-1", json=report_payload())
    assert resp.status_code == 403
