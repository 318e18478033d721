"""GET/PUT /agencies/{code}/sla and the agency holiday calendar; due_at through the
life-cycle, recomputed when limits or holidays change."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import AgencySlaSettings, Holiday


@pytest.fixture(autouse=True)
def _drop_agency_holidays(app):
    yield
    # Holidays are master data kept between tests: remove the agencies' own ones.
    with app.app_context():
        db.session.execute(sa.delete(Holiday).where(Holiday.agency_code.is_not(None)))
        db.session.commit()


@pytest.fixture
def sleman_admin(make_caller):
    return make_caller("kab-sleman", "reports:read admin")


def assert_problem(resp, status):
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == "application/problem+json"
    return resp.get_json()


def test_due_at_shows_the_running_clock_through_the_life_cycle(sleman):
    # Friday 27 Nov 2026, 19:00 WIB: Mon 30 Nov, Tue 1 Dec, Wed 2 Dec.
    report = sleman.create_report(submitted_at="2026-11-27T19:00:00+07:00")
    assert report["due_at"] == "2026-12-02T16:59:59Z"
    rid = report["id"]
    assert sleman.status(rid, "verified").get_json()["due_at"] == "2026-12-02T16:59:59Z"
    disp = sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-sleman"})
    waiting = disp.get_json()["due_at"]
    assert waiting != report["due_at"]  # first response, counted from the disposition
    sleman.post(f"/reports/{rid}/responses", json={"body": "Kami tindak lanjuti."})
    working = sleman.get(f"/reports/{rid}").get_json()
    assert working["status"] == "in_progress" and working["due_at"] > waiting
    resolved = sleman.status(rid, "resolved").get_json()
    # Auto-close runs 10 working days from today, before the 14-day resolution deadline.
    assert resolved["due_at"] < working["due_at"]
    reopened = sleman.status(rid, "in_progress", note="pelapor keberatan").get_json()
    assert reopened["due_at"] == working["due_at"]  # the resolution deadline again


def test_settings_default_to_the_national_limits(sleman):
    body = sleman.get("/agencies/kab-sleman/sla").get_json()
    assert body["agency"] == "kab-sleman"
    assert body["effective"]["verify_and_disposition"] == 3
    assert body["effective"]["first_response"] == 5
    assert body["effective"]["resolve"] == 14
    assert body["effective"]["resolve_information_request"] == 5
    assert body["effective"]["resolve_supervision"] == 60
    assert body["effective"]["auto_close"] == 10
    assert set(body["sources"].values()) == {"national"}
    assert all(v is None for v in body["overrides"].values())
    assert_problem(sleman.get("/agencies/kab-atlantis/sla"), 404)


def test_put_needs_admin_scope_for_the_callers_own_agency(sleman, sleman_admin, admin):
    refused = assert_problem(sleman.put("/agencies/kab-sleman/sla", json={"resolve": 13}),
                             403)
    assert "admin" in refused["detail"]
    assert_problem(sleman_admin.put("/agencies/kab-bantul/sla", json={"resolve": 7}), 403)
    ok = sleman_admin.put("/agencies/kab-sleman/sla", json={"resolve": 13})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["effective"]["resolve"] == 13
    assert ok.get_json()["sources"]["resolve"] == "kab-sleman"
    # A national admin sets any agency.
    assert admin.put("/agencies/kab-bantul/sla", json={"resolve": 7}).status_code == 200
    assert sleman.get("/agencies/kab-bantul/sla").get_json()["effective"]["resolve"] == 7


def test_units_inherit_and_may_override(sleman, sleman_admin):
    sleman_admin.put("/agencies/kab-sleman/sla",
                     json={"resolve": 13, "tier_rules": {"infrastruktur": "supervision"}})
    unit = sleman.get("/agencies/kab-sleman.dpupkp/sla").get_json()
    assert unit["effective"]["resolve"] == 13
    assert unit["sources"]["resolve"] == "kab-sleman"
    assert unit["effective"]["tier_rules"] == {"infrastruktur": "supervision"}
    assert unit["overrides"]["resolve"] is None
    # The regency's admin client also covers its units.
    own = sleman_admin.put("/agencies/kab-sleman.dpupkp/sla",
                           json={"first_response": 2, "tier_rules": {"infrastruktur":
                                                                     "normative"}})
    assert own.status_code == 200, own.get_json()
    body = own.get_json()
    assert body["effective"]["first_response"] == 2 and body["effective"]["resolve"] == 13
    assert body["effective"]["tier_rules"] == {"infrastruktur": "normative"}
    # PUT replaces: null (or absent) goes back to inheriting.
    back = sleman_admin.put("/agencies/kab-sleman.dpupkp/sla", json={"first_response": None})
    assert back.get_json()["effective"]["first_response"] == 5
    assert back.get_json()["effective"]["tier_rules"] == {"infrastruktur": "supervision"}


@pytest.mark.parametrize("body, field", [
    ({"resolve": 0}, "resolve"),
    ({"resolve": 366}, "resolve"),
    ({"resolve": "fourteen"}, "resolve"),
    ({"deadline": 3}, "deadline"),
    ({"tier_rules": {"infrastruktur": "urgent"}}, "tier_rules"),
    ({"tier_rules": {"tidak-ada": "light"}}, "tier_rules.tidak-ada"),
    ({"tier_rules": ["infrastruktur"]}, "tier_rules"),
])
def test_bad_settings_are_422_and_change_nothing(app, sleman_admin, body, field):
    sleman_admin.put("/agencies/kab-sleman/sla", json={"first_response": 4})
    problem = assert_problem(sleman_admin.put("/agencies/kab-sleman/sla", json=body), 422)
    assert any(k.startswith(field) for k in problem["errors"]), problem
    with app.app_context():
        row = db.session.get(AgencySlaSettings, "kab-sleman")
        assert row.first_response == 4 and row.resolve is None and row.tier_rules is None


def test_changing_settings_recomputes_open_reports(sleman, sleman_admin, bantul):
    # Monday 30 Nov 2026: 3 working days -> Thu 3 Dec; 5 -> Mon 7 Dec.
    mine = sleman.create_report(submitted_at="2026-11-30T09:00:00+07:00")
    theirs = bantul.create_report(submitted_at="2026-11-30T09:00:00+07:00")
    assert mine["due_at"] == theirs["due_at"] == "2026-12-03T16:59:59Z"
    sleman_admin.put("/agencies/kab-sleman/sla", json={"verify_and_disposition": 5})
    after = sleman.get(f"/reports/{mine['id']}").get_json()
    assert after["due_at"] == "2026-12-07T16:59:59Z"
    assert bantul.get(f"/reports/{theirs['id']}").get_json()["due_at"] == theirs["due_at"]


def test_agency_holidays_add_list_delete_and_recompute(sleman, sleman_admin, bantul):
    report = sleman.create_report(submitted_at="2026-11-30T09:00:00+07:00")
    other = bantul.create_report(submitted_at="2026-11-30T09:00:00+07:00")
    added = sleman_admin.post("/agencies/kab-sleman/holidays",
                              json={"date": "2026-12-01", "name": "Libur daerah Sleman"})
    assert added.status_code == 201, added.get_json()
    assert added.get_json() == {"date": "2026-12-01", "name": "Libur daerah Sleman",
                                "kind": "agency", "agency": "kab-sleman"}
    # Tue 1 Dec is off in Sleman: Wed, Thu, Fri 4 Dec. Bantul is unaffected.
    assert sleman.get(f"/reports/{report['id']}").get_json()["due_at"] == \
        "2026-12-04T16:59:59Z"
    assert bantul.get(f"/reports/{other['id']}").get_json()["due_at"] == \
        "2026-12-03T16:59:59Z"
    again = sleman_admin.post("/agencies/kab-sleman/holidays",
                              json={"date": "2026-12-01", "name": "Dobel"})
    assert_problem(again, 409)
    # A unit lists national holidays and its regency's.
    listed = sleman.get("/agencies/kab-sleman.dinkes/holidays?year=2026").get_json()["items"]
    assert {"date": "2026-12-01", "name": "Libur daerah Sleman", "kind": "agency",
            "agency": "kab-sleman"} in listed
    assert {"date": "2026-12-25", "name": "Kelahiran Yesus Kristus", "kind": "national",
            "agency": None} in listed
    assert all(h["date"].startswith("2026-") for h in listed)
    assert "2026-12-01" not in [h["date"] for h in bantul.get(
        "/agencies/kab-bantul/holidays?year=2026").get_json()["items"]]
    # Delete: the deadline moves back.
    gone = sleman_admin.client.delete("/api/v1/agencies/kab-sleman/holidays/2026-12-01",
                                      headers={"Authorization": f"Bearer {sleman_admin.token}"})
    assert gone.status_code == 204
    assert sleman.get(f"/reports/{report['id']}").get_json()["due_at"] == \
        "2026-12-03T16:59:59Z"


def test_holiday_writes_are_checked(sleman, sleman_admin):
    path = "/agencies/kab-sleman/holidays"
    assert_problem(sleman.post(path, json={"date": "2026-12-01", "name": "x"}), 403)
    assert_problem(sleman_admin.post("/agencies/kab-bantul/holidays",
                                     json={"date": "2026-12-01", "name": "x"}), 403)
    assert_problem(sleman_admin.post("/agencies/kab-atlantis/holidays",
                                     json={"date": "2026-12-01", "name": "x"}), 404)
    for body in ({"date": "2026-13-01", "name": "x"}, {"date": "2026-12-01"},
                 {"date": "2026-12-01", "name": "   "}, {"date": "2026-12-01", "name": "x" * 201},
                 {"date": "2026-12-01T00:00:00Z", "name": "x"}):
        assert_problem(sleman_admin.post(path, json=body), 422)
    auth = {"Authorization": f"Bearer {sleman_admin.token}"}
    client = sleman_admin.client
    assert_problem(client.delete("/api/v1/agencies/kab-sleman/holidays/2026-12-01",
                                 headers=auth), 404)
    assert_problem(client.delete("/api/v1/agencies/kab-sleman/holidays/next-tuesday",
                                 headers=auth), 404)
    # A national holiday cannot be deleted through an agency.
    assert_problem(client.delete("/api/v1/agencies/kab-sleman/holidays/2026-12-25",
                                 headers=auth), 404)


def test_a_source_update_that_moves_the_start_moves_the_deadline(sleman):
    from tests.helpers import report_payload
    payload = report_payload(submitted_at="2026-11-30T09:00:00+07:00",
                             source_updated_at="2026-11-30T09:00:00+07:00")
    first = sleman.put("/sources/sleman-lapor/reports/SLM-9", json=payload)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["due_at"] == "2026-12-03T16:59:59Z"
    # The local system corrects the filing date to the Friday before.
    payload.update(submitted_at="2026-11-27T19:00:00+07:00",
                   source_updated_at="2026-11-30T10:00:00+07:00")
    second = sleman.put("/sources/sleman-lapor/reports/SLM-9", json=payload)
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["due_at"] == "2026-12-02T16:59:59Z"


def _in_progress(sleman, **fields):
    report = sleman.create_report(**fields)
    rid = report["id"]
    assert sleman.status(rid, "verified").status_code == 200
    assert sleman.post(f"/reports/{rid}/dispositions",
                       json={"to_agency": "kab-sleman"}).status_code == 200
    assert sleman.post(f"/reports/{rid}/responses", json={"body": "Dicek."}).status_code == 201
    return sleman.get(f"/reports/{rid}").get_json()


def test_a_report_explains_its_clock(sleman, sleman_admin):
    fresh = sleman.create_report(submitted_at="2026-11-27T19:00:00+07:00")
    body = sleman.get(f"/reports/{fresh['id']}/sla").get_json()
    assert body == {"report_id": fresh["id"], "clock": "verify_and_disposition",
                    "started_at": "2026-11-27T12:00:00Z", "limit": "verify_and_disposition",
                    "working_days": 3, "limit_source": "national", "tier": None,
                    "tier_source": None, "due_at": "2026-12-02T16:59:59Z",
                    "report_tier": None}
    sleman_admin.put("/agencies/kab-sleman/sla",
                     json={"resolve": 13, "tier_rules": {"kesehatan": "light"}})
    working = _in_progress(sleman)
    body = sleman.get(f"/reports/{working['id']}/sla").get_json()
    assert (body["clock"], body["limit"], body["working_days"], body["limit_source"],
            body["tier"], body["tier_source"]) == (
        "resolve", "resolve", 13, "kab-sleman", "standard", "default")
    assert body["due_at"] == working["due_at"]
    light = _in_progress(sleman, category="kesehatan.puskesmas")
    body = sleman.get(f"/reports/{light['id']}/sla").get_json()
    assert (body["tier"], body["tier_source"], body["working_days"]) == (
        "light", "category", 2)


def test_the_responsible_agency_sets_a_supervision_case(sleman, bantul, make_caller):
    report = _in_progress(sleman)
    rid = report["id"]
    path = f"/reports/{rid}/sla"
    set_ = sleman.put(path, json={"tier": "supervision"},
                      headers={"If-Match": f'"v{report["version"]}"'})
    assert set_.status_code == 200, set_.get_json()
    body = set_.get_json()
    assert (body["tier"], body["tier_source"], body["working_days"]) == (
        "supervision", "report", 60)
    after = sleman.get(f"/reports/{rid}").get_json()
    assert after["due_at"] == body["due_at"] > report["due_at"]
    assert after["version"] == report["version"] + 1
    events = sleman.get(f"/reports/{rid}/events").get_json()["items"]
    assert events[-1]["type"] == "report.updated"
    assert events[-1]["data"] == {"changes": {"sla_tier": {"from": None,
                                                           "to": "supervision"}}}
    # Setting the same tier again changes nothing.
    assert sleman.put(path, json={"tier": "supervision"}).status_code == 200
    assert sleman.get(f"/reports/{rid}").get_json()["version"] == after["version"]
    # A stale ETag, a bad tier, another agency, a read-only client: refused, no change.
    assert_problem(sleman.put(path, json={"tier": "light"}, headers={"If-Match": '"v1"'}), 412)
    assert_problem(sleman.put(path, json={"tier": "urgent"}), 422)
    assert_problem(sleman.put(path, json={}), 422)
    assert_problem(bantul.put(path, json={"tier": "light"}), 404)
    reader = make_caller("kab-sleman", "reports:read")
    assert_problem(reader.put(path, json={"tier": "light"}), 403)
    assert sleman.get(f"/reports/{rid}").get_json()["due_at"] == after["due_at"]
    # null goes back to the category's tier.
    back = sleman.put(path, json={"tier": None}).get_json()
    assert back["tier_source"] == "default" and back["due_at"] == report["due_at"]


def test_a_report_tier_waits_for_the_resolution_clock(sleman):
    report = sleman.create_report()
    assert sleman.put(f"/reports/{report['id']}/sla",
                      json={"tier": "light"}).status_code == 200
    # Still waiting for verification: the tier does not touch that clock...
    assert sleman.get(f"/reports/{report['id']}").get_json()["due_at"] == report["due_at"]
    # ...but applies once the resolution clock runs.
    rid = report["id"]
    sleman.status(rid, "verified")
    sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-sleman"})
    sleman.post(f"/reports/{rid}/responses", json={"body": "Dicek."})
    body = sleman.get(f"/reports/{rid}/sla").get_json()
    assert (body["clock"], body["tier"], body["working_days"]) == ("resolve", "light", 2)
    assert sleman.get(f"/reports/{rid}").get_json()["due_at"] == body["due_at"]
