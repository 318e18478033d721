"""Public reads: discovery, services, requests, in JSON and XML, checked against the spec."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.open311_facade import spec


def test_discovery_json_and_xml(open311):
    body, root = open311.both("discovery")
    spec.check(body, spec.DISCOVERY)
    assert body["endpoints"][0]["url"] == open311.base
    spec.assert_same(body, root, "discovery")


def test_services_are_hub_categories(open311, app):
    body, root = open311.both("services")
    spec.check(body, spec.SERVICES)
    codes = {s["service_code"]: s for s in body}
    assert codes["infrastruktur.jalan"]["service_name"] == "Jalan dan Jembatan"
    assert codes["infrastruktur.jalan"]["group"] == "Infrastruktur"
    from hub.models import Category
    with app.app_context():
        assert set(codes) == {c.code for c in Category.query.all()}
    spec.assert_same(body, root, "services")


def test_service_definition_lists_the_extra_fields(open311):
    body, root = open311.both("services/infrastruktur.jalan")
    spec.check(body, spec.SERVICE_DEFINITION)
    assert body["service_code"] == "infrastruktur.jalan"
    attrs = {a["code"]: a for a in body["attributes"]}
    assert {"classification", "anonymous", "confidential", "occurred_at"} <= set(attrs)
    assert [v["key"] for v in attrs["classification"]["values"]] == [
        "complaint", "aspiration", "information_request"]
    spec.assert_same(body, root, "service_definition")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_is_404_error_array(open311, fmt):
    resp = open311.get(f"services/no-such-thing.{fmt}")
    assert resp.status_code == 404
    _assert_errors(resp, fmt, 404)


def _assert_errors(resp, fmt, code):
    import xml.etree.ElementTree as ET
    if fmt == "json":
        assert resp.headers["Content-Type"].startswith("application/json")
        spec.check(resp.json(), spec.ERRORS)
        assert {e["code"] for e in resp.json()} == {code}
        return resp.json()
    assert resp.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(resp.content)
    assert root.tag == "errors" and [c.tag for c in root] == ["error"] * len(root)
    assert {int(e.findtext("code")) for e in root} == {code}
    assert all(e.findtext("description") for e in root)
    return root


def test_requests_show_reports_without_personal_data(open311, sleman):
    named = sleman.create_report(title="Jalan rusak di Jl. Magelang",
                                 body="Aspal mengelupas sepanjang 50 meter.")
    anon = sleman.create_report(privacy={"anonymous": True, "confidential": False},
                                reporter={"name": "Budi Santoso Rahasia",
                                          "phone": "0811999888", "email": "budi@example.id"})
    body, root = open311.both("requests")
    spec.check(body, spec.REQUESTS)
    spec.assert_same(body, root, "service_requests")
    by_id = {r["service_request_id"]: r for r in body}
    assert set(by_id) == {named["tracking_id"], anon["tracking_id"]}
    one = by_id[named["tracking_id"]]
    assert one["status"] == "open"
    assert one["service_code"] == "infrastruktur.jalan"
    assert one["description"] == ("Jalan rusak di Jl. Magelang\n\n"
                                  "Aspal mengelupas sepanjang 50 meter.")
    assert one["lat"] == -7.72 and one["long"] == 110.41
    assert one["address"] == "Jl. Kaliurang km 7, Ngaglik"
    assert one["agency_responsible"] == "Pemerintah Kabupaten Sleman"
    # Requested/updated times are the hub's, with an offset.
    requested = datetime.fromisoformat(one["requested_datetime"].replace("Z", "+00:00"))
    assert abs(requested - datetime.now(timezone.utc)) < timedelta(minutes=5)
    # No personal data, anonymous or not, in either format.
    raw = open311.get("requests.json").text + open311.get("requests.xml").text
    for secret in ("Siti Rahayu", "081234567890", "siti@example.id", "Budi Santoso Rahasia",
                   "0811999888", "budi@example.id"):
        assert secret not in raw


def test_confidential_reports_never_appear(open311, sleman):
    public = sleman.create_report()
    hidden = sleman.create_report(title="Pungli di kantor kecamatan (rahasia)",
                                  privacy={"anonymous": False, "confidential": True})
    for fmt in ("json", "xml"):
        listing = open311.get(f"requests.{fmt}")
        assert hidden["tracking_id"] not in listing.text
        assert "Pungli" not in listing.text
        assert public["tracking_id"] in listing.text
        by_id = open311.get(f"requests.{fmt}", service_request_id=hidden["tracking_id"])
        assert hidden["tracking_id"] not in by_id.text
        one = open311.get(f"requests/{hidden['tracking_id']}.{fmt}")
        assert one.status_code == 404
        _assert_errors(one, fmt, 404)


def test_one_request_by_tracking_id(open311, sleman):
    report = sleman.create_report()
    body, root = open311.both(f"requests/{report['tracking_id']}")
    spec.check(body, spec.REQUESTS)
    assert len(body) == 1 and body[0]["service_request_id"] == report["tracking_id"]
    spec.assert_same(body, root, "service_requests")
    for bad in ("9999999999", "abc", report["id"]):
        assert open311.get(f"requests/{bad}.json").status_code == 404


def test_status_maps_to_open_and_closed(open311, sleman):
    report = sleman.create_report()
    rid = report["id"]
    assert sleman.status(rid, "verified").status_code == 200
    assert sleman.post(f"/reports/{rid}/dispositions",
                       json={"to_agency": "kab-sleman"}).status_code == 200
    assert sleman.post(f"/reports/{rid}/responses",
                       json={"body": "Sedang ditangani."}).status_code == 201
    [row] = open311.get(f"requests/{report['tracking_id']}.json").json()
    assert row["status"] == "open" and row["expected_datetime"] is not None
    assert sleman.status(rid, "resolved").status_code == 200
    [row] = open311.get(f"requests/{report['tracking_id']}.json").json()
    assert row["status"] == "closed" and row["expected_datetime"] is None
    assert [r["service_request_id"] for r in open311.get(
        "requests.json", status="closed").json()] == [report["tracking_id"]]
    assert open311.get("requests.json", status="open").json() == []
    resp = open311.get("requests.json", status="pending")
    assert resp.status_code == 400
    _assert_errors(resp, "json", 400)


def test_filters_and_paging(open311, sleman):
    made = [sleman.create_report()["tracking_id"] for _ in range(5)]
    other = sleman.create_report(category="kesehatan.puskesmas")["tracking_id"]
    everything = open311.get("requests.json").json()
    # Newest first; pages of 2 walk the same list without gaps or repeats.
    order = [r["service_request_id"] for r in everything]
    assert set(order) == set(made) | {other}
    pages = [open311.get("requests.json", page=p, page_size=2).json() for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    assert [r["service_request_id"] for p in pages for r in p] == order
    xml_page = open311.get("requests.xml", page=2, page_size=2)
    assert xml_page.text.count("<request>") == 2
    only = open311.get("requests.json", service_code="kesehatan.puskesmas").json()
    assert [r["service_request_id"] for r in only] == [other]
    listed = open311.get("requests.json",
                         service_request_id=f"{made[0]},{made[3]}").json()
    assert {r["service_request_id"] for r in listed} == {made[0], made[3]}
    for bad in ({"page": "0"}, {"page_size": "1001"}, {"page": "x"}):
        resp = open311.get("requests.json", **bad)
        assert resp.status_code == 400
        _assert_errors(resp, "json", 400)


def test_date_window_needs_offsets(open311, sleman):
    report = sleman.create_report()
    now = datetime.now(timezone.utc)
    inside = open311.get("requests.json", start_date=(now - timedelta(hours=1)).isoformat(),
                         end_date=(now + timedelta(hours=1)).isoformat()).json()
    assert [r["service_request_id"] for r in inside] == [report["tracking_id"]]
    later = open311.get("requests.json",
                        start_date=(now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert later.status_code == 200 and later.json() == []
    for params in ({"start_date": "2026-11-01T00:00:00"}, {"end_date": "yesterday"},
                   {"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}):
        resp = open311.get("requests.xml", **params)
        assert resp.status_code == 400, params
        _assert_errors(resp, "xml", 400)


def test_date_window_of_more_than_90_days_is_refused(open311, sleman):
    """GeoReport v2: start_date and end_date at most 90 days apart."""
    now = datetime.now(timezone.utc)
    ok = open311.get("requests.json", start_date=(now - timedelta(days=90)).isoformat(),
                     end_date=now.isoformat())
    assert ok.status_code == 200, ok.text
    for fmt in ("json", "xml"):
        resp = open311.get(f"requests.{fmt}",
                           start_date=(now - timedelta(days=91)).isoformat(),
                           end_date=now.isoformat())
        assert resp.status_code == 400, resp.text
        errors = _assert_errors(resp, fmt, 400)
        assert "90 days" in (resp.text if fmt == "xml" else errors[0]["description"])


@pytest.mark.parametrize("path", ["nothing.json", "requests.yaml", "services/x/y.json"])
def test_unknown_paths_are_open311_errors(open311, path):
    resp = open311.get(path)
    assert resp.status_code == 404
    _assert_errors(resp, "json", 404)


def test_wrong_method_is_405_error_array(open311):
    resp = open311.http.delete(f"{open311.base}/requests.json", timeout=10)
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"] and "POST" in resp.headers["Allow"]
    _assert_errors(resp, "json", 405)


def test_xml_escapes_text(open311, sleman):
    report = sleman.create_report(title="<b>Jalan</b> & \"trotoar\" rusak",
                                  body="Kontrol \x07 karakter ]]> <script>alert(1)</script>")
    body, root = open311.both(f"requests/{report['tracking_id']}")
    assert body[0]["description"].startswith("<b>Jalan</b> & \"trotoar\" rusak")
    text = root.find("request").findtext("description")
    assert text.startswith("<b>Jalan</b> & \"trotoar\" rusak")
    assert "<script>alert(1)</script>" in text
