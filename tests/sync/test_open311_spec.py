"""The open311 connector against servers that behave as the GeoReport v2 spec says (and as
real ones do): XML only, FixMyStreet's wrapped JSON, start_date on requested_datetime,
status_notes instead of servicerequestupdates. Real HTTP to the simulator, the real engine."""
import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportExternalRef, Response, ResponseExternalRef
from hub.sync import files
from simulators.open311.testing import run_simulator

BANDUNG_FILE = Path(__file__).resolve().parents[2] / \
    "mappings/kota-bandung/open311-bandung.yaml"
SYSTEM = "open311-bandung"
SPEC = {"START_DATE_ON": "requested_datetime", "STATUS_NOTES": True}
SERVERS = {
    "xml-only": {**SPEC, "FORMATS": ("xml",)},
    "fixmystreet-json": {**SPEC, "FORMATS": ("json",), "WRAPPED": True},
    "plain-json": {**SPEC, "FORMATS": ("json", "xml")},
}


@pytest.fixture(params=sorted(SERVERS))
def server(request):
    return request.param


@pytest.fixture
def city(server):
    with run_simulator(SERVERS[server]) as handle:
        yield handle


@pytest.fixture
def config_extra():
    return {}


@pytest.fixture
def connector(app, city, config_extra):
    """Overrides the Sleman connector: conftest's run_sync runs this one."""
    doc = copy.deepcopy(files.load_file(BANDUNG_FILE))
    config = doc["connector"]["config"]
    config.update({"base_url": city.url, "timeout_seconds": 3, "format": "auto",
                   # No servicerequestupdates: the officers' words come as status_notes.
                   "responses": False,
                   "pagination": {"page_param": "page", "size_param": "page_size",
                                  "size": 5}, **config_extra})
    doc["connector"]["lookback_seconds"] = 60
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={"api_key": city.api_key})
        db.session.commit()
        return conn.id


def _ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(
        timespec="milliseconds")


def _report(app, sid):
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == SYSTEM,
            ReportExternalRef.external_id == str(sid))).scalar_one()
        return {"status": ref.report.status, "lat": ref.report.lat,
                "address": ref.report.location_text,
                "responses": sorted(db.session.execute(sa.select(Response.body).where(
                    Response.report_id == ref.report_id)).scalars())}


def _count(app, model):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def test_old_requests_close_and_reopen_and_every_note_arrives_once(app, city, run_sync,
                                                                   server):
    old = [city.request(description=f"Jalan rusak lama {i}", requested_datetime=_ago(30 + i))
           ["service_request_id"] for i in range(5)]
    new = [city.request(description=f"Jalan rusak baru {i}")["service_request_id"]
           for i in range(7)]
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 12 and _count(app, Report) == 12
    # The windows asked by start_date and end_date, none longer than the spec's 90 days.
    spans = [(datetime.fromisoformat(q["start_date"]), q.get("end_date"))
             for q in city.store.reads if "start_date" in q]
    assert spans and all(end is None or datetime.fromisoformat(end) - start
                         <= timedelta(days=90) for start, end in spans)

    # Officers close the five old requests with a note; on a spec server they are in no
    # start_date listing any more (made a month ago): only the re-read by id shows them.
    for sid in old:
        city.update(sid, status="FIXED", description="Sudah diperbaiki.")
    city.update(new[0], description="Petugas sudah meninjau lokasi.")
    second = run_sync()
    assert second["status"] == "succeeded", second
    assert [_report(app, sid)["status"] for sid in old] == ["resolved"] * 5
    assert all(_report(app, sid)["responses"] == ["Sudah diperbaiki."] for sid in old)
    assert _report(app, new[0])["responses"] == ["Petugas sudah meninjau lokasi."]
    asked = [q["service_request_id"] for q in city.store.reads if "service_request_id" in q]
    assert asked and set(old) <= {sid for ids in asked for sid in ids.split(",")}

    # The citizens dispute: the city reopens them. They arrive reopened.
    for sid in old:
        city.update(sid, status="IN_PROGRESS", description="Dibuka kembali, masih rusak.")
    third = run_sync()
    assert third["status"] == "succeeded", third
    assert [_report(app, sid)["status"] for sid in old] == ["in_progress"] * 5
    assert _report(app, old[0])["responses"] == ["Dibuka kembali, masih rusak.",
                                                 "Sudah diperbaiki."]
    # Read again (lookback, re-read by id): nothing doubled.
    again = run_sync()
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    assert _count(app, Report) == 12 and _count(app, Response) == 11
    with app.app_context():
        keys = db.session.execute(sa.select(ResponseExternalRef.external_id)).scalars().all()
    assert len(keys) == len(set(keys)) == 11


@pytest.mark.parametrize("server", ["plain-json"])
@pytest.mark.parametrize("config_extra", [{"recheck_open": False}])
def test_without_the_re_read_a_closed_old_request_is_missed(app, city, run_sync, server,
                                                           config_extra):
    """What the re-read is for: a spec server never lists an old request again."""
    sid = city.request(requested_datetime=_ago(20))["service_request_id"]
    city.request(description="Laporan hari ini")  # the listing's cursor reaches today
    assert run_sync()["status"] == "succeeded"
    city.update(sid, status="FIXED")
    run_sync()
    assert _report(app, sid)["status"] == "received"


@pytest.mark.parametrize("server", ["xml-only", "plain-json"])
def test_a_request_the_server_no_longer_shows_makes_the_run_partial(app, city, run_sync,
                                                                    server):
    kept = city.request(requested_datetime=_ago(10))["service_request_id"]
    gone = city.request(requested_datetime=_ago(11))["service_request_id"]
    assert run_sync()["status"] == "succeeded"
    with city.store.lock:
        del city.store.requests[gone]
    city.update(kept, status="FIXED")
    run = run_sync()
    assert run["status"] == "partial", run
    assert gone in run["error"] and "no longer shows 1 request" in run["error"]
    assert _report(app, kept)["status"] == "resolved"


@pytest.mark.parametrize("server", ["plain-json"])
def test_a_server_that_takes_one_id_at_a_time_is_asked_one_by_one(app, city, run_sync,
                                                                  server):
    city.app.config["MULTI_ID"] = False
    sids = [city.request(requested_datetime=_ago(5 + i))["service_request_id"]
            for i in range(3)]
    assert run_sync()["status"] == "succeeded"
    for sid in sids:
        city.update(sid, status="FIXED", description="Selesai.")
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert all(_report(app, sid)["status"] == "resolved" for sid in sids)
    assert _count(app, Response) == 3


@pytest.mark.parametrize("server", ["xml-only", "fixmystreet-json"])
def test_an_unusable_coordinate_drops_only_the_point(app, city, run_sync, server):
    far = city.request(description="Titik di luar bumi", lat=100, long=107.6)
    text = city.request(description="Titik berupa teks", lat="-6,93", long="107,62")
    good = city.request(description="Titik benar")
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert run["counts"]["created"] == 3 and run["counts"]["tidied"] == 2
    for made in (far, text):
        kept = _report(app, made["service_request_id"])
        assert kept["lat"] is None and kept["address"] == "Jl. Soekarno-Hatta"
    assert _report(app, good["service_request_id"])["lat"] == pytest.approx(-6.93)


def test_an_xml_bomb_is_refused_with_a_clear_error():
    import requests as http_client
    from flask import Flask
    from flask import Response as FlaskResponse

    from connectors.base import ConnectorError
    from connectors.open311 import Open311Connector
    from simulators.serving import ServedApp

    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b'<service_requests><request><service_request_id>&lol2;</service_request_id>'
            b'</request></service_requests>')
    app = Flask(__name__)
    app.add_url_rule("/requests.xml", "r",
                     lambda: FlaskResponse(bomb, content_type="text/xml"))
    with ServedApp(app) as served:
        conn = Open311Connector({"base_url": served.url, "format": "xml",
                                 "responses": False}, session=http_client.Session())
        with pytest.raises(ConnectorError) as caught:
            list(conn.read("reports", None))
    assert "DTD or entities" in str(caught.value) and caught.value.retryable is False


@pytest.mark.parametrize("server", ["xml-only"])
def test_a_hub_report_goes_to_an_xml_only_server_once(app, city, run_sync, national, server):
    from tests.sync.test_open311 import _dispositioned_report
    report = _dispositioned_report(national)
    national.post(f"/reports/{report['id']}/responses", json={"body": "Diteruskan ke OPD."})
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert city.store.posts["requests"] == 1
    [local] = city.store.requests.values()
    assert local["_attributes"]["hub_id"] == report["id"]
    # Its read-back (the note the hub posted is in status_notes now) is an echo only.
    again = run_sync()
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0 and again["counts"]["echo"] >= 1
    assert city.store.posts["requests"] == 1
    assert _count(app, Report) == 1 and _count(app, Response) == 1


@pytest.mark.parametrize("server", ["plain-json"])
@pytest.mark.parametrize("config_extra", [{"pagination": None, "result_limit": 3}])
def test_an_answer_at_the_servers_cap_is_split_into_smaller_windows(app, city, run_sync,
                                                                    server, config_extra):
    city.app.config.update(PAGING=False, MAX_RESULTS=3)
    made = [city.request(description=f"Keluhan {i}", requested_datetime=_ago(1 + i * 2))
            ["service_request_id"] for i in range(7)]
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert run["counts"]["created"] == 7
    assert all(_report(app, sid)["status"] == "received" for sid in made)
    # Four made in one instant cannot be split apart: the run says what it missed.
    for i in range(4):
        city.request(description=f"Serentak {i}", requested_datetime=_ago(0.5))
    run = run_sync()
    assert run["status"] == "partial", run
    assert "the server's cap" in run["error"] and "configure paging" in run["error"]
    assert run["counts"]["created"] == 3


@pytest.mark.parametrize("body", [
    [{"service_request_id": "7", "status": "open"}],
    {"service_requests": [{"service_request_id": "7", "status": "open"}]},
    {"requests": [{"request": [{"service_request_id": ["7"], "status": ["open"]}]}]},
])
def test_every_json_form_of_a_request_list_reads_the_same(body):
    from connectors.open311 import Open311Connector
    conn = Open311Connector({"base_url": "http://127.0.0.1:9", "responses": False})
    assert conn._records(body, "GET /requests") == [
        {"service_request_id": "7", "status": "open"}]


def test_xml_with_a_namespace_and_lists_reads_as_json_would():
    from connectors.open311 import _from_xml
    xml = (b'<?xml version="1.0"?><services xmlns="http://open311.org/v2">'
           b'<service><service_code>A</service_code><groups><group>Jalan</group>'
           b'<group>Drainase</group></groups><keywords></keywords></service></services>')
    assert _from_xml(xml, "GET", "/services.xml") == [
        {"service_code": "A", "groups": ["Jalan", "Drainase"], "keywords": None}]
