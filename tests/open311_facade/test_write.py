"""POST requests.{fmt} with an api_key, tokens/{token}, and the `hub open311-key` command."""
import xml.etree.ElementTree as ET

import pytest

from hub.extensions import db
from hub.models import ApiClient, Report, ReportEvent, hash_secret
from tests.open311_facade import spec
from tests.open311_facade.conftest import post_request
from tests.open311_facade.test_read import _assert_errors


def _count_reports(app):
    with app.app_context():
        return db.session.query(Report).count()


def test_post_creates_a_hub_report_through_the_services(open311, make_key, app, sleman):
    key = make_key("kab-sleman")
    resp = post_request(open311, key, first_name="Siti", last_name="Rahayu",
                        email="siti@example.id", phone="081234567890",
                        **{"attribute[classification]": "aspiration",
                           "attribute[occurred_at]": "2026-11-20T08:00:00+07:00"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    spec.check(body, spec.POST_RESULT)
    sid = body[0]["service_request_id"]
    # The hub's own API sees the report the way the services made it.
    report = sleman.get(f"/reports/{sid}").get_json()
    assert report["channel"] == "open311"
    assert report["category"] == "infrastruktur.jalan"
    assert report["classification"] == "aspiration"
    assert report["title"] == "Lampu jalan mati"
    assert report["body"] == "Lampu jalan mati\nSudah seminggu gelap di depan SD Caturtunggal."
    assert report["agency"] == "kab-sleman" and report["status"] == "received"
    assert report["due_at"] is not None  # the verification clock runs
    assert report["reporter"] == {"name": "Siti Rahayu", "phone": "081234567890",
                                  "email": "siti@example.id"}
    assert report["occurred_at"].startswith("2026-11-20T01:00:00")
    assert report["location"]["lat"] == -7.7701 and report["location"]["lon"] == 110.389
    with app.app_context():
        types = [e.type for e in db.session.query(ReportEvent).all()]
    assert types == ["report.created"]
    # The public sees it, without the reporter.
    [public] = open311.get(f"requests/{sid}.json").json()
    spec.check([public], spec.REQUESTS)
    assert public["description"] == report["body"]
    assert "Rahayu" not in open311.get(f"requests/{sid}.xml").text


def test_post_in_xml_and_the_token(open311, make_key):
    resp = post_request(open311, make_key(), fmt="xml")
    assert resp.status_code == 201
    root = ET.fromstring(resp.content)
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    sid, token = root[0].findtext("service_request_id"), root[0].findtext("token")
    assert sid and token
    body, xml_root = open311.both(f"tokens/{token}")
    spec.check(body, spec.TOKEN)
    assert body == [{"service_request_id": sid, "token": token}]
    spec.assert_same(body, xml_root, "service_requests")
    missing = open311.get("tokens/nope.json")
    assert missing.status_code == 404
    _assert_errors(missing, "json", 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_or_missing_key_is_403_and_writes_nothing(open311, make_key, app, fmt):
    make_key()
    inactive = make_key(active=False)
    reader = make_key(scopes="reports:read")
    for key in (None, "", "o311_wrong", inactive, reader):
        resp = post_request(open311, key, fmt=fmt)
        assert resp.status_code == 403, key
        _assert_errors(resp, fmt, 403)
    assert _count_reports(app) == 0


@pytest.mark.parametrize("fields, says", [
    ({"service_code": None}, "service_code is required"),
    ({"service_code": "no-such-category"}, "service_code 'no-such-category' not found"),
    ({"description": "x" * 20001}, "description is longer"),
    ({"lat": None, "long": None, "address_string": None}, "a location is required"),
    ({"long": None}, "lat and long go together"),
    ({"lat": "north"}, "lat 'north' is not a number"),
    ({"lat": "91"}, "lat must be between"),
    ({"long": "nan"}, "long must be between"),
    ({"attribute[colour]": "red"}, "attribute[colour] is not an attribute"),
    ({"attribute[anonymous]": "maybe"}, "attribute[anonymous] must be one of"),
    ({"attribute[occurred_at]": "2026-11-20T08:00:00"}, "has no UTC offset"),
    ({"email": "a" * 300}, "email is longer"),
    ({"description": "bad\x00byte"}, "NUL"),
])
def test_bad_input_is_400_and_writes_nothing(open311, make_key, app, fields, says):
    key = make_key()
    for fmt in ("json", "xml"):
        resp = post_request(open311, key, fmt=fmt, **fields)
        assert resp.status_code == 400, resp.text
        errors = _assert_errors(resp, fmt, 400)
        text = resp.text if fmt == "xml" else " ".join(e["description"] for e in errors)
        assert says in text
    assert _count_reports(app) == 0


def test_privacy_attributes(open311, make_key, sleman, admin):
    key = make_key()
    anon = post_request(open311, key, first_name="Budi", phone="0811222333",
                        **{"attribute[anonymous]": "true"}).json()[0]
    hidden = post_request(open311, key, description="Pungli di loket KTP",
                          **{"attribute[confidential]": "true"}).json()[0]
    # Anonymous: agencies do not see who it was; only admin does.
    assert sleman.get(f"/reports/{anon['service_request_id']}").get_json()["reporter"] is None
    assert admin.get(f"/reports/{anon['service_request_id']}").get_json()["reporter"][
        "name"] == "Budi"
    # Confidential: the creator got its number, but the public never sees it.
    assert open311.get(f"requests/{hidden['service_request_id']}.json").status_code == 404
    listing = open311.get("requests.json").text
    assert hidden["service_request_id"] not in listing and "Pungli" not in listing
    assert anon["service_request_id"] in listing and "Budi" not in listing
    report = sleman.get(f"/reports/{hidden['service_request_id']}").get_json()
    assert report["privacy"] == {"anonymous": False, "confidential": True}


def test_national_key_creates_unassigned_reports(open311, make_key, national):
    resp = post_request(open311, make_key("*"))
    assert resp.status_code == 201
    sid = resp.json()[0]["service_request_id"]
    assert national.get(f"/reports/{sid}").get_json()["agency"] is None
    [public] = open311.get(f"requests/{sid}.json").json()
    assert public["agency_responsible"] is None


def test_cli_issues_and_rotates_a_key(app, runner, open311):
    with app.app_context():
        db.session.add(ApiClient(id="kota-app", name="Kota app", agency_code="kab-sleman",
                                 scopes="reports:read reports:write",
                                 secret_hash=hash_secret("s")))
        db.session.commit()
    first = runner.invoke(args=["hub", "open311-key", "kota-app"])
    assert first.exit_code == 0, first.output
    key1 = first.output.strip().split("api_key=")[1]
    assert post_request(open311, key1).status_code == 201
    second = runner.invoke(args=["hub", "open311-key", "kota-app"])
    key2 = second.output.strip().split("api_key=")[1]
    assert key2 != key1
    assert post_request(open311, key1).status_code == 403  # the old key stopped working
    assert post_request(open311, key2).status_code == 201
    missing = runner.invoke(args=["hub", "open311-key", "nobody"])
    assert missing.exit_code != 0 and "no API client 'nobody'" in missing.output


@pytest.mark.parametrize("description", [None, "   "])
def test_description_is_optional(open311, make_key, sleman, description):
    """GeoReport v2 makes description optional: the report is titled by its service."""
    resp = post_request(open311, make_key(), description=description)
    assert resp.status_code == 201, resp.text
    sid = resp.json()[0]["service_request_id"]
    report = sleman.get(f"/reports/{sid}").get_json()
    assert report["category"] == "infrastruktur.jalan"
    services = {s["service_code"]: s["service_name"]
                for s in open311.get("services.json").json()}
    assert report["title"] == services["infrastruktur.jalan"]
    assert report["body"] == ""


def test_token_of_a_confidential_request_is_404(open311, make_key):
    key = make_key()
    hidden = post_request(open311, key, **{"attribute[confidential]": "true"}).json()[0]
    shown = post_request(open311, key).json()[0]
    for fmt in ("json", "xml"):
        resp = open311.get(f"tokens/{hidden['token']}.{fmt}")
        assert resp.status_code == 404, resp.text
        _assert_errors(resp, fmt, 404)
        assert hidden["service_request_id"] not in resp.text
    assert open311.get(f"tokens/{shown['token']}.json").json() == [
        {"service_request_id": shown["service_request_id"], "token": shown["token"]}]
