"""The lapor connector through the real engine, against the SP4N-LAPOR! simulator over HTTP."""
import copy
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import (
    Connector,
    HeldRecord,
    Report,
    ReportExternalRef,
    Response,
    ResponseExternalRef,
    SyncRun,
)
from hub.sync import files, registry
from simulators.lapor.testing import run_simulator

LAPOR_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/sp4n-lapor.yaml"
SYSTEM = "sp4n-lapor"


@pytest.fixture
def lapor():
    with run_simulator() as handle:
        yield handle


@pytest.fixture
def lapor_doc(lapor):
    doc = copy.deepcopy(files.load_file(LAPOR_FILE))
    doc["connector"]["config"].update({"base_url": lapor.url, "timeout_seconds": 3,
                                       "page_size": 3})
    doc["connector"]["lookback_seconds"] = 60
    return doc


@pytest.fixture
def connector(app, lapor, lapor_doc):
    """Overrides the Sleman connector: conftest's run_sync runs this one."""
    with app.app_context():
        conn = files.import_document(db.session, lapor_doc, secrets={
            "api_key": lapor.api_key, "token": lapor.token})
        db.session.commit()
        return conn.id


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)
                                  .where(*where)).scalar()


def _hub_report(app, tracking_id):
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == SYSTEM,
            ReportExternalRef.external_id == str(tracking_id))).scalar_one()
        report = ref.report
        responses = db.session.execute(sa.select(Response).where(
            Response.report_id == report.id).order_by(Response.created_at)).scalars()
        return {"id": str(report.id), "title": report.title, "status": report.status,
                "category": report.category_code, "agency": report.agency_code,
                "channel": report.channel, "anonymous": report.anonymous,
                "confidential": report.confidential, "reporter": report.reporter_name,
                "classification": report.classification,
                "responses": [(r.body, r.author_name) for r in responses]}


def test_complaints_dispositioned_nationally_arrive(app, lapor, run_sync):
    road = lapor.complaint(institution_id=340401, status="terdisposisi", category_id=11)
    trash = lapor.complaint(institution_id=340402, status="terdisposisi", category_id=21,
                            title="Sampah menumpuk", source="sms",
                            classification="aspirasi")
    lapor.followup(trash["tracking_id"], content="Sedang ditangani DLH.",
                   institution_from=340402)
    secret = lapor.complaint(institution_id=3404, status="terdisposisi", category_id=41,
                             title="Pungutan saat urus KTP", is_anonymous=True,
                             is_secret=True, source="android")
    lapor.complaint(institution_id=3402, status="terdisposisi")     # Bantul's: not ours
    lapor.complaint()                                               # not dispositioned yet
    held = lapor.complaint(institution_id=340404, status="terdisposisi",
                           category_id=5)                           # unmapped ids
    for i in range(4):  # enough for several pages (page_size 3)
        lapor.complaint(institution_id=340403, status="proses", category_id=31,
                        title=f"Antrean puskesmas {i}")
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 3 + 4 + 1  # complaints and the follow-up
    assert first["counts"]["held"] == 1
    assert _count(app, Report) == 7
    one = _hub_report(app, road["tracking_id"])
    assert (one["category"], one["agency"], one["status"]) == \
        ("infrastruktur.jalan", "kab-sleman.dpupkp", "dispositioned")
    assert one["reporter"] == "Budi Santoso"
    two = _hub_report(app, trash["tracking_id"])
    assert two["agency"] == "kab-sleman.dlh" and two["channel"] == "sms"
    assert two["classification"] == "aspiration"
    assert two["status"] == "in_progress"  # a follow-up moves LAPOR! to `proses`
    assert two["responses"] == [("Sedang ditangani DLH.",
                                 "Dinas Lingkungan Hidup Kabupaten Sleman")]
    three = _hub_report(app, secret["tracking_id"])
    assert three["anonymous"] and three["confidential"] and three["reporter"] is None
    assert three["agency"] == "kab-sleman"
    with app.app_context():
        hold = db.session.execute(sa.select(HeldRecord)).scalar_one()
        assert hold.external_id == held["tracking_id"]
        assert sorted(m["field"] for m in hold.missing) == ["category", "unit"]
    again = run_sync()
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    # Nationally: finished, and the ministry adds a follow-up.
    lapor.status(road["tracking_id"], "selesai")
    lapor.followup(trash["tracking_id"], content="Mohon segera diselesaikan.",
                   institution_from=1, institution_to=340402)
    third = run_sync()
    assert third["status"] == "succeeded", third
    assert third["counts"]["created"] == 1 and third["counts"]["updated"] == 1
    assert _hub_report(app, road["tracking_id"])["status"] == "resolved"
    assert _hub_report(app, trash["tracking_id"])["responses"][-1] == \
        ("Mohon segera diselesaikan.", "Kementerian PANRB")
    # Nothing went back to LAPOR!: those changes came from it.
    assert lapor.store.posts == {"complaints": 0, "followups": 0, "status": 0}


def test_hub_reports_and_followups_are_forwarded_once(app, lapor, run_sync, sleman):
    report = sleman.create_report(category="infrastruktur.jalan", channel="instagram")
    answer = sleman.post(f"/reports/{report['id']}/responses",
                         json={"body": "Tim PU sudah dijadwalkan."})
    assert answer.status_code == 201, answer.get_json()
    internal = sleman.post(f"/reports/{report['id']}/responses",
                           json={"body": "Catatan internal", "visibility": "internal"})
    assert internal.status_code == 201
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert lapor.store.posts["complaints"] == 1 and lapor.store.posts["followups"] == 1
    [national] = lapor.store.complaints.values()
    assert national["external_id"] == report["id"]
    assert (national["category_id"], national["institution_id"], national["source"]) == \
        (11, 3404, "instagram")
    assert national["reporter"]["name"] == "Siti Rahayu"
    [followup] = lapor.store.followups.values()
    assert followup["external_id"] == answer.get_json()["id"]
    assert followup["institution_from"] == 3404
    assert followup["content"] == "Tim PU sudah dijadwalkan."
    status_posts = lapor.store.posts["status"]
    # The national copies read back are echoes: linked, never imported again.
    again = run_sync()
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == 0
    assert _count(app, Report) == 1 and _count(app, Response) == 2
    assert lapor.store.posts == {"complaints": 1, "followups": 1, "status": status_posts}
    assert _hub_report(app, national["tracking_id"])["id"] == report["id"]
    with app.app_context():
        assert db.session.execute(sa.select(ResponseExternalRef.external_id).where(
            ResponseExternalRef.system == SYSTEM)).scalars().all() == [str(followup["id"])]
    # LAPOR! finishes it: the hub follows, and nothing is echoed back.
    lapor.status(national["tracking_id"], "selesai")
    run_sync()
    assert _hub_report(app, national["tracking_id"])["status"] == "resolved"
    assert lapor.store.posts == {"complaints": 1, "followups": 1, "status": status_posts}


def test_hub_status_changes_reach_lapor(app, lapor, run_sync, sleman):
    report = sleman.create_report(category="kesehatan.puskesmas")
    run_sync()
    [national] = lapor.store.complaints.values()
    assert national["status"] == "belum_terverifikasi"
    assert sleman.status(report["id"], "verified").status_code == 200
    run_sync()
    assert national["status"] == "terverifikasi"
    assert lapor.store.posts["status"] == 1


def test_anonymous_reporter_never_leaves_and_unmapped_category_uses_default(
        app, lapor, run_sync, sleman):
    sleman.create_report(category="korupsi.pungli", privacy={"anonymous": True,
                                                             "confidential": True})
    run = run_sync()
    assert run["status"] == "succeeded", run
    [national] = lapor.store.complaints.values()
    assert national["is_anonymous"] and national["is_secret"]
    assert national["reporter"] is None
    assert national["category_id"] == 99  # default_category_id: Lainnya


def _crash_once(monkeypatch, name):
    from connectors.lapor import LaporConnector
    original = getattr(LaporConnector, name)
    crashed = []

    def write_then_crash(self, *args):
        result = original(self, *args)
        if not crashed:
            crashed.append(result)
            raise RuntimeError("worker killed after the remote write")
        return result

    monkeypatch.setattr(LaporConnector, name, write_then_crash)
    return crashed


def test_retry_after_a_crash_finds_the_complaint_by_hub_id(app, lapor, run_sync, sleman,
                                                           monkeypatch):
    from connectors.lapor import LaporConnector
    crashed = _crash_once(monkeypatch, "write_report")
    report = sleman.create_report()
    failed = run_sync()
    # An unexpected exception is named, its text kept for the operator's log only.
    assert failed["status"] == "failed" and "RuntimeError" in failed["error"]
    assert "worker killed" not in failed["error"]
    assert lapor.store.posts["complaints"] == 1
    # The retry reads nothing first (so no echo links it): only the lookup by hub id
    # (GET /complaints?external_id=) can stop a second complaint.
    monkeypatch.setattr(LaporConnector, "streams", ())
    retry = run_sync()
    assert retry["status"] == "succeeded", retry
    assert lapor.store.posts["complaints"] == 1
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == SYSTEM)).scalar_one()
        assert str(ref.report_id) == report["id"] and ref.external_id == crashed[0]
    monkeypatch.setattr(LaporConnector, "streams", ("reports", "responses"))
    run_sync()
    assert lapor.store.posts["complaints"] == 1 and _count(app, Report) == 1


def test_retry_after_a_crash_finds_the_followup_by_hub_id(app, lapor, run_sync, sleman,
                                                          monkeypatch):
    from connectors.lapor import LaporConnector
    report = sleman.create_report()
    run_sync()
    crashed = _crash_once(monkeypatch, "write_response")
    sleman.post(f"/reports/{report['id']}/responses", json={"body": "Sudah diperbaiki."})
    failed = run_sync()
    assert failed["status"] == "failed", failed
    assert lapor.store.posts["followups"] == 1
    monkeypatch.setattr(LaporConnector, "streams", ())
    retry = run_sync()
    assert retry["status"] == "succeeded", retry
    assert lapor.store.posts["followups"] == 1
    with app.app_context():
        assert db.session.execute(sa.select(ResponseExternalRef.external_id).where(
            ResponseExternalRef.system == SYSTEM)).scalars().all() == [crashed[0]]


def test_masters_check_and_lookup(app, lapor, connector, sleman, run_sync):
    with app.app_context():
        live = registry.build(db.session.get(Connector, connector))
    masters = live.masters()
    assert {"id": 340401, "parent_id": 3404, "name": "Dinas PUPKP Kabupaten Sleman"} in \
        masters["institutions"]
    assert any(c["id"] == 11 for c in masters["categories"])
    assert live.check()["ok"] is True
    report = sleman.create_report()
    run_sync()
    [tracking_id] = lapor.store.complaints
    assert live.find_report(report["id"]) == tracking_id
    assert live.find_report("00000000-0000-0000-0000-000000000000") is None


def test_wrong_token_fails_visibly_and_opens_the_circuit(app, lapor, lapor_doc):
    from hub.sync.runner import run_connector
    with app.app_context():
        conn = files.import_document(db.session, lapor_doc, secrets={
            "api_key": lapor.api_key, "token": "expired"})
        db.session.commit()
        run = db.session.get(SyncRun, run_connector(conn.id, "manual"))
        assert run.status == "failed" and "token" in run.error
        assert db.session.get(Connector, conn.id).paused is True


def test_lapor_down_is_retryable_then_catches_up(app, lapor, run_sync):
    lapor.complaint(institution_id=340401, status="terdisposisi")
    lapor.control("fault", {"mode": "down"})
    failed = run_sync()
    assert failed["status"] == "failed" and "HTTP 503" in failed["error"]
    with app.app_context():
        assert db.session.execute(sa.select(Connector)).scalar_one().paused is False
    lapor.control("fault", {"mode": None})
    assert run_sync()["status"] == "succeeded" and _count(app, Report) == 1


def test_the_shipped_mapping_knows_every_lapor_status():
    """An unmapped status holds its complaints; LAPOR!'s own statuses must never be one."""
    from simulators.lapor.app import STATUSES
    table = files.load_file(LAPOR_FILE)["mappings"]["status"]
    assert set(STATUSES) <= set(table), set(STATUSES) - set(table)
