"""Creating, reading and listing reports; tenant isolation and privacy."""
import pytest

from hub.services.tracking import is_valid
from tests.helpers import report_payload


def test_create_and_get(sleman):
    created = sleman.create_report()
    assert created["status"] == "received"
    assert created["agency"] == "kab-sleman"
    assert created["version"] == 1
    assert is_valid(created["tracking_id"])
    assert created["submitted_at"].endswith("Z")
    assert created["occurred_at"] == "2026-11-20T01:00:00Z"  # +07:00 stored as UTC
    assert created["due_at"] is not None
    by_id = sleman.get(f"/reports/{created['id']}")
    assert by_id.status_code == 200
    assert by_id.headers["ETag"] == '"v1"'
    by_tracking = sleman.get(f"/reports/{created['tracking_id']}")
    assert by_tracking.get_json()["id"] == created["id"]
    assert by_id.get_json()["reporter"]["phone"] == "081234567890"


def test_unknown_report_is_404_problem(sleman):
    for ident in ("00000000-0000-0000-0000-000000000000", "12345678", "not-an-id"):
        resp = sleman.get(f"/reports/{ident}")
        assert resp.status_code == 404
        assert resp.content_type == "application/problem+json"


def test_tenant_isolation_both_ways(sleman, bantul):
    mine = sleman.create_report()
    theirs = bantul.create_report()
    assert bantul.get(f"/reports/{mine['id']}").status_code == 404
    assert sleman.get(f"/reports/{theirs['id']}").status_code == 404
    assert sleman.get(f"/reports/{theirs['tracking_id']}").status_code == 404
    assert sleman.status(theirs["id"], "verified").status_code == 404
    ids = {r["id"] for r in sleman.get("/reports").get_json()["items"]}
    assert ids == {mine["id"]}
    ids = {r["id"] for r in bantul.get("/reports").get_json()["items"]}
    assert ids == {theirs["id"]}


def test_agency_client_cannot_create_for_another_agency(sleman):
    resp = sleman.post("/reports", json=report_payload(agency="kab-bantul"))
    assert resp.status_code == 422
    assert "agency" in resp.get_json()["errors"]


def test_anonymous_identity_hidden_from_agencies(sleman, national, admin):
    created = sleman.create_report(privacy={"anonymous": True, "confidential": False})
    assert created["reporter"] is None
    assert sleman.get(f"/reports/{created['id']}").get_json()["reporter"] is None
    assert national.get(f"/reports/{created['id']}").get_json()["reporter"] is None
    seen_by_admin = admin.get(f"/reports/{created['id']}").get_json()["reporter"]
    assert seen_by_admin["name"] == "Siti Rahayu"
    for item in sleman.get("/reports").get_json()["items"]:
        assert item["reporter"] is None
    feed = sleman.get("/changes").get_json()["items"]
    assert feed and all(i["report"]["reporter"] is None for i in feed)
    assert "Siti" not in sleman.get(f"/reports/{created['id']}/events").get_data(as_text=True)


def test_contact_data_only_for_responsible_agency(sleman, bantul, national):
    created = sleman.create_report()
    assert sleman.status(created["id"], "verified").status_code == 200
    resp = sleman.post(f"/reports/{created['id']}/dispositions",
                       json={"to_agency": "kab-bantul"})
    assert resp.status_code == 200, resp.get_json()
    # Sleman was responsible before: it still sees the report, but only the name.
    assert sleman.get(f"/reports/{created['id']}").get_json()["reporter"] == {
        "name": "Siti Rahayu"}
    assert bantul.get(f"/reports/{created['id']}").get_json()["reporter"]["email"] == \
        "siti@example.id"
    assert national.get(f"/reports/{created['id']}").get_json()["reporter"] == {
        "name": "Siti Rahayu"}


def test_list_filters_and_keyset_pages(sleman):
    made = [sleman.create_report(channel="sms" if i % 2 else "web") for i in range(7)]
    seen, cursor = [], None
    while True:
        query = "/reports?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = sleman.get(query).get_json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [r["id"] for r in made]
    sms = sleman.get("/reports?channel=sms").get_json()["items"]
    assert {r["id"] for r in sms} == {r["id"] for r in made if r["channel"] == "sms"}
    assert sleman.get("/reports?status=resolved").get_json()["items"] == []
    since = made[4]["updated_at"]
    recent = sleman.get("/reports", query_string={"updated_since": since}).get_json()["items"]
    assert [r["id"] for r in recent] == [r["id"] for r in made[4:]]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=abc", "status=open",
                                   "channel=pigeon", "cursor=garbage!!",
                                   "updated_since=2026-11-01T10:00:00",
                                   "updated_since=yesterday"])
def test_list_bad_query(sleman, query):
    resp = sleman.get(f"/reports?{query}")
    assert resp.status_code in (400, 422), resp.get_json()
    assert resp.content_type == "application/problem+json"
