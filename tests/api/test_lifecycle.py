"""The report life-cycle over the API: every transition, dispositions, If-Match, timeline."""
import itertools

import pytest

from tests.helpers import report_payload

STATUSES = ("received", "verified", "dispositioned", "in_progress", "resolved", "closed",
            "rejected")
# The contract (spec "Life-cycle"), written out here rather than imported from the code
# under test, so a drift in hub.services.lifecycle fails these tests.
LEGAL = {
    "received": {"verified", "rejected"},
    "verified": {"dispositioned", "rejected"},
    "dispositioned": {"in_progress"},
    "in_progress": {"resolved"},
    "resolved": {"in_progress", "closed"},
    "closed": set(),
    "rejected": set(),
}
# Legal walks from `received` into each state.
WALK = {
    "received": [],
    "verified": ["verified"],
    "dispositioned": ["verified", "dispositioned"],
    "in_progress": ["verified", "dispositioned", "in_progress"],
    "resolved": ["verified", "dispositioned", "in_progress", "resolved"],
    "closed": ["verified", "dispositioned", "in_progress", "resolved", "closed"],
    "rejected": ["rejected"],
}
PROBLEM = "application/problem+json"


def drive(caller, report_id, state):
    """Walk a fresh report into `state` through legal steps; returns the report."""
    body = None
    for step in WALK[state]:
        resp = caller.status(report_id, step)
        assert resp.status_code == 200, (step, resp.get_json())
        body = resp.get_json()
    return body or caller.get(f"/reports/{report_id}").get_json()


def timeline(caller, report_id):
    resp = caller.get(f"/reports/{report_id}/events")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_walk_table_is_legal():
    # Guard for the test's own fixture data: every WALK step is a LEGAL move.
    for state, steps in WALK.items():
        current = "received"
        for step in steps:
            assert step in LEGAL[current], (state, current, step)
            current = step
        assert current == state


@pytest.mark.parametrize("source,target", list(itertools.product(STATUSES, STATUSES)))
def test_every_status_transition(sleman, source, target):
    report = sleman.create_report()
    before = drive(sleman, report["id"], source)
    assert before["status"] == source
    events_before = timeline(sleman, report["id"])

    resp = sleman.status(report["id"], target)

    if target in LEGAL[source]:
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["status"] == target
        assert body["version"] == before["version"] + 1
        assert resp.headers["ETag"] == f'"v{before["version"] + 1}"'
        last = timeline(sleman, report["id"])[-1]
        assert last["type"] == "report.status_changed"
        assert last["data"]["from"] == source and last["data"]["to"] == target
        assert last["report_version"] == body["version"]
    else:
        assert resp.status_code == 409, resp.get_json()
        assert resp.content_type == PROBLEM
        problem = resp.get_json()
        assert problem["status"] == 409
        assert problem["title"] and problem["type"]
        assert sorted(problem["allowed"]) == sorted(LEGAL[source])
        assert problem["current_status"] == source
        # Nothing changed: same status, version and timeline.
        after = sleman.get(f"/reports/{report['id']}")
        assert after.get_json()["status"] == source
        assert after.get_json()["version"] == before["version"]
        assert after.headers["ETag"] == f'"v{before["version"]}"'
        assert timeline(sleman, report["id"]) == events_before


def test_legal_steps_bump_version_one_at_a_time(sleman):
    report = sleman.create_report()
    assert report["version"] == 1
    path = ["verified", "dispositioned", "in_progress", "resolved", "in_progress",
            "resolved", "closed"]
    for n, step in enumerate(path, start=2):
        resp = sleman.status(report["id"], step)
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["version"] == n
        assert resp.headers["ETag"] == f'"v{n}"'
        got = sleman.get(f"/reports/{report['id']}")
        assert got.headers["ETag"] == f'"v{n}"' and got.get_json()["status"] == step


def test_status_dispositioned_needs_an_agency(national, sleman):
    # A national client may create a report with no agency yet.
    resp = national.post("/reports", json=report_payload(agency=None))
    assert resp.status_code == 201, resp.get_json()
    orphan = resp.get_json()
    assert orphan["agency"] is None
    assert national.status(orphan["id"], "verified").status_code == 200
    resp = national.status(orphan["id"], "dispositioned")
    assert resp.status_code == 409
    assert resp.content_type == PROBLEM
    assert national.get(f"/reports/{orphan['id']}").get_json()["status"] == "verified"
    # With an agency, POST /status to dispositioned works.
    mine = sleman.create_report()
    drive(sleman, mine["id"], "verified")
    resp = sleman.status(mine["id"], "dispositioned")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "dispositioned"
    assert resp.get_json()["agency"] == "kab-sleman"


def test_national_disposition_of_unassigned_report(national, bantul):
    orphan = national.post("/reports", json=report_payload(agency=None)).get_json()
    assert bantul.get(f"/reports/{orphan['id']}").status_code == 404
    national.status(orphan["id"], "verified")
    resp = national.post(f"/reports/{orphan['id']}/dispositions",
                         json={"to_agency": "kab-bantul"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["agency"] == "kab-bantul"
    assert resp.get_json()["status"] == "dispositioned"
    assert bantul.get(f"/reports/{orphan['id']}").status_code == 200
    assert bantul.status(orphan["id"], "in_progress").status_code == 200


@pytest.mark.parametrize("source", STATUSES)
def test_disposition_allowed_only_from_some_states(sleman, bantul, source):
    report = sleman.create_report()
    before = drive(sleman, report["id"], source)
    resp = sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-bantul", "note": "bukan wewenang"})
    if source in ("verified", "dispositioned", "in_progress"):
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["status"] == "dispositioned"
        assert body["agency"] == "kab-bantul"
        assert body["version"] == before["version"] + 1
        assert resp.headers["ETag"] == f'"v{before["version"] + 1}"'
        assert bantul.get(f"/reports/{report['id']}").status_code == 200
    else:
        assert resp.status_code == 409, resp.get_json()
        assert resp.content_type == PROBLEM
        after = sleman.get(f"/reports/{report['id']}").get_json()
        assert after["status"] == source and after["agency"] == "kab-sleman"
        assert after["version"] == before["version"]
        assert bantul.get(f"/reports/{report['id']}").status_code == 404


def test_disposition_from_verified_to_own_agency(sleman):
    report = sleman.create_report()
    drive(sleman, report["id"], "verified")
    resp = sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-sleman"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "dispositioned"
    assert resp.get_json()["agency"] == "kab-sleman"
    # Forwarding to the agency already responsible is refused, not a silent no-op bump.
    again = sleman.post(f"/reports/{report['id']}/dispositions",
                        json={"to_agency": "kab-sleman"})
    assert again.status_code == 409
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == 3


def test_forwarding_keeps_dispositioned_and_moves_write_rights(sleman, bantul, make_caller):
    report = sleman.create_report()
    drive(sleman, report["id"], "in_progress")
    assert bantul.get(f"/reports/{report['id']}").status_code == 404
    resp = sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-bantul", "note": "bukan wewenang"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "dispositioned"
    assert resp.get_json()["agency"] == "kab-bantul"
    version = resp.get_json()["version"]

    # The new agency sees and handles it.
    seen = bantul.get(f"/reports/{report['id']}")
    assert seen.status_code == 200
    assert seen.get_json()["agency"] == "kab-bantul"
    assert report["id"] in {r["id"] for r in bantul.get("/reports").get_json()["items"]}
    # The old agency still reads it (by id, tracking id and in its list) ...
    assert sleman.get(f"/reports/{report['id']}").status_code == 200
    assert sleman.get(f"/reports/{report['tracking_id']}").status_code == 200
    assert report["id"] in {r["id"] for r in sleman.get("/reports").get_json()["items"]}
    assert sleman.get(f"/reports/{report['id']}/events").status_code == 200
    # ... but can no longer change it.
    for resp in (sleman.status(report["id"], "in_progress"),
                 sleman.post(f"/reports/{report['id']}/dispositions",
                             json={"to_agency": "kab-sleman"}),
                 sleman.post(f"/reports/{report['id']}/responses",
                             json={"body": "Sudah kami tangani."})):
        assert resp.status_code == 403, resp.get_json()
        assert resp.content_type == PROBLEM
    # Another Sleman client is just as read-only.
    other = make_caller("kab-sleman")
    assert other.status(report["id"], "in_progress").status_code == 403
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == version

    # Bantul may move it on, and forward it back ("no wrong door" both ways).
    resp = bantul.status(report["id"], "in_progress")
    assert resp.status_code == 200, resp.get_json()
    back = bantul.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-sleman"})
    assert back.status_code == 200, back.get_json()
    assert back.get_json()["status"] == "dispositioned"
    assert sleman.status(report["id"], "in_progress").status_code == 200
    assert bantul.status(report["id"], "resolved").status_code == 403
    assert bantul.get(f"/reports/{report['id']}").status_code == 200


def test_unrelated_agency_gets_404_not_403(sleman, make_caller):
    report = sleman.create_report()
    stranger = make_caller("kemenpanrb")
    assert stranger.status(report["id"], "verified").status_code == 404
    assert stranger.post(f"/reports/{report['id']}/dispositions",
                         json={"to_agency": "kemenpanrb"}).status_code == 404
    assert stranger.get(f"/reports/{report['id']}/events").status_code == 404


@pytest.mark.parametrize("to_agency", ["kab-nowhere", "KAB-BANTUL", "x" * 64])
def test_disposition_to_unknown_agency_is_422(sleman, to_agency):
    report = sleman.create_report()
    drive(sleman, report["id"], "verified")
    resp = sleman.post(f"/reports/{report['id']}/dispositions", json={"to_agency": to_agency})
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == PROBLEM
    assert "to_agency" in resp.get_json()["errors"]
    after = sleman.get(f"/reports/{report['id']}").get_json()
    assert (after["status"], after["agency"], after["version"]) == \
        ("verified", "kab-sleman", 2)


@pytest.mark.parametrize("body", [{}, {"to_agency": ""}, {"to_agency": None},
                                  {"to_agency": 7}])
def test_disposition_body_validation(sleman, body):
    report = sleman.create_report()
    drive(sleman, report["id"], "verified")
    resp = sleman.post(f"/reports/{report['id']}/dispositions", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == PROBLEM


@pytest.mark.parametrize("body", [{}, {"status": "open"}, {"status": None},
                                  {"status": "verified", "note": "x" * 5001}])
def test_status_body_validation(sleman, body):
    report = sleman.create_report()
    resp = sleman.post(f"/reports/{report['id']}/status", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.content_type == PROBLEM
    assert resp.get_json()["errors"]
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == 1


def test_stale_if_match_is_412_and_changes_nothing(sleman):
    report = sleman.create_report()
    first = sleman.status(report["id"], "verified")
    assert first.headers["ETag"] == '"v2"'
    events_before = timeline(sleman, report["id"])

    for path, body in ((f"/reports/{report['id']}/status", {"status": "dispositioned"}),
                       (f"/reports/{report['id']}/dispositions", {"to_agency": "kab-bantul"})):
        resp = sleman.post(path, json=body, headers={"If-Match": '"v1"'})
        assert resp.status_code == 412, resp.get_json()
        assert resp.content_type == PROBLEM
        assert resp.get_json()["status"] == 412
    after = sleman.get(f"/reports/{report['id']}")
    assert after.headers["ETag"] == '"v2"'
    assert after.get_json()["status"] == "verified"
    assert after.get_json()["agency"] == "kab-sleman"
    assert timeline(sleman, report["id"]) == events_before


def test_correct_if_match_succeeds(sleman, bantul):
    report = sleman.create_report()
    etag = sleman.get(f"/reports/{report['id']}").headers["ETag"]
    resp = sleman.post(f"/reports/{report['id']}/status", json={"status": "verified"},
                       headers={"If-Match": etag})
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["ETag"] == '"v2"'
    # A list of tags, one of them current, matches; so does a weak form of the current one.
    resp = sleman.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": "kab-bantul"},
                       headers={"If-Match": '"v1", "v2"'})
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["ETag"] == '"v3"'
    resp = bantul.post(f"/reports/{report['id']}/status", json={"status": "in_progress"},
                       headers={"If-Match": 'W/"v3"'})
    assert resp.status_code == 200, resp.get_json()
    # The same (now stale) tag used twice: the second attempt loses.
    resp = bantul.post(f"/reports/{report['id']}/status", json={"status": "resolved"},
                       headers={"If-Match": '"v3"'})
    assert resp.status_code == 412


def test_if_match_checked_before_transition(sleman):
    # A stale ETag on an illegal move is still 412: the precondition comes first.
    report = sleman.create_report()
    sleman.status(report["id"], "verified")
    resp = sleman.post(f"/reports/{report['id']}/status", json={"status": "closed"},
                       headers={"If-Match": '"v1"'})
    assert resp.status_code == 412


def test_timeline_records_each_step_with_source_system(sleman, bantul):
    report = sleman.create_report()
    rid = report["id"]
    src = {"X-Source-System": "sleman-lapor-app"}
    assert sleman.post(f"/reports/{rid}/status", json={"status": "verified", "note": "ok"},
                       headers=src).status_code == 200
    assert sleman.post(f"/reports/{rid}/status", json={"status": "dispositioned"},
                       headers=src).status_code == 200
    assert sleman.post(f"/reports/{rid}/status",
                       json={"status": "in_progress"}).status_code == 200
    assert sleman.post(f"/reports/{rid}/dispositions",
                       json={"to_agency": "kab-bantul", "note": "bukan wewenang"},
                       headers=src).status_code == 200
    assert bantul.post(f"/reports/{rid}/status", json={"status": "in_progress"},
                       headers={"X-Source-System": "bantul-crm"}).status_code == 200
    # A refused step leaves no trace.
    assert bantul.status(rid, "closed").status_code == 409

    items = timeline(bantul, rid)
    assert timeline(sleman, rid) == items  # the old agency reads the same timeline
    assert [e["type"] for e in items] == [
        "report.created", "report.status_changed", "report.status_changed",
        "report.status_changed", "report.dispositioned", "report.status_changed"]
    changes = [(e["data"]["from"], e["data"]["to"]) for e in items
               if e["type"] == "report.status_changed"]
    assert changes == [("received", "verified"), ("verified", "dispositioned"),
                       ("dispositioned", "in_progress"), ("dispositioned", "in_progress")]
    assert items[1]["data"]["note"] == "ok"
    assert [e["source_system"] for e in items] == [
        None, "sleman-lapor-app", "sleman-lapor-app", None, "sleman-lapor-app",
        "bantul-crm"]
    assert [e["actor_agency"] for e in items] == ["kab-sleman"] * 5 + ["kab-bantul"]
    assert all(e["actor"] for e in items)
    disp = items[4]["data"]
    assert disp["from_agency"] == "kab-sleman" and disp["to_agency"] == "kab-bantul"
    assert disp["from_status"] == "in_progress" and disp["note"] == "bukan wewenang"
    assert [e["report_version"] for e in items] == [1, 2, 3, 4, 5, 6]
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(e["occurred_at"].endswith("Z") for e in items)


def test_timeline_pages(sleman):
    report = sleman.create_report()
    drive(sleman, report["id"], "closed")
    full = timeline(sleman, report["id"])
    assert len(full) == 6
    seen, cursor = [], None
    while True:
        query = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = sleman.get(f"/reports/{report['id']}/events", query_string=query).get_json()
        assert len(page["items"]) <= 4
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == full
    bad = sleman.get(f"/reports/{report['id']}/events", query_string={"cursor": "bogus!"})
    assert bad.status_code == 400 and bad.content_type == PROBLEM
