"""The open311 connector reading real servers' answers (tests/sync/fixtures/open311, see
its README), served as they are over HTTP on 127.0.0.1: a council's XML-only server
(mySociety's passthrough), FixMyStreet's wrapped JSON, Accela's naive timestamps and
missing fields, Chicago's 311 with status_notes. Such servers ignore what they do not
know, so every answer is the file whatever the query."""
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask import Response as FlaskResponse

from hub.extensions import db
from hub.models import Report, ReportExternalRef, Response
from hub.sync import files
from simulators.serving import ServedApp

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "open311"
XML, JSON = "text/xml; charset=utf-8", "application/json"


def _server(routes: dict) -> ServedApp:
    """{path: (fixture file, content type)}; every other path (a .json on an XML-only
    server) answers 404 as such servers do."""
    app = Flask(__name__)
    seen: list[str] = []

    @app.route("/<path:path>", methods=["GET", "POST"])
    def serve(path):
        from flask import request
        seen.append(request.full_path)
        if "/" + path not in routes:
            return FlaskResponse("<html><body>Not Found</body></html>", 404,
                                 content_type="text/html")
        name, ctype = routes["/" + path]
        return FlaskResponse((FIXTURES / name).read_bytes(), content_type=ctype)

    served = ServedApp(app)
    served.seen = seen
    return served


def _import(app, served, system, config, mappings):
    doc = {"connector": {"id": system, "agency": "kota-bandung", "kind": "open311",
                         "name": system, "system": system, "interval_seconds": 60,
                         "lookback_seconds": 60,
                         "config": {"base_url": served.url, "timeout_seconds": 3,
                                    "direction": "pull", **config}},
           "mappings": {"channel": {"open311": "open311"}, **mappings}}
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={})
        db.session.commit()
        return conn.id


def _run(app, connector_id):
    from hub.models import SyncRun
    from hub.sync.runner import run_connector
    with app.app_context():
        run = db.session.get(SyncRun, run_connector(connector_id, "manual"))
        return {"status": run.status, "counts": dict(run.counts), "error": run.error}


def _reports(app, system):
    with app.app_context():
        rows = db.session.execute(sa.select(ReportExternalRef.external_id, Report).join(
            Report, Report.id == ReportExternalRef.report_id).where(
            ReportExternalRef.system == system)).all()
        return {sid: {"status": r.status, "title": r.title, "body": r.body,
                      "category": r.category_code, "lat": r.lat, "lon": r.lon,
                      "address": r.location_text,
                      "responses": sorted(db.session.execute(sa.select(Response.body).where(
                          Response.report_id == r.id)).scalars())}
                for sid, r in rows}


@pytest.fixture
def served():
    made = []

    def make(routes):
        made.append(_server(routes))
        return made[-1]
    yield make
    for server in made:
        server.stop()


def test_a_councils_xml_only_server(app, served):
    server = served({"/requests.xml": ("mysociety_passthrough/requests.xml", XML),
                     "/servicerequestupdates.xml":
                         ("mysociety_passthrough/servicerequestupdates.xml", XML),
                     "/services.xml": ("mysociety_passthrough/services.xml", XML)})
    conn = _import(app, server, "council-xml",
                   {"format": "auto", "backfill_start": "2018-01-01T00:00:00Z"},
                   {"category": {"ABC_DEF": "bencana.banjir"},
                    "status": {"open": "received", "in_progress": "in_progress",
                               "closed": "resolved"}})
    first = _run(app, conn)
    assert first["status"] == "succeeded", first
    # The request at lat 100 is kept, without its point.
    assert first["counts"]["created"] == 1 and first["counts"]["tidied"] == 1
    [(sid, report)] = _reports(app, "council-xml").items()
    assert sid == "2003" and report["status"] == "in_progress"
    assert report["title"] == "this is a report from confirm"
    assert report["category"] == "bencana.banjir" and report["lat"] is None
    assert report["responses"] == []  # its updates carry statuses only
    assert any(p.startswith("/requests.json") for p in server.seen)  # then XML, learned
    again = _run(app, conn)
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    from hub.models import Connector
    from hub.sync import registry
    with app.app_context():
        checked = registry.build(db.session.get(Connector, conn)).check()
    assert checked["ok"] is True and checked["services"] == 2


def test_fixmystreets_wrapped_json(app, served):
    server = served({"/requests.json": ("fixmystreet/requests.json", JSON)})
    conn = _import(app, server, "fixmystreet", {"format": "json", "responses": False},
                   {"category": {"Potholes": "infrastruktur.jalan",
                                 "Street lighting": "infrastruktur.pju"},
                    "unit": {"Westminster City Council": "kota-bandung"},
                    "status": {"open": "received", "closed": "resolved"}})
    run = _run(app, conn)
    assert run["status"] == "succeeded", run
    reports = _reports(app, "fixmystreet")
    assert sorted(reports) == ["1", "2"]
    assert reports["2"]["status"] == "received" and reports["1"]["status"] == "resolved"
    assert reports["1"]["category"] == "infrastruktur.pju"
    assert reports["2"]["lat"] == pytest.approx(51.5016605453401)
    assert reports["2"]["title"].startswith("Around page Test 2 for 2237")
    assert _run(app, conn)["counts"]["created"] == 0


def test_accelas_naive_timestamps_and_missing_fields(app, served):
    server = served({"/requests.json": ("accela/requests.json", JSON)})
    code = "ServiceRequest-Water.cand.cSewage-Leaking.cFire.cHydrant-NA"
    conn = _import(app, server, "accela", {"format": "json", "responses": False,
                                           "timezone": "America/Los_Angeles"},
                   {"category": {code: "infrastruktur.drainase"},
                    "status": {"Received": "received"}})
    run = _run(app, conn)
    assert run["status"] == "succeeded", run
    reports = _reports(app, "accela")
    assert len(reports) == 3  # two with no timestamps at all are kept too
    hydrant = reports["ISLANDTON-14CAP-00000-00074"]
    assert hydrant["title"] == "This is the description."
    assert reports["ISLANDTON-14CAP-00000-00070"]["title"] == "Leaking Fire Hydrant"
    assert {r["status"] for r in reports.values()} == {"received"}
    again = _run(app, conn)
    assert again["status"] == "succeeded" and again["counts"]["created"] == 0


def test_chicagos_status_notes_arrive_once(app, served):
    server = served({"/requests.json": ("chicago/requests.json", JSON)})
    data = json.loads((FIXTURES / "chicago/requests.json").read_text())
    conn = _import(app, server, "chicago311", {"format": "json", "responses": False},
                   {"category": {r["service_code"]: "infrastruktur.jalan" for r in data},
                    "unit": {r["agency_responsible"]: "kota-bandung" for r in data},
                    "status": {"open": "received", "closed": "resolved"}})
    run = _run(app, conn)
    assert run["status"] == "succeeded", run
    reports = _reports(app, "chicago311")
    assert len(reports) == 50
    first = reports["14-00684314"]
    assert first["status"] == "resolved" and first["address"].startswith("1200 W 81ST ST")
    assert first["responses"] == ["CDOT Inspect Public Way Survey Transfer Outcome"]
    assert all(len(r["responses"]) == 1 for r in reports.values())
    # Read again: no doubles.
    again = _run(app, conn)
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0
    assert sum(len(r["responses"]) for r in _reports(app, "chicago311").values()) == 50
