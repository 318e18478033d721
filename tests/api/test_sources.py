"""PUT /sources/{system}/reports/{external_id}: upsert by a source system's own id."""
import uuid

import pytest

from hub.extensions import db
from hub.models import Report
from tests.helpers import report_payload

PROBLEM = "application/problem+json"
RESULT = "Hub-Upsert-Result"
SYSTEM = "sleman-lapor"


def put(caller, payload, system=SYSTEM, external_id="SLM-1", headers=None):
    return caller.put(f"/sources/{system}/reports/{external_id}", json=payload,
                      headers=headers)


def source_payload(at="2026-11-21T10:00:00+07:00", **overrides):
    return report_payload(source_updated_at=at, **overrides)


def timeline(caller, report_id):
    return caller.get(f"/reports/{report_id}/events").get_json()["items"]


def all_reports(caller):
    return caller.get("/reports", query_string={"limit": 1000}).get_json()["items"]


def test_create(sleman):
    payload = source_payload()
    resp = put(sleman, payload)
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers[RESULT] == "created"
    assert resp.headers["ETag"] == '"v1"'
    body = resp.get_json()
    assert body["status"] == "received" and body["version"] == 1
    assert body["agency"] == "kab-sleman"
    assert body["title"] == payload["title"]
    assert body["external_refs"] == [{"system": SYSTEM, "external_id": "SLM-1"}]
    got = sleman.get(f"/reports/{body['id']}").get_json()
    assert got["external_refs"] == [{"system": SYSTEM, "external_id": "SLM-1"}]
    assert [r["id"] for r in all_reports(sleman)] == [body["id"]]
    created = timeline(sleman, body["id"])
    assert [e["type"] for e in created] == ["report.created"]
    assert created[0]["source_system"] == SYSTEM


def test_external_id_with_slashes_and_same_id_in_two_systems(sleman):
    a = put(sleman, source_payload(), external_id="2026/11/0042")
    assert a.status_code == 201, a.get_json()
    assert a.get_json()["external_refs"] == [{"system": SYSTEM,
                                              "external_id": "2026/11/0042"}]
    b = put(sleman, source_payload(), system="sleman-email", external_id="2026/11/0042")
    assert b.status_code == 201, b.get_json()
    assert a.get_json()["id"] != b.get_json()["id"]
    again = put(sleman, source_payload(title="Berubah", at="2026-11-22T10:00:00+07:00"),
                external_id="2026/11/0042")
    assert again.headers[RESULT] == "updated"
    assert again.get_json()["id"] == a.get_json()["id"]


def test_replay_is_unchanged(sleman):
    payload = source_payload()
    first = put(sleman, payload).get_json()
    events = timeline(sleman, first["id"])
    for _ in range(2):
        resp = put(sleman, payload)
        assert resp.status_code == 200, resp.get_json()
        assert resp.headers[RESULT] == "unchanged"
        assert resp.headers["ETag"] == '"v1"'
        assert resp.get_json()["version"] == 1
        assert resp.get_json()["id"] == first["id"]
    assert timeline(sleman, first["id"]) == events
    assert len(all_reports(sleman)) == 1
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["version"] == 1 and got["updated_at"] == first["updated_at"]


def test_newer_copy_updates(sleman):
    payload = source_payload()
    first = put(sleman, payload).get_json()
    newer = dict(payload, title="Jalan berlubang makin lebar",
                 source_updated_at="2026-11-21T12:00:00+07:00")
    resp = put(sleman, newer)
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers[RESULT] == "updated"
    assert resp.headers["ETag"] == '"v2"'
    body = resp.get_json()
    assert body["version"] == 2 and body["title"] == "Jalan berlubang makin lebar"
    assert body["id"] == first["id"]
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["title"] == "Jalan berlubang makin lebar" and got["version"] == 2
    last = timeline(sleman, first["id"])[-1]
    assert last["type"] == "report.updated"
    assert last["data"]["changes"]["title"] == {"from": payload["title"],
                                                "to": "Jalan berlubang makin lebar"}
    assert last["source_system"] == SYSTEM
    # Replaying the newer copy is now unchanged.
    again = put(sleman, newer)
    assert again.headers[RESULT] == "unchanged" and again.get_json()["version"] == 2


def test_newer_timestamp_without_changes_is_unchanged(sleman):
    payload = source_payload()
    first = put(sleman, payload).get_json()
    resp = put(sleman, dict(payload, source_updated_at="2026-11-22T10:00:00+07:00"))
    assert resp.status_code == 200
    assert resp.headers[RESULT] == "unchanged"
    assert resp.get_json()["version"] == 1
    assert len(timeline(sleman, first["id"])) == 1


def test_older_copy_is_stale(sleman):
    payload = source_payload(at="2026-11-21T12:00:00+07:00")
    first = put(sleman, payload).get_json()
    older = dict(payload, title="Judul lama", body="Isi lama",
                 source_updated_at="2026-11-21T11:59:59+07:00")
    resp = put(sleman, older)
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers[RESULT] == "stale"
    assert resp.get_json()["version"] == 1
    assert resp.get_json()["title"] == payload["title"]
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["title"] == payload["title"] and got["body"] == payload["body"]
    assert got["version"] == 1
    assert len(timeline(sleman, first["id"])) == 1
    # The same instant in another offset is not older.
    same_instant = dict(payload, title="Judul baru",
                        source_updated_at="2026-11-21T05:00:00Z")
    resp = put(sleman, same_instant)
    assert resp.headers[RESULT] == "updated"
    # An older copy arriving after a newer one (out of order) never overwrites it.
    resp = put(sleman, older)
    assert resp.headers[RESULT] == "stale"
    assert sleman.get(f"/reports/{first['id']}").get_json()["title"] == "Judul baru"


def test_new_report_arrives_in_its_source_status_with_one_event(app, sleman):
    resp = put(sleman, source_payload(status="resolved"))
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers[RESULT] == "created"
    body = resp.get_json()
    assert body["status"] == "resolved"
    assert body["version"] == 1
    assert resp.headers["ETag"] == '"v1"'
    # The steps before "resolved" happened in the source, not here: the timeline says the
    # report arrived resolved (one event), and the milestones on the way are set.
    items = timeline(sleman, body["id"])
    assert [e["type"] for e in items] == ["report.created"]
    assert items[0]["data"]["status"] == "resolved"
    assert items[0]["source_system"] == SYSTEM
    with app.app_context():
        report = db.session.get(Report, uuid.UUID(body["id"]))
        assert report.dispositioned_at == report.created_at
        assert report.resolved_at == report.created_at
        assert report.first_response_at is None


def test_status_update_walks_and_unreachable_status_is_409(sleman):
    base = source_payload(status="verified")
    first = put(sleman, base).get_json()
    assert first["status"] == "verified"
    resp = put(sleman, dict(base, status="in_progress",
                            source_updated_at="2026-11-22T10:00:00+07:00"))
    assert resp.headers[RESULT] == "updated", resp.get_json()
    assert resp.get_json()["status"] == "in_progress"
    assert resp.get_json()["version"] == 3  # created at 1, then two steps walked
    # `rejected` is not reachable from in_progress: 409, and the title change in the same
    # payload is not applied either.
    resp = put(sleman, dict(base, status="rejected", title="Ditolak",
                            source_updated_at="2026-11-23T10:00:00+07:00"))
    assert resp.status_code == 409, resp.get_json()
    assert resp.content_type == PROBLEM
    assert resp.get_json()["allowed"] == ["resolved"]
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["status"] == "in_progress" and got["version"] == 3
    assert got["title"] != "Ditolak"
    assert [e["type"] for e in timeline(sleman, first["id"])] == \
        ["report.created"] + ["report.status_changed"] * 2


def test_system_owned_by_another_agency_is_403(sleman, bantul):
    first = put(sleman, source_payload()).get_json()
    for external_id in ("SLM-1", "SLM-NEW"):
        resp = put(bantul, source_payload(title="Dibajak", at="2026-12-01T00:00:00Z"),
                   external_id=external_id)
        assert resp.status_code == 403, resp.get_json()
        assert resp.content_type == PROBLEM
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["title"] != "Dibajak" and got["version"] == 1
    assert all_reports(bantul) == []
    assert len(all_reports(sleman)) == 1
    # Bantul names its own system and works normally; Sleman cannot write into it.
    assert put(bantul, source_payload(), system="bantul-app").status_code == 201
    assert put(sleman, source_payload(), system="bantul-app",
               external_id="X").status_code == 403


def test_system_claim_is_not_taken_by_a_write(sleman, bantul):
    # Writing under an unclaimed name does not register the system to the writer's
    # agency (names are claimed explicitly: tests/api/test_source_systems.py).
    bantul.claims_systems = False
    assert put(bantul, source_payload(), system="shared-new-system").status_code == 403
    assert put(sleman, source_payload(), system="shared-new-system").status_code == 201


def test_if_match(sleman):
    first = put(sleman, source_payload()).get_json()
    newer = source_payload(title="Judul baru", at="2026-11-22T10:00:00+07:00")
    resp = put(sleman, newer, headers={"If-Match": '"v7"'})
    assert resp.status_code == 412, resp.get_json()
    assert resp.content_type == PROBLEM
    got = sleman.get(f"/reports/{first['id']}").get_json()
    assert got["version"] == 1 and got["title"] == first["title"]
    resp = put(sleman, newer, headers={"If-Match": '"v1"'})
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers[RESULT] == "updated"
    assert resp.headers["ETag"] == '"v2"'
    # Now "v1" is stale.
    resp = put(sleman, source_payload(title="Lagi", at="2026-11-23T10:00:00+07:00"),
               headers={"If-Match": '"v1"'})
    assert resp.status_code == 412
    assert sleman.get(f"/reports/{first['id']}").get_json()["title"] == "Judul baru"


def test_if_match_on_new_record_is_412(sleman):
    resp = put(sleman, source_payload(), external_id="NEW-1", headers={"If-Match": '"v1"'})
    assert resp.status_code == 412, resp.get_json()
    assert resp.content_type == PROBLEM
    assert all_reports(sleman) == []
    # Nothing was created: the same PUT without If-Match creates it now.
    resp = put(sleman, source_payload(), external_id="NEW-1")
    assert resp.status_code == 201 and resp.headers[RESULT] == "created"


@pytest.mark.parametrize("system", ["bad$system", "-leading-dash", ".hidden", "a" * 65,
                                    "spaced%20name"])
def test_invalid_system_name(sleman, system):
    resp = put(sleman, source_payload(), system=system)
    assert 400 <= resp.status_code < 500, resp.get_json()
    assert resp.content_type == PROBLEM
    assert all_reports(sleman) == []


def test_invalid_external_id(sleman):
    resp = put(sleman, source_payload(), external_id="x" * 201)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == PROBLEM
    assert all_reports(sleman) == []


@pytest.mark.parametrize("override,status,field", [
    ({"source_updated_at": "2026-11-21T10:00:00"}, 400, "source_updated_at"),
    ({"occurred_at": "2026-11-20T08:00:00"}, 400, "occurred_at"),
    ({"status": "open"}, 422, "status"),
    ({"title": ""}, 422, "title"),
    ({"category": "tidak-ada"}, 422, "category"),
])
def test_invalid_payload(sleman, override, status, field):
    resp = put(sleman, dict(source_payload(), **override))
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == PROBLEM
    assert field in resp.get_json()["errors"]
    assert all_reports(sleman) == []


def test_non_object_body_is_rejected(sleman):
    resp = sleman.put(f"/sources/{SYSTEM}/reports/A", data="[1, 2]",
                      content_type="application/json")
    assert resp.status_code in (400, 422)
    assert resp.content_type == PROBLEM


def test_agency_cannot_change_through_upsert(sleman):
    first = put(sleman, source_payload()).get_json()
    resp = put(sleman, source_payload(agency="kab-bantul", at="2026-11-22T00:00:00Z"))
    assert resp.status_code == 422, resp.get_json()
    assert sleman.get(f"/reports/{first['id']}").get_json()["agency"] == "kab-sleman"


def test_forwarded_report_cannot_be_updated_by_old_agency(sleman, bantul):
    base = source_payload(status="verified")
    first = put(sleman, base).get_json()
    assert sleman.post(f"/reports/{first['id']}/dispositions",
                       json={"to_agency": "kab-bantul"}).status_code == 200
    resp = put(sleman, source_payload(title="Diubah", at="2026-11-22T00:00:00Z"))
    assert resp.status_code == 403, resp.get_json()
    assert bantul.get(f"/reports/{first['id']}").get_json()["title"] != "Diubah"
    # A pure replay of the first payload is answered (unchanged), not refused.
    replay = put(sleman, base)
    assert replay.status_code == 200 and replay.headers[RESULT] == "unchanged"


def test_national_client_may_write_any_system(sleman, national):
    first = put(sleman, source_payload()).get_json()
    resp = put(national, source_payload(title="Dikoreksi pusat",
                                        at="2026-11-22T00:00:00Z"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers[RESULT] == "updated"
    assert sleman.get(f"/reports/{first['id']}").get_json()["title"] == "Dikoreksi pusat"


def test_external_refs_listed_on_report_and_in_list(sleman):
    one = put(sleman, source_payload(), external_id="A-1").get_json()
    plain = sleman.create_report()
    by_id = {r["id"]: r for r in all_reports(sleman)}
    assert by_id[one["id"]]["external_refs"] == [{"system": SYSTEM, "external_id": "A-1"}]
    assert by_id[plain["id"]]["external_refs"] == []


def test_the_fingerprint_ignores_key_order_and_sees_any_change():
    from hub.services.reports import payload_fingerprint
    one = {"title": "Jalan rusak", "location": {"text": "Tugu", "lat": -7.5},
           "reporter": {"name": "Siti Aminah"}, "tags": [1, 2.5, None]}
    reordered = {"tags": [1, 2.5, None], "reporter": {"name": "Siti Aminah"},
                 "location": {"lat": -7.5, "text": "Tugu"}, "title": "Jalan rusak"}
    assert payload_fingerprint(one) == payload_fingerprint(reordered)
    assert payload_fingerprint(one) != payload_fingerprint({**one, "title": "Jalan rusak!"})
    assert payload_fingerprint(one) != payload_fingerprint(
        {**one, "location": {"text": "Tugu", "lat": -7.6}})
    # What orjson cannot write still gets a stable fingerprint.
    huge = {"n": 2 ** 70}
    assert payload_fingerprint(huge) == payload_fingerprint({"n": 2 ** 70})
    assert payload_fingerprint(huge) != payload_fingerprint({"n": 2 ** 70 + 1})
