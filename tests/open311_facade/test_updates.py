"""mySociety's servicerequestupdates: public responses out, agency updates in."""
from datetime import datetime, timedelta, timezone

import pytest

from hub.extensions import db
from hub.models import Response
from tests.open311_facade import spec
from tests.open311_facade.test_read import _assert_errors


def _dispositioned(caller, **fields):
    report = caller.create_report(**fields)
    assert caller.status(report["id"], "verified").status_code == 200
    assert caller.post(f"/reports/{report['id']}/dispositions",
                       json={"to_agency": caller.agency}).status_code == 200
    return report


def _update(open311, key, sid, fmt="json", **fields):
    data = {"api_key": key, "service_request_id": sid, "status": "OPEN",
            "updated_datetime": datetime.now(timezone.utc).isoformat(),
            "description": "Petugas sudah meninjau lokasi.", **fields}
    return open311.post(f"servicerequestupdates.{fmt}",
                        {k: v for k, v in data.items() if v is not None})


def test_public_responses_are_updates_internal_ones_never(open311, sleman):
    report = _dispositioned(sleman)
    hidden = _dispositioned(sleman, privacy={"anonymous": False, "confidential": True})
    rid = report["id"]
    sleman.post(f"/reports/{rid}/responses",
                json={"body": "Catatan internal: kontraktor Pak Joko", "visibility": "internal"})
    public = sleman.post(f"/reports/{rid}/responses",
                         json={"body": "Penambalan dijadwalkan Kamis.",
                               "author_name": "Petugas Budi"}).get_json()
    sleman.post(f"/reports/{hidden['id']}/responses", json={"body": "Sudah diperiksa."})
    body, root = open311.both("servicerequestupdates")
    spec.check(body, spec.UPDATES)
    spec.assert_same(body, root, "service_request_updates")
    assert body == [{"update_id": public["id"], "service_request_id": report["tracking_id"],
                     "status": "open", "updated_datetime": body[0]["updated_datetime"],
                     "description": "Penambalan dijadwalkan Kamis.", "media_url": None}]
    raw = open311.get("servicerequestupdates.xml").text + open311.get(
        "servicerequestupdates.json").text
    for secret in ("Catatan internal", "Pak Joko", "Petugas Budi", "Sudah diperiksa",
                   hidden["tracking_id"]):
        assert secret not in raw


def test_update_status_is_the_status_it_left(open311, sleman):
    report = _dispositioned(sleman)
    rid = report["id"]
    first = sleman.post(f"/reports/{rid}/responses", json={"body": "Ditinjau."}).get_json()
    assert sleman.status(rid, "resolved").status_code == 200  # a separate, later change
    body = open311.get("servicerequestupdates.json").json()
    # The update left the report open; the request itself is closed now.
    assert [(u["update_id"], u["status"]) for u in body] == [(first["id"], "open")]
    assert open311.get(f"requests/{report['tracking_id']}.json").json()[0]["status"] == "closed"


def test_post_update_adds_a_response_and_is_idempotent(open311, make_key, sleman, app):
    key = make_key("kab-sleman")
    report = _dispositioned(sleman)
    sid = report["tracking_id"]
    resp = _update(open311, key, sid, update_id="CRM-77", first_name="Dinas PU")
    assert resp.status_code == 201, resp.text
    spec.check(resp.json(), spec.UPDATE_POST_RESULT)
    update_id = resp.json()[0]["update_id"]
    again = _update(open311, key, sid, update_id="CRM-77", description="retry")
    assert again.status_code == 200 and again.json()[0]["update_id"] == update_id
    responses = sleman.get(f"/reports/{report['id']}/responses").get_json()
    items = responses["items"] if isinstance(responses, dict) else responses
    assert [r["body"] for r in items] == ["Petugas sudah meninjau lokasi."]
    # The hub's rules ran: a first public response starts the work.
    assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "in_progress"
    listed = open311.get("servicerequestupdates.json").json()
    assert [u["update_id"] for u in listed] == [update_id]
    # Another client's update with the same update_id is a different update.
    other = make_key("kab-sleman")
    assert _update(open311, other, sid, update_id="CRM-77").status_code == 201
    with app.app_context():
        assert db.session.query(Response).count() == 2


def test_post_update_closes_and_reopens(open311, make_key, sleman):
    key = make_key("kab-sleman")
    report = _dispositioned(sleman)
    sid = report["tracking_id"]
    closed = _update(open311, key, sid, fmt="xml", status="FIXED",
                     description="Lubang sudah ditambal.")
    assert closed.status_code == 201, closed.text
    assert closed.text.count("<request_update>") == 1
    assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "resolved"
    updates = open311.get("servicerequestupdates.json").json()
    assert [u["status"] for u in updates] == ["closed"]
    reopened = _update(open311, key, sid, status="open", description="Lubang muncul lagi.")
    assert reopened.status_code == 201
    assert sleman.get(f"/reports/{report['id']}").get_json()["status"] == "in_progress"
    assert [u["status"] for u in open311.get("servicerequestupdates.json").json()] == [
        "closed", "open"]


def test_post_update_refusals(open311, make_key, sleman, bantul, app):
    key = make_key("kab-sleman")
    fresh = sleman.create_report()  # received: cannot be closed yet
    ready = _dispositioned(sleman)
    theirs = _dispositioned(bantul)
    cases = [
        (None, ready["tracking_id"], {}, 403),
        ("wrong", ready["tracking_id"], {}, 403),
        (key, "9999999999", {}, 404),
        (key, theirs["tracking_id"], {}, 404),  # another agency's report is not found
        (key, None, {}, 400),
        (key, ready["tracking_id"], {"status": "SOMETHING"}, 400),
        (key, ready["tracking_id"], {"status": None}, 400),
        (key, ready["tracking_id"], {"description": None}, 400),
        (key, ready["tracking_id"], {"updated_datetime": None}, 400),
        (key, ready["tracking_id"], {"updated_datetime": "2026-11-20T08:00:00"}, 400),
        (key, fresh["tracking_id"], {"status": "CLOSED"}, 400),
    ]
    for api_key, sid, fields, status in cases:
        for fmt in ("json", "xml"):
            resp = _update(open311, api_key, sid, fmt=fmt, **fields)
            assert resp.status_code == status, (api_key, sid, fields, resp.text)
            _assert_errors(resp, fmt, status)
    with app.app_context():
        assert db.session.query(Response).count() == 0  # nothing half-written
    assert sleman.get(f"/reports/{fresh['id']}").get_json()["status"] == "received"


def test_updates_window_and_paging(open311, sleman):
    report = _dispositioned(sleman)
    ids = [sleman.post(f"/reports/{report['id']}/responses",
                       json={"body": f"Tindak lanjut {n}"}).get_json()["id"] for n in range(5)]
    everything = [u["update_id"] for u in open311.get("servicerequestupdates.json").json()]
    assert everything == ids  # oldest first
    pages = [open311.get("servicerequestupdates.json", page=p, page_size=2).json()
             for p in (1, 2, 3)]
    assert [u["update_id"] for p in pages for u in p] == ids
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert open311.get("servicerequestupdates.json", start_date=future).json() == []
    assert len(open311.get("servicerequestupdates.json", end_date=future).json()) == 5
    bad = open311.get("servicerequestupdates.xml", start_date="2026-11-20")
    assert bad.status_code == 400  # a date alone has no offset
    _assert_errors(bad, "xml", 400)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_update_created_at_never_in_the_future(open311, make_key, sleman, fmt):
    key = make_key("kab-sleman")
    report = _dispositioned(sleman)
    ahead = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    assert _update(open311, key, report["tracking_id"], fmt=fmt,
                   updated_datetime=ahead).status_code == 201
    [update] = open311.get("servicerequestupdates.json").json()
    stamp = datetime.fromisoformat(update["updated_datetime"].replace("Z", "+00:00"))
    assert stamp <= datetime.now(timezone.utc) + timedelta(seconds=1)
