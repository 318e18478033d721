"""Responses (tindak lanjut): posting, idempotency, the life-cycle step they trigger,
write rights after forwarding, tenant isolation and pagination."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import ReportEvent, Response

PROBLEM = "application/problem+json"


def dispositioned(caller, **fields):
    """A report of the caller's agency, verified and dispositioned to that agency."""
    report = caller.create_report(**fields)
    assert caller.status(report["id"], "verified").status_code == 200
    resp = caller.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": caller.agency})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "dispositioned"
    return resp.get_json()


def responses(caller, report_id, **query):
    resp = caller.get(f"/reports/{report_id}/responses", query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def count_responses(app):
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(Response)).scalar()
        db.session.remove()
    return n


def event_types(app, report_id):
    with app.app_context():
        types = db.session.execute(
            sa.select(ReportEvent.type).where(ReportEvent.report_id == report_id)
            .order_by(ReportEvent.seq)).scalars().all()
        db.session.remove()
    return types


def assert_problem(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_post_response_201_and_listed(sleman):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "Tim sudah meninjau lokasi.", "author_name": "Budi (DPU)"},
                       headers={"X-Source-System": "sleman-lapor-app"})
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert created["report_id"] == report["id"]
    assert created["agency"] == "kab-sleman"
    assert created["body"] == "Tim sudah meninjau lokasi."
    assert created["author_name"] == "Budi (DPU)"
    assert created["visibility"] == "public"
    assert created["external_refs"] == [] and created["attachments"] == []
    assert created["source"] == "sleman-lapor-app"
    assert created["created_at"].endswith("Z")
    assert resp.headers["Location"] == f"/api/v1/reports/{report['id']}/responses"
    page = responses(sleman, report["id"])
    assert page["items"] == [created]
    assert page["next_cursor"] is None
    # By tracking id as well.
    assert responses(sleman, report["tracking_id"])["items"] == [created]


def test_source_defaults_to_hub_and_created_at_is_stored_as_utc(sleman):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "Dicatat dari buku agenda.",
                             "created_at": "2026-11-21T10:00:00+07:00"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["source"] == "hub"
    assert resp.get_json()["created_at"] == "2026-11-21T03:00:00Z"


def test_idempotent_on_external_ref(app, sleman):
    report = dispositioned(sleman)
    ref = {"system": "sleman-lapor-app", "external_id": "tl-77"}
    first = sleman.post(f"/reports/{report['id']}/responses",
                        json={"body": "Sedang diperbaiki.", "external_ref": ref})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["external_refs"] == [ref]
    assert first.get_json()["source"] == "sleman-lapor-app"
    version = sleman.get(f"/reports/{report['id']}").get_json()["version"]

    for body in ("Sedang diperbaiki.", "Sedang diperbaiki (dikirim ulang, teks berubah)."):
        again = sleman.post(f"/reports/{report['id']}/responses",
                            json={"body": body, "external_ref": ref})
        assert again.status_code == 200, again.get_json()
        assert again.get_json() == first.get_json()  # the stored one, untouched
    assert count_responses(app) == 1
    assert [r["id"] for r in responses(sleman, report["id"])["items"]] == \
        [first.get_json()["id"]]
    # A replay changes nothing on the report: no version bump, no second event.
    assert sleman.get(f"/reports/{report['id']}").get_json()["version"] == version
    assert event_types(app, report["id"]).count("response.created") == 1


def test_same_external_id_in_another_system_is_a_new_response(app, sleman):
    report = dispositioned(sleman)
    for system in ("sleman-lapor-app", "sleman-crm"):
        resp = sleman.post(f"/reports/{report['id']}/responses",
                           json={"body": "x", "external_ref": {"system": system,
                                                               "external_id": "1"}})
        assert resp.status_code == 201, resp.get_json()
    assert count_responses(app) == 2


def test_external_ref_of_another_report_is_409(app, sleman):
    one, two = dispositioned(sleman), dispositioned(sleman)
    ref = {"system": "sleman-lapor-app", "external_id": "tl-1"}
    assert sleman.post(f"/reports/{one['id']}/responses",
                       json={"body": "a", "external_ref": ref}).status_code == 201
    before = sleman.get(f"/reports/{two['id']}").get_json()
    resp = sleman.post(f"/reports/{two['id']}/responses", json={"body": "a", "external_ref": ref})
    body = assert_problem(resp, 409)
    assert "tl-1" in body["detail"]
    assert responses(sleman, two["id"])["items"] == []
    after = sleman.get(f"/reports/{two['id']}").get_json()
    assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert count_responses(app) == 1


@pytest.mark.parametrize("ref,field", [
    ({"system": "", "external_id": "1"}, "external_ref.system"),
    ({"system": "has space", "external_id": "1"}, "external_ref.system"),
    ({"system": "s" * 65, "external_id": "1"}, "external_ref.system"),
    ({"system": "ok", "external_id": ""}, "external_ref.external_id"),
    ({"system": "ok", "external_id": "x" * 201}, "external_ref.external_id"),
    ({"system": "ok"}, "external_ref.external_id"),
    ({"external_id": "1"}, "external_ref.system"),
    ({"system": "ok", "external_id": "1", "extra": 1}, "external_ref.extra"),
    ("tl-1", "external_ref"),
])
def test_invalid_external_ref_is_422(app, sleman, ref, field):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": "x",
                                                                   "external_ref": ref})
    body = assert_problem(resp, 422)
    assert field in body["errors"], body
    assert count_responses(app) == 0


def test_idempotency_key_replay(app, sleman):
    report = dispositioned(sleman)
    path = f"/reports/{report['id']}/responses"
    key = {"Idempotency-Key": "resp-0001"}
    first = sleman.post(path, json={"body": "Sudah ditangani."}, headers=key)
    assert first.status_code == 201
    replay = sleman.post(path, json={"body": "Sudah ditangani."}, headers=key)
    assert replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert count_responses(app) == 1
    other = sleman.post(path, json={"body": "Lain."}, headers=key)
    assert_problem(other, 422)
    assert count_responses(app) == 1
    # A new key is a new response.
    assert sleman.post(path, json={"body": "Sudah ditangani."},
                       headers={"Idempotency-Key": "resp-0002"}).status_code == 201
    assert count_responses(app) == 2


def test_first_public_response_moves_dispositioned_to_in_progress(app, sleman):
    report = dispositioned(sleman)
    due_waiting_for_response = report["due_at"]
    resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": "Kami tindak lanjuti."})
    assert resp.status_code == 201
    after = sleman.get(f"/reports/{report['id']}").get_json()
    assert after["status"] == "in_progress"
    # One bump for the response, one for the status step.
    assert after["version"] == report["version"] + 2
    # The first-response clock stopped; the resolution clock (14 working days) runs.
    assert after["due_at"] is not None and after["due_at"] > due_waiting_for_response
    events = sleman.get(f"/reports/{report['id']}/events").get_json()["items"]
    assert [e["type"] for e in events[-2:]] == ["response.created", "report.status_changed"]
    assert events[-1]["data"]["from"] == "dispositioned"
    assert events[-1]["data"]["to"] == "in_progress"
    # A second public response does not step the life-cycle again.
    assert sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "Perbaikan selesai minggu depan."}).status_code == 201
    again = sleman.get(f"/reports/{report['id']}").get_json()
    assert again["status"] == "in_progress"
    assert again["version"] == after["version"] + 1
    assert event_types(app, report["id"]) == [
        "report.created", "report.status_changed", "report.dispositioned",
        "response.created", "report.status_changed", "response.created"]


def test_internal_response_does_not_move_the_report(sleman):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "Catatan internal: koordinasi dengan DPUPKP.",
                             "visibility": "internal"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["visibility"] == "internal"
    after = sleman.get(f"/reports/{report['id']}").get_json()
    assert after["status"] == "dispositioned"
    assert after["version"] == report["version"] + 1
    # The first-response clock keeps running: an internal note is not a follow-up.
    assert after["due_at"] == report["due_at"]
    # The internal response is listed for the agency, with its visibility.
    items = responses(sleman, report["id"])["items"]
    assert [r["visibility"] for r in items] == ["internal"]
    # The public response that follows is the first one that counts.
    assert sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "Kami tindak lanjuti."}).status_code == 201
    assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "in_progress"


def test_response_on_received_report_keeps_status(sleman):
    # Only a dispositioned report steps to in_progress; the hub never skips verification.
    report = sleman.create_report()
    resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": "Diterima."})
    assert resp.status_code == 201, resp.get_json()
    assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "received"


def test_report_without_agency_cannot_be_answered(national):
    report = national.create_report(agency=None)
    assert report["agency"] is None
    body = assert_problem(national.post(f"/reports/{report['id']}/responses",
                                        json={"body": "x"}), 409)
    assert "isposition" in body["detail"]
    assert responses(national, report["id"])["items"] == []


def test_past_agency_can_read_but_not_respond(app, sleman, bantul):
    report = dispositioned(sleman)
    rid = report["id"]
    early = sleman.post(f"/reports/{rid}/responses", json={"body": "Ditinjau."}).get_json()
    fwd = sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-bantul",
                                                             "note": "bukan wewenang"})
    assert fwd.status_code == 200, fwd.get_json()
    version = fwd.get_json()["version"]

    resp = sleman.post(f"/reports/{rid}/responses", json={"body": "Masih kami tangani."})
    body = assert_problem(resp, 403)
    assert "kab-bantul" in body["detail"]
    assert_problem(sleman.post(f"/reports/{rid}/responses",
                               json={"body": "x", "visibility": "internal"},
                               headers={"Idempotency-Key": "k-after-forward"}), 403)
    # Reading stays allowed for the past agency.
    assert [r["id"] for r in responses(sleman, rid)["items"]] == [early["id"]]
    assert sleman.get(f"/reports/{rid}").get_json()["version"] == version
    assert count_responses(app) == 1

    # The new agency answers; its response carries its own agency code.
    new = bantul.post(f"/reports/{rid}/responses", json={"body": "Ditangani Bantul."})
    assert new.status_code == 201, new.get_json()
    assert new.get_json()["agency"] == "kab-bantul"
    assert bantul.get(f"/reports/{rid}").get_json()["status"] == "in_progress"
    assert [r["agency"] for r in responses(sleman, rid)["items"]] == \
        ["kab-sleman", "kab-bantul"]


def test_other_tenant_gets_404(app, sleman, bantul, make_caller):
    report = dispositioned(sleman)
    sleman.post(f"/reports/{report['id']}/responses", json={"body": "x"})
    for caller in (bantul, make_caller("kemenpanrb")):
        for ident in (report["id"], report["tracking_id"]):
            assert_problem(caller.get(f"/reports/{ident}/responses"), 404)
            assert_problem(caller.post(f"/reports/{ident}/responses", json={"body": "y"}), 404)
    # Even a replay of a known external_ref does not reveal the response.
    ref = {"system": "sleman-lapor-app", "external_id": "secret-1"}
    assert sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": "z", "external_ref": ref}).status_code == 201
    assert_problem(bantul.post(f"/reports/{report['id']}/responses",
                               json={"body": "z", "external_ref": ref}), 404)
    assert count_responses(app) == 2


def test_unknown_report_is_404(sleman):
    for ident in ("00000000-0000-0000-0000-000000000000", "99999999", "nope"):
        assert_problem(sleman.get(f"/reports/{ident}/responses"), 404)
        assert_problem(sleman.post(f"/reports/{ident}/responses", json={"body": "x"}), 404)


def test_read_scope_cannot_post(sleman, make_caller):
    report = dispositioned(sleman)
    reader = make_caller("kab-sleman", "reports:read")
    assert responses(reader, report["id"])["items"] == []
    assert_problem(reader.post(f"/reports/{report['id']}/responses", json={"body": "x"}), 403)
    assert_problem(sleman.client.get(f"/api/v1/reports/{report['id']}/responses"), 401)


def test_pagination(sleman):
    report = dispositioned(sleman)
    posted = []
    for i in range(7):
        resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": f"Langkah {i}"})
        assert resp.status_code == 201
        posted.append(resp.get_json()["id"])
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = responses(sleman, report["id"], **query)
        pages += 1
        assert len(page["items"]) <= 3
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == posted  # oldest first, each exactly once
    # limit equal to the count: one full page and no cursor.
    page = responses(sleman, report["id"], limit=7)
    assert [r["id"] for r in page["items"]] == posted and page["next_cursor"] is None
    # Default limit covers them all.
    assert len(responses(sleman, report["id"])["items"]) == 7


def test_pagination_with_backdated_created_at(sleman):
    # Responses imported with their source's time are ordered by that time.
    report = dispositioned(sleman)
    times = ["2026-11-23T10:00:00+07:00", "2026-11-21T10:00:00+07:00",
             "2026-11-22T10:00:00+07:00"]
    ids = {}
    for t in times:
        resp = sleman.post(f"/reports/{report['id']}/responses",
                           json={"body": t, "created_at": t})
        ids[t] = resp.get_json()["id"]
    seen, cursor = [], None
    while True:
        page = responses(sleman, report["id"], limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [ids[t] for t in sorted(times)]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"limit": "ten"},
                                   {"limit": -1}, {"cursor": "not-a-cursor!"},
                                   {"cursor": "W10"}, {"cursor": "WyJ4IiwieSJd"},
                                   {"cursor": "x" * 501}])
def test_bad_paging_parameters(sleman, query):
    report = dispositioned(sleman)
    resp = sleman.get(f"/reports/{report['id']}/responses", query_string=query)
    assert resp.status_code in (400, 422), resp.get_json()
    assert resp.content_type == PROBLEM


@pytest.mark.parametrize("body,ok", [("a", True), ("a" * 20000, True), ("🚧" * 20000, True),
                                     ("a" * 20001, False), ("", False)])
def test_body_length_limits(app, sleman, body, ok):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses", json={"body": body})
    if ok:
        assert resp.status_code == 201, resp.get_json()
        assert responses(sleman, report["id"])["items"][0]["body"] == body
    else:
        problem = assert_problem(resp, 422)
        assert "body" in problem["errors"]
        assert count_responses(app) == 0
        assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "dispositioned"


@pytest.mark.parametrize("payload,field", [
    ({}, "body"), ({"body": None}, "body"), ({"body": 5}, "body"), ({"body": ["x"]}, "body"),
    ({"body": "x", "author_name": "a" * 201}, "author_name"),
    ({"body": "x", "author_name": 1}, "author_name"),
    ({"body": "x", "visibility": None}, "visibility"),
    ({"body": "x", "created_at": "2026-11-21"}, "created_at"),
    ({"body": "x", "created_at": 1700000000}, "created_at"),
])
def test_invalid_payload(app, sleman, payload, field):
    report = dispositioned(sleman)
    resp = sleman.post(f"/reports/{report['id']}/responses", json=payload)
    assert resp.status_code in (400, 422), resp.get_json()
    assert resp.content_type == PROBLEM
    assert field in resp.get_json()["errors"]
    assert count_responses(app) == 0
