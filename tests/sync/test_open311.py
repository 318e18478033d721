"""The open311 connector through the real engine, against the Open311 simulator over HTTP."""
import copy
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import HeldRecord, Report, ReportExternalRef, Response, ResponseExternalRef, SyncRun
from hub.sync import files
from simulators.open311.testing import run_simulator

BANDUNG_FILE = Path(__file__).resolve().parents[2] / \
    "mappings/kota-bandung/open311-bandung.yaml"
SYSTEM = "open311-bandung"


@pytest.fixture
def city():
    with run_simulator() as handle:
        yield handle


@pytest.fixture
def bandung_doc(city):
    doc = copy.deepcopy(files.load_file(BANDUNG_FILE))
    config = doc["connector"]["config"]
    config.update({"base_url": city.url, "timeout_seconds": 3, "token_wait_seconds": 0.01,
                   "pagination": {"page_param": "page", "size_param": "page_size",
                                  "size": 5}})
    doc["connector"]["lookback_seconds"] = 60
    return doc


@pytest.fixture
def connector(app, city, bandung_doc):
    """Overrides the Sleman connector: conftest's run_sync runs this one."""
    with app.app_context():
        conn = files.import_document(db.session, bandung_doc,
                                     secrets={"api_key": city.api_key})
        db.session.commit()
        return conn.id


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)
                                  .where(*where)).scalar()


def _hub_report(app, sid):
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == SYSTEM,
            ReportExternalRef.external_id == str(sid))).scalar_one()
        report = ref.report
        return {"id": str(report.id), "title": report.title, "body": report.body,
                "status": report.status, "category": report.category_code,
                "agency": report.agency_code, "channel": report.channel,
                "lat": report.lat, "responses": sorted(db.session.execute(
                    sa.select(Response.body).where(Response.report_id == report.id))
                    .scalars())}


def test_backfill_paged_then_incremental(app, city, run_sync):
    codes = ["JALAN-RUSAK", "PJU", "SAMPAH", "DRAINASE", "BANJIR", "POHON"]
    made = [city.request(service_code=codes[i % len(codes)],
                         description=f"Keluhan nomor {i}\nRincian keluhan warga {i}.",
                         agency_responsible="DLH" if i % 2 else "DSDABM")
            for i in range(12)]
    held = city.request(service_code="PKL", agency_responsible="DISKAMTAM")  # unmapped unit
    city.update(made[0]["service_request_id"], status="IN_PROGRESS")  # status only
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 12 and first["counts"]["held"] == 1
    assert _count(app, Report) == 12
    one = _hub_report(app, made[0]["service_request_id"])
    assert one["title"] == "Keluhan nomor 0" and one["status"] == "in_progress"
    assert one["body"].startswith("Keluhan nomor 0\nRincian")
    assert one["category"] == "infrastruktur.jalan" and one["agency"] == "kota-bandung"
    assert one["channel"] == "open311" and one["lat"] == pytest.approx(-6.93)
    assert one["responses"] == []  # a status-only update is not a response
    with app.app_context():
        hold = db.session.execute(sa.select(HeldRecord)).scalar_one()
        assert hold.external_id == held["service_request_id"]
        assert hold.missing == [{"field": "unit", "value": "DISKAMTAM"}]
    # The cursor is the newest updated_datetime read.
    assert first["cursor_after"]["reports"]["since"] > "2020"
    again = run_sync()
    assert again["status"] == "succeeded"
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    # Incremental: a new request, and an officer closes one with a message.
    new = city.request(service_code="PJU", description="Lampu mati di Dago")
    city.update(made[1]["service_request_id"], status="FIXED",
                description="Lampu sudah diganti.")
    third = run_sync()
    assert third["status"] == "succeeded", third
    assert third["counts"]["created"] == 2  # the request and the update's response
    assert third["counts"]["updated"] == 1
    assert _hub_report(app, new["service_request_id"])["title"] == "Lampu mati di Dago"
    fixed = _hub_report(app, made[1]["service_request_id"])
    assert fixed["status"] == "resolved" and fixed["responses"] == ["Lampu sudah diganti."]
    assert _count(app, Report) == 13


def test_responses_come_from_servicerequestupdates(app, city, run_sync):
    sid = city.request(description="Sampah menumpuk di Cicaheum",
                       service_code="SAMPAH", agency_responsible="DLH")["service_request_id"]
    city.update(sid, description="Laporan diteruskan ke DLH.")
    city.update(sid, status="ACTION_SCHEDULED")
    run = run_sync()
    assert run["status"] == "succeeded", run
    report = _hub_report(app, sid)
    assert report["status"] == "in_progress"
    assert report["responses"] == ["Laporan diteruskan ke DLH."]
    city.update(sid, status="closed", description="Sampah sudah diangkut.")
    run = run_sync()
    report = _hub_report(app, sid)
    assert report["status"] == "resolved"
    assert report["responses"] == ["Laporan diteruskan ke DLH.", "Sampah sudah diangkut."]
    # Re-reading (lookback) takes nothing twice: responses are keyed by update_id.
    again = run_sync()
    assert again["counts"]["created"] == 0
    assert _count(app, Response) == 2
    with app.app_context():
        refs = db.session.execute(sa.select(ResponseExternalRef.external_id)).scalars().all()
    assert sorted(refs) == ["1", "3"]


def _dispositioned_report(national, agency="kota-bandung"):
    report = national.create_report(category="infrastruktur.jalan",
                                    location={"text": "Jl. Asia Afrika", "lat": -6.92,
                                              "lon": 107.61})
    assert national.status(report["id"], "verified").status_code == 200
    resp = national.post(f"/reports/{report['id']}/dispositions", json={"to_agency": agency})
    assert resp.status_code == 200, resp.get_json()
    return report


def test_hub_report_is_pushed_once_and_its_echo_is_only_linked(app, city, run_sync,
                                                                  national, make_caller):
    report = _dispositioned_report(national)
    answer = national.post(f"/reports/{report['id']}/responses",
                           json={"body": "Diteruskan ke OPD."}).get_json()
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert city.store.posts["requests"] == 1
    [local] = city.store.requests.values()
    assert local["_attributes"]["hub_id"] == report["id"]
    assert local["_attributes"]["tracking_id"] == report["tracking_id"]
    assert local["service_code"] == "JALAN-RUSAK" and local["lat"] == pytest.approx(-6.92)
    assert local["description"].startswith(report["title"] + "\n\n")
    assert local["_private"]["first_name"] == "Siti"  # the agency's own system
    texts = [u for u in city.store.updates.values()
             if not u["extended_attributes"]["client_update_id"].startswith("status:")]
    assert [(u["description"], u["extended_attributes"]["client_update_id"])
            for u in texts] == [("Diteruskan ke OPD.", answer["id"])]
    # The first response moved the hub report to in_progress; the city follows.
    assert local["_extended"] == "IN_PROGRESS"
    updates = city.store.posts["updates"]
    # Reading back: echoes, linked, never imported; nothing is pushed twice.
    again = run_sync()
    assert again["status"] == "succeeded", again
    # (the request, the response, and the status update carrying the hub's note)
    assert again["counts"]["created"] == 0 and again["counts"]["echo"] == 3
    assert city.store.posts == {"requests": 1, "updates": updates}
    assert _count(app, Report) == 1 and _count(app, Response) == 1
    assert _hub_report(app, local["service_request_id"])["id"] == report["id"]
    # The city's officer resolves it in the hub: the status goes out as an update...
    bandung = make_caller("kota-bandung")
    assert bandung.status(report["id"], "resolved", note="Sudah ditambal.").status_code == 200
    run_sync()
    assert local["_extended"] == "FIXED" and local["status"] == "closed"
    assert city.store.posts["updates"] == updates + 1
    # ...and its read-back (an update carrying the note) is no new response.
    run_sync()
    assert _count(app, Response) == 1 and city.store.posts["updates"] == updates + 1
    # A local officer writes to the citizen: that arrives as a response.
    city.update(local["service_request_id"], description="Terima kasih atas laporannya.")
    run_sync()
    final = _hub_report(app, local["service_request_id"])
    assert final["status"] == "resolved"
    assert final["responses"] == ["Diteruskan ke OPD.", "Terima kasih atas laporannya."]
    assert city.store.posts == {"requests": 1, "updates": updates + 1}


def test_token_answer_and_a_crash_after_the_write(app, city, run_sync, national,
                                                   monkeypatch):
    city.app.config.update(TOKENS=True, TOKEN_PENDING_LOOKUPS=2)
    from connectors.open311 import Open311Connector
    original = Open311Connector.write_report
    crashes = []

    def write_then_crash(self, values):
        local_id = original(self, values)
        if not crashes:
            crashes.append(local_id)
            raise RuntimeError("worker killed after the local write")
        return local_id

    monkeypatch.setattr(Open311Connector, "write_report", write_then_crash)
    report = _dispositioned_report(national)
    failed = run_sync()
    # An unexpected exception is named, its text kept for the operator's log only.
    assert failed["status"] == "failed" and "RuntimeError" in failed["error"]
    assert "worker killed" not in failed["error"]
    assert city.store.posts["requests"] == 1
    assert crashes == [next(iter(city.store.requests))]  # the token was resolved
    # The retry finds the request by its hub id instead of writing it again.
    retry = run_sync()
    assert retry["status"] == "succeeded", retry
    assert city.store.posts["requests"] == 1
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == SYSTEM)).scalar_one()
        assert str(ref.report_id) == report["id"] and ref.external_id == crashes[0]


def test_find_report_and_find_response_by_hub_id(app, city, connector, run_sync, national):
    report = _dispositioned_report(national)
    posted = national.post(f"/reports/{report['id']}/responses",
                           json={"body": "Segera ditangani."}).get_json()
    run_sync()
    from hub.models import Connector
    from hub.sync import registry
    with app.app_context():
        live = registry.build(db.session.get(Connector, connector))
    [sid] = city.store.requests
    [uid] = [u["update_id"] for u in city.store.updates.values()
             if u["extended_attributes"]["client_update_id"] == posted["id"]]
    assert live.find_report(report["id"]) == sid
    assert live.find_response(posted["id"]) == uid
    assert live.find_report("00000000-0000-0000-0000-000000000000") is None
    assert live.check()["ok"] is True


def test_wrong_api_key_fails_visibly_and_opens_the_circuit(app, city, bandung_doc):
    from hub.models import Connector
    from hub.sync.runner import run_connector
    with app.app_context():
        conn = files.import_document(db.session, bandung_doc, secrets={"api_key": "wrong"})
        db.session.commit()
        run = db.session.get(SyncRun, run_connector(conn.id, "manual"))
        assert run.status == "failed" and "api_key" in run.error
        assert db.session.get(Connector, conn.id).paused is True


def test_server_failure_is_retryable_then_catches_up(app, city, run_sync):
    for i in range(3):
        city.request(description=f"Pohon tumbang {i}", service_code="POHON")
    city.fault("error500")
    failed = run_sync()
    assert failed["status"] == "failed" and "HTTP 500" in failed["error"]
    city.fault(None)
    ok = run_sync()
    assert ok["status"] == "succeeded" and _count(app, Report) == 3
