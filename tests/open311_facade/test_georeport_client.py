"""A third-party GeoReport v2 client (PyPI `georeport`, read-only) against the facade,
in both of its output formats: what it parses from XML is what it parses from JSON."""
import pytest
import requests
from georeport import GeoReport

from tests.open311_facade.conftest import post_request


@pytest.fixture
def clients(open311):
    return {fmt: GeoReport(open311.base, output_format=fmt) for fmt in ("json", "xml")}


def _text(value):
    # xmltodict gives text for every leaf and None for an empty element.
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def test_services_and_definition(clients):
    from_json = clients["json"].get_service_list()
    from_xml = clients["xml"].get_service_list()
    assert len(from_json) == len(from_xml) > 10
    for j, x in zip(from_json, from_xml, strict=True):
        assert {k: _text(v) for k, v in j.items()} == dict(x)
    jalan = clients["json"].get_service_definition("infrastruktur.jalan")
    jalan_xml = clients["xml"].get_service_definition("infrastruktur.jalan")
    assert jalan_xml["service_code"] == jalan["service_code"] == "infrastruktur.jalan"
    codes = [a["code"] for a in jalan["attributes"]]
    assert [a["code"] for a in jalan_xml["attributes"]["attribute"]] == codes
    with pytest.raises(requests.HTTPError) as caught:
        clients["xml"].get_service_definition("no-such-service")
    assert caught.value.response.status_code == 404


def test_requests_read_the_same_in_both_formats(clients, open311, make_key, sleman):
    key = make_key()
    made = [post_request(open311, key, description=f"Sampah menumpuk {n}\nDi pasar.",
                         service_code="lingkungan-hidup.sampah" if n else "infrastruktur.jalan")
            .json()[0]["service_request_id"] for n in range(3)]
    hidden = sleman.create_report(privacy={"anonymous": False, "confidential": True})
    from_json = clients["json"].get_service_requests()
    from_xml = clients["xml"].get_service_requests()
    assert [r["service_request_id"] for r in from_json] == list(reversed(made))
    assert [r["service_request_id"] for r in from_xml] == list(reversed(made))
    for j, x in zip(from_json, from_xml, strict=True):
        assert {k: _text(v) for k, v in j.items()} == dict(x)
    one = clients["xml"].get_service_request(made[1])
    assert one["service_request_id"] == made[1] and one["status"] == "open"
    assert one["description"] == "Sampah menumpuk 1\nDi pasar."
    filtered = clients["json"].get_service_requests(service_code="lingkungan-hidup.sampah",
                                                    status="open")
    assert {r["service_request_id"] for r in filtered} == set(made[1:])
    with pytest.raises(requests.HTTPError) as caught:
        clients["json"].get_service_request(hidden["tracking_id"])
    assert caught.value.response.status_code == 404
