"""GET /reports/{id}/events: the audit timeline of everything that happened to a report,
with who, from which agency and system; personal data never enters it."""
import io
import json

import jwt
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import ReportEvent
from tests.helpers import report_payload

PROBLEM = "application/problem+json"
NAME, PHONE, EMAIL = "Siti Rahayu Wulandari", "081299887766", "siti.w@example.id"
NEW_NAME, NEW_PHONE, NEW_EMAIL = "Siti R. Wulandari-Prasetyo", "+62 812 1111 2222", \
    "siti.baru@example.id"
PERSONAL = (NAME, PHONE, EMAIL, NEW_NAME, NEW_PHONE, NEW_EMAIL)


def client_id(caller) -> str:
    return jwt.decode(caller.token, options={"verify_signature": False})["sub"]


def timeline(caller, report_id, **query):
    resp = caller.get(f"/reports/{report_id}/events", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def all_events(caller, report_id):
    return timeline(caller, report_id, limit=1000)["items"]


def stored_event_data(app, report_id) -> str:
    """Every stored event row of the report, as text (what a DB dump would show)."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(ReportEvent).where(ReportEvent.report_id == report_id)
            .order_by(ReportEvent.seq)).scalars().all()
        text = json.dumps([{c.name: getattr(r, c.name) for c in ReportEvent.__table__.columns}
                           for r in rows], default=str, ensure_ascii=False)
        db.session.remove()
    return text


def test_full_timeline_with_actor_agency_system_and_versions(sleman, bantul):
    src = {"X-Source-System": "sleman-lapor-app"}
    created = sleman.post("/reports", json=report_payload(), headers=src)
    assert created.status_code == 201
    rid = created.get_json()["id"]
    assert sleman.post(f"/reports/{rid}/status", json={"status": "verified", "note": "valid"},
                       headers=src).status_code == 200
    assert sleman.post(f"/reports/{rid}/dispositions",
                       json={"to_agency": "kab-sleman", "note": "ke DPUPKP"}).status_code == 200
    internal = sleman.post(f"/reports/{rid}/responses",
                           json={"body": "Koordinasi.", "visibility": "internal"},
                           headers={"X-Source-System": "sleman-crm"}).get_json()
    public = sleman.post(f"/reports/{rid}/responses", json={"body": "Ditinjau."},
                         headers=src).get_json()
    att = sleman.post(f"/reports/{rid}/attachments",
                      data={"file": (io.BytesIO(b"bukti perbaikan"), "bukti.txt")},
                      content_type="multipart/form-data", headers=src).get_json()
    assert sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-bantul",
                                                               "note": "bukan wewenang"},
                       headers=src).status_code == 200
    assert bantul.post(f"/reports/{rid}/status", json={"status": "in_progress"},
                       headers={"X-Source-System": "bantul-crm"}).status_code == 200
    assert bantul.status(rid, "resolved").status_code == 200

    items = all_events(sleman, rid)
    assert [e["type"] for e in items] == [
        "report.created", "report.status_changed", "report.dispositioned",
        "response.created", "response.created", "report.status_changed",
        "attachment.added", "report.dispositioned", "report.status_changed",
        "report.status_changed"]
    s, b = client_id(sleman), client_id(bantul)
    assert [e["actor"] for e in items] == [s] * 8 + [b] * 2
    assert [e["actor_agency"] for e in items] == ["kab-sleman"] * 8 + ["kab-bantul"] * 2
    assert [e["source_system"] for e in items] == [
        "sleman-lapor-app", "sleman-lapor-app", None, "sleman-crm", "sleman-lapor-app",
        "sleman-lapor-app", "sleman-lapor-app", "sleman-lapor-app", "bantul-crm", None]
    # Every event is one change: the version climbs by exactly one each time and ends at
    # the report's version.
    versions = [e["report_version"] for e in items]
    assert versions == list(range(1, len(items) + 1))
    assert sleman.get(f"/reports/{rid}").get_json()["version"] == versions[-1]
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    times = [e["occurred_at"] for e in items]
    assert all(t.endswith("Z") for t in times) and times == sorted(times)

    assert items[0]["data"] == {"status": "received", "agency": "kab-sleman"}
    assert items[1]["data"] == {"from": "received", "to": "verified", "note": "valid"}
    assert items[2]["data"]["to_agency"] == "kab-sleman"
    assert items[2]["data"]["note"] == "ke DPUPKP"
    assert items[3]["data"] == {"response_id": internal["id"], "visibility": "internal"}
    assert items[4]["data"] == {"response_id": public["id"], "visibility": "public"}
    assert items[5]["data"]["from"] == "dispositioned"
    assert items[5]["data"]["to"] == "in_progress"
    assert items[6]["data"] == {"attachment_id": att["id"], "filename": "bukti.txt"}
    assert items[7]["data"] == {"from_agency": "kab-sleman", "to_agency": "kab-bantul",
                                "from_status": "in_progress", "note": "bukan wewenang"}
    # Both agencies read the same timeline.
    assert all_events(bantul, rid) == items
    assert set(items[0]) == {"seq", "type", "occurred_at", "actor", "actor_agency",
                             "source_system", "report_version", "data"}


def test_refused_writes_leave_no_event(sleman, bantul):
    report = sleman.create_report()
    rid = report["id"]
    before = all_events(sleman, rid)
    assert sleman.status(rid, "closed").status_code == 409
    assert sleman.post(f"/reports/{rid}/dispositions",
                       json={"to_agency": "kab-nowhere"}).status_code in (409, 422)
    assert sleman.post(f"/reports/{rid}/responses", json={"body": ""}).status_code == 422
    assert sleman.post(f"/reports/{rid}/attachments",
                       data={"file": (io.BytesIO(b"MZ\x90\x00\x03\x00"), "x.exe")},
                       content_type="multipart/form-data").status_code == 415
    assert sleman.post(f"/reports/{rid}/status", json={"status": "verified"},
                       headers={"If-Match": '"v9"'}).status_code == 412
    assert bantul.status(rid, "verified").status_code == 404
    assert all_events(sleman, rid) == before


def test_source_upsert_events_name_the_path_system(sleman):
    resp = sleman.put("/sources/sleman-lapor-app/reports/L-1",
                      json=report_payload(status="verified"),
                      headers={"X-Source-System": "something-else"})
    assert resp.status_code == 201, resp.get_json()
    items = all_events(sleman, resp.get_json()["id"])
    assert [e["type"] for e in items] == ["report.created"]
    assert items[0]["data"]["status"] == "verified"
    assert {e["source_system"] for e in items} == {"sleman-lapor-app"}


@pytest.mark.parametrize("value", ["x" * 65, "has space", "-leading-dash", "sleman/app",
                                   "sistem-é"])
def test_invalid_source_system_header_is_refused(app, sleman, value):
    report = sleman.create_report()
    header = {"X-Source-System": value}
    for resp in (sleman.post("/reports", json=report_payload(), headers=header),
                 sleman.post(f"/reports/{report['id']}/status", json={"status": "verified"},
                             headers=header),
                 sleman.post(f"/reports/{report['id']}/responses", json={"body": "x"},
                             headers=header)):
        assert resp.status_code == 422, resp.get_data(as_text=True)
        assert resp.content_type == PROBLEM
        assert "X-Source-System" in resp.get_json()["errors"]
    assert len(all_events(sleman, report["id"])) == 1
    assert sleman.get("/reports").get_json()["items"][0]["id"] == report["id"]
    assert len(sleman.get("/reports").get_json()["items"]) == 1


def test_longest_valid_source_system_header(sleman):
    system = "s" * 64
    resp = sleman.post("/reports", json=report_payload(), headers={"X-Source-System": system})
    assert resp.status_code == 201, resp.get_json()
    assert all_events(sleman, resp.get_json()["id"])[0]["source_system"] == system
    # An empty header is no header.
    resp = sleman.post("/reports", json=report_payload(), headers={"X-Source-System": ""})
    assert resp.status_code == 201
    assert all_events(sleman, resp.get_json()["id"])[0]["source_system"] is None


def test_personal_data_never_in_events(app, sleman, admin):
    payload = report_payload(reporter={"name": NAME, "phone": PHONE, "email": EMAIL},
                             source_updated_at="2026-11-20T08:00:00+07:00")
    resp = sleman.put("/sources/sleman-lapor-app/reports/P-1", json=payload)
    assert resp.status_code == 201, resp.get_json()
    rid = resp.get_json()["id"]
    # The reporter corrects their details (and the title) in the local system.
    changed = {**payload, "title": "Jalan berlubang (diperbarui)",
               "reporter": {"name": NEW_NAME, "phone": NEW_PHONE, "email": NEW_EMAIL},
               "source_updated_at": "2026-11-21T08:00:00+07:00"}
    resp = sleman.put("/sources/sleman-lapor-app/reports/P-1", json=changed)
    assert resp.status_code == 200 and resp.headers["Hub-Upsert-Result"] == "updated"
    # Only the phone changes next; the event still says nothing about the value.
    only_phone = {**changed, "reporter": {**changed["reporter"], "phone": "0274 555 000"},
                  "source_updated_at": "2026-11-22T08:00:00+07:00"}
    resp = sleman.put("/sources/sleman-lapor-app/reports/P-1", json=only_phone)
    assert resp.headers["Hub-Upsert-Result"] == "updated"
    # The report itself carries the new details for the responsible agency.
    assert sleman.get(f"/reports/{rid}").get_json()["reporter"]["name"] == NEW_NAME

    for caller in (sleman, admin):  # not even the admin scope sees them in the timeline
        items = all_events(caller, rid)
        text = json.dumps(items, ensure_ascii=False)
        for secret in PERSONAL + ("0274 555 000",):
            assert secret not in text, secret
    updates = [e for e in items if e["type"] == "report.updated"]
    assert len(updates) == 2
    first = updates[0]["data"]["changes"]
    # The fact of a change is kept, the value is not.
    assert {"reporter_name", "reporter_phone", "reporter_email"} <= set(first)
    assert first["reporter_name"] is None and first["reporter_phone"] is None
    assert first["reporter_email"] is None
    assert first["title"] == {"from": payload["title"], "to": "Jalan berlubang (diperbarui)"}
    assert updates[1]["data"]["changes"] == {"reporter_phone": None}
    # Nor in the stored rows.
    stored = stored_event_data(app, rid)
    for secret in PERSONAL + ("0274 555 000",):
        assert secret not in stored, secret


def test_personal_data_not_in_created_or_other_events(app, sleman):
    report = sleman.create_report(reporter={"name": NAME, "phone": PHONE, "email": EMAIL},
                                  privacy={"anonymous": True, "confidential": True})
    rid = report["id"]
    sleman.status(rid, "verified")
    sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-sleman"})
    sleman.post(f"/reports/{rid}/responses", json={"body": "Terima kasih."})
    stored = stored_event_data(app, rid)
    assert len(all_events(sleman, rid)) == 5
    for secret in (NAME, PHONE, EMAIL):
        assert secret not in stored


def test_pagination(sleman):
    report = sleman.create_report()
    rid = report["id"]
    for step in ("verified", "rejected"):
        assert sleman.status(rid, step).status_code == 200
    for i in range(4):
        assert sleman.post(f"/reports/{rid}/attachments",
                           data={"file": (io.BytesIO(f"catatan {i}".encode()), f"{i}.txt")},
                           content_type="multipart/form-data").status_code == 201
    full = all_events(sleman, rid)
    assert len(full) == 7
    for limit in (1, 2, 3, 7, 100):
        seen, cursor, pages = [], None, 0
        while True:
            page = timeline(sleman, rid, limit=limit, **({"cursor": cursor} if cursor else {}))
            pages += 1
            assert len(page["items"]) <= limit
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == full, limit
        assert pages == -(-7 // limit) if limit < 7 else pages == 1
    # Events are per report: another report's timeline is not mixed in.
    other = sleman.create_report()
    assert [e["type"] for e in all_events(sleman, other["id"])] == ["report.created"]
    assert all_events(sleman, rid) == full
    # The default limit returns everything here.
    assert timeline(sleman, rid)["items"] == full


@pytest.mark.parametrize("query,status", [
    ({"limit": 0}, 422), ({"limit": 1001}, 422), ({"limit": "many"}, 422),
    ({"cursor": "bogus!"}, 400), ({"cursor": "WyJ4Il0"}, 400),  # ["x"]
    ({"cursor": "W3RydWVd"}, 400),  # [true]
    ({"cursor": "WzEsMl0"}, 400),  # [1, 2]
])
def test_bad_paging_parameters(sleman, query, status):
    report = sleman.create_report()
    resp = sleman.get(f"/reports/{report['id']}/events", query_string=query)
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == PROBLEM


def test_other_tenant_gets_404(sleman, bantul, make_caller):
    report = sleman.create_report()
    for caller in (bantul, make_caller("kemenpanrb")):
        for ident in (report["id"], report["tracking_id"]):
            resp = caller.get(f"/reports/{ident}/events")
            assert resp.status_code == 404 and resp.content_type == PROBLEM
    assert sleman.client.get(f"/api/v1/reports/{report['id']}/events").status_code == 401
    assert sleman.get("/reports/00000000-0000-0000-0000-000000000000/events").status_code == 404
