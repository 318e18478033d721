"""The read endpoints serialise reports with report_json instead of dumping report_dict
through ReportOutSchema (for speed); both must give exactly the same JSON for every kind of
report and caller, so the documented schema stays the truth."""
import json

import pytest
import sqlalchemy as sa

from hub.auth import Principal
from hub.extensions import db
from hub.models import Report
from hub.schemas.reports import ReportOutSchema
from hub.services.representations import report_dict, report_json
from tests.api.test_attachments import tiny_png, upload

CALLERS = [Principal("a", "kab-sleman", frozenset({"reports:read"})),
           Principal("b", "kab-bantul", frozenset({"reports:read"})),
           Principal("c", "*", frozenset({"reports:read"})),
           Principal("d", "*", frozenset({"admin"}))]


@pytest.fixture
def reports(app, sleman, national, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "HUB_ATTACHMENT_DIR", str(tmp_path))
    plain = sleman.create_report()
    anonymous = sleman.create_report(privacy={"anonymous": True, "confidential": True},
                                     occurred_at=None, location={"text": "Pasar Godean"})
    assert upload(sleman, plain["id"], tiny_png(), "foto.png", "image/png").status_code == 201
    synced = sleman.put("/sources/lapor-sleman/reports/A-1", json={
        "title": "Sampah menumpuk", "body": "Di pinggir jalan",
        "category": "infrastruktur.drainase",
        "channel": "instagram", "source_updated_at": "2026-11-20T10:00:00+07:00"})
    assert synced.status_code == 201, synced.get_json()
    moved = national.create_report()
    assert national.status(moved["id"], "verified").status_code == 200
    assert national.post(f"/reports/{moved['id']}/dispositions",
                         json={"to_agency": "kab-sleman"}).status_code == 200
    return [plain["id"], anonymous["id"], synced.get_json()["id"], moved["id"]]


def test_report_json_is_what_the_schema_would_dump(app, reports):
    schema = ReportOutSchema()
    with app.app_context():
        rows = db.session.execute(sa.select(Report)).scalars().all()
        assert len(rows) == len(reports)
        for report in rows:
            for principal in CALLERS:
                expected = json.loads(app.json.dumps(schema.dump(report_dict(report, principal))))
                got = json.loads(app.json.dumps(report_json(report, principal)))
                assert got == expected, (report.id, principal)


def test_read_endpoints_answer_the_documented_shape(sleman, reports):
    # Spot check over HTTP: timestamps in UTC with Z, ids as strings, attachments listed.
    one = sleman.get(f"/reports/{reports[0]}")
    assert one.status_code == 200 and one.headers["ETag"] == '"v2"'
    body = one.get_json()
    assert body["submitted_at"].endswith("Z") and body["attachments"][0]["filename"] == "foto.png"
    listed = sleman.get("/reports?limit=2")
    assert listed.status_code == 200
    page = listed.get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert all(item["updated_at"].endswith("Z") for item in page["items"])
