"""The lapor connector through the real engine, against the SP4N-LAPOR! simulator over HTTP."""
import copy
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.lapor import LaporConnector
from hub.extensions import db
from hub.models import (
    Connector,
    HeldRecord,
    Report,
    ReportEvent,
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
def lapor(request):
    """The simulator; `@pytest.mark.parametrize("lapor", [{...}], indirect=True)` gives
    it a configuration (LEGACY, FORWARDED_BY_ID)."""
    with run_simulator(getattr(request, "param", None)) as handle:
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


# --- forwarding (bukan wewenang) ---------------------------------------------------------

def _held(app):
    with app.app_context():
        return {h.external_id: {"reason": h.reason, "missing": h.missing, "detail": h.detail}
                for h in db.session.execute(sa.select(HeldRecord)).scalars()}


def _told(app, detail):
    """What the officer's pages say of a hold's detail (None: shown as the engine wrote it)."""
    from hub.ui import held
    with app.test_request_context():
        return held.detail(detail)


def _dispositions(app):
    return _count(app, ReportEvent, ReportEvent.type == "report.dispositioned")


def _unchanged(run):
    assert run["status"] == "succeeded", run
    assert run["counts"]["created"] == 0 and run["counts"]["updated"] == 0, run


def test_a_forwarded_complaint_follows_to_its_agency_or_is_held(app, lapor, run_sync):
    road = lapor.complaint(institution_id=340401, status="terdisposisi", category_id=11)
    lapor.followup(road["tracking_id"], content="Akan dicek.", institution_from=340401)
    fresh = lapor.complaint(institution_id=340402, category_id=21)   # not verified yet
    ministry = lapor.complaint(institution_id=340403, status="proses", category_id=31)
    stays = lapor.complaint(institution_id=340403, status="proses", category_id=31)
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert _count(app, Report) == 4 and _count(app, Response) == 1
    assert _hub_report(app, fresh["tracking_id"])["status"] == "received"
    before = _dispositions(app)
    # LAPOR!'s admins: two are Bantul's and the province's, one the ministry's; none of
    # them shows in Sleman's listing any more.
    lapor.forward(road["tracking_id"], 3402)
    lapor.forward(fresh["tracking_id"], 3400)
    lapor.forward(ministry["tracking_id"], 1)
    listed = {c["tracking_id"] for c in lapor.api("GET", "/complaints").json()["data"]}
    assert listed == {stays["tracking_id"]}
    second = run_sync()
    assert second["status"] == "succeeded", second
    assert second["counts"]["updated"] == 2 and second["counts"]["held"] == 1, second
    one = _hub_report(app, road["tracking_id"])
    assert (one["agency"], one["status"]) == ("kab-bantul", "dispositioned")
    two = _hub_report(app, fresh["tracking_id"])  # verified on the way to its disposition
    assert (two["agency"], two["status"]) == ("prov-diy", "dispositioned")
    assert _dispositions(app) == before + 2
    # The ministry is in no table: held, saying what to do, never silently left as ours.
    held = _held(app)
    assert set(held) == {ministry["tracking_id"]}
    assert held[ministry["tracking_id"]]["reason"] == "forwarded"
    assert held[ministry["tracking_id"]]["missing"] == [{"field": "unit", "value": "1"}]
    assert "Kementerian PANRB" in held[ministry["tracking_id"]]["detail"]
    assert "forward_agencies" in held[ministry["tracking_id"]]["detail"]
    told = _told(app, held[ministry["tracking_id"]]["detail"])
    assert "tidak sesuai dengan instansi mana pun" in told and "Kementerian PANRB" in told
    assert _hub_report(app, stays["tracking_id"])["agency"] == "kab-sleman.dinkes"
    # A second run changes nothing: no new disposition, the same hold, nothing pushed.
    _unchanged(run_sync())
    assert _dispositions(app) == before + 2 and set(_held(app)) == {ministry["tracking_id"]}
    assert _count(app, Report) == 4 and _count(app, Response) == 1
    assert lapor.store.posts == {"complaints": 0, "followups": 0, "status": 0}
    # Open as Sleman's: the one still Sleman's, and the held one an officer must place.
    with app.app_context():
        open_here = set(db.session.execute(sa.select(Report.id).where(
            Report.agency_code.like("kab-sleman%"),
            Report.status.not_in(("closed", "rejected")))).scalars())
    assert open_here == {uuid.UUID(_hub_report(app, c["tracking_id"])["id"])
                         for c in (stays, ministry)}


def test_the_held_forward_goes_once_the_officer_names_the_agency(app, lapor, lapor_doc,
                                                                 run_sync, connector):
    gone = lapor.complaint(institution_id=340401, status="terdisposisi", category_id=11)
    run_sync()
    lapor.forward(gone["tracking_id"], 1)
    assert run_sync()["counts"]["held"] == 1
    assert _hub_report(app, gone["tracking_id"])["agency"] == "kab-sleman.dpupkp"
    # The officer names the ministry's agency in the connector file and imports it again.
    lapor_doc["connector"]["config"]["forward_agencies"]["1"] = "kemenpanrb"
    with app.app_context():
        files.import_document(db.session, lapor_doc)
        db.session.commit()
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert _hub_report(app, gone["tracking_id"])["agency"] == "kemenpanrb"
    assert _held(app) == {}
    _unchanged(run_sync())
    assert _dispositions(app) == 1


@pytest.mark.parametrize("lapor", [{"FORWARDED_BY_ID": "404"}, {"FORWARDED_BY_ID": "403"}],
                         indirect=True, ids=["404", "403"])
def test_a_complaint_no_longer_shown_at_all_is_held_for_an_officer(app, lapor, run_sync,
                                                                   sleman):
    road = lapor.complaint(institution_id=340401, status="terdisposisi", category_id=11)
    run_sync()
    lapor.forward(road["tracking_id"], 3402)
    assert lapor.api("GET", f"/complaints/{road['tracking_id']}").status_code in (403, 404)
    run = run_sync()
    assert run["status"] == "succeeded", run
    held = _held(app)[road["tracking_id"]]
    assert held["reason"] == "forwarded" and held["missing"] == []
    assert "no longer shows" in held["detail"]
    assert "Cari tahu ke mana laporan itu pergi" in _told(app, held["detail"])
    _unchanged(run_sync())
    assert _dispositions(app) == 0
    # The officer learns where it went and dispositions it there: the hold clears.
    report_id = _hub_report(app, road["tracking_id"])["id"]
    answer = sleman.post(f"/reports/{report_id}/dispositions", json={"to_agency": "kab-bantul"})
    assert answer.status_code == 200, answer.get_json()
    assert run_sync()["status"] == "succeeded"
    assert _held(app) == {}
    _unchanged(run_sync())
    assert lapor.store.posts["followups"] == 0 and lapor.store.posts["complaints"] == 0


def test_a_hub_report_forwarded_nationally_follows_too(app, lapor, run_sync, sleman):
    report = sleman.create_report(category="infrastruktur.jalan")
    run_sync()
    [tracking_id] = lapor.store.complaints
    pushed = dict(lapor.store.posts)
    # The key still lists the complaints it created, wherever they went.
    lapor.forward(tracking_id, 3402)
    run = run_sync()
    assert run["status"] == "succeeded", run
    one = _hub_report(app, tracking_id)
    assert one["id"] == report["id"] and one["agency"] == "kab-bantul"
    _unchanged(run_sync())
    assert lapor.store.posts == pushed and _count(app, Report) == 1


def test_a_held_complaint_forwarded_away_says_so(app, lapor, run_sync):
    odd = lapor.complaint(institution_id=340404, status="terdisposisi", category_id=5)
    assert run_sync()["counts"]["held"] == 1
    assert _held(app)[odd["tracking_id"]]["reason"] == "unmapped"
    lapor.forward(odd["tracking_id"], 3402)
    run = run_sync()
    assert run["status"] == "succeeded", run
    held = _held(app)[odd["tracking_id"]]
    assert held["reason"] == "forwarded" and "Discard it" in held["detail"]
    assert "Buang catatan ini" in _told(app, held["detail"])
    assert _count(app, Report) == 0
    _unchanged(run_sync())


def test_recheck_asks_only_what_the_listing_left_out_in_chunks(app, lapor, lapor_doc,
                                                               run_sync, monkeypatch):
    complaints = [lapor.complaint(institution_id=340401, status="terdisposisi",
                                  category_id=11, title=f"Jalan {i}") for i in range(5)]
    run_sync()
    for c in complaints[:4]:
        lapor.forward(c["tracking_id"], 3402)
    calls = []
    original = LaporConnector._send

    def counting(self, method, path, **kw):
        calls.append((path, (kw.get("params") or {}).get("tracking_id")))
        return original(self, method, path, **kw)

    monkeypatch.setattr(LaporConnector, "_send", counting)
    with app.app_context():
        db.session.get(Connector, "sp4n-lapor-sleman").config = {
            **lapor_doc["connector"]["config"], "recheck_chunk": 2}
        db.session.commit()
    assert run_sync()["status"] == "succeeded"
    # The fifth is still listed (the look-back window re-reads it): it is not asked.
    chunks = [ids for path, ids in calls if path == "/complaints" and ids]
    assert len(chunks) == 2 and all(len(c.split(",")) == 2 for c in chunks), calls
    assert sorted(i for c in chunks for i in c.split(",")) == \
        sorted(c["tracking_id"] for c in complaints[:4])
    by_id = [p for p, _ in calls if p.startswith("/complaints/") and "/" not in p[12:]]
    assert sorted(p.rsplit("/", 1)[1] for p in by_id) == \
        sorted(c["tracking_id"] for c in complaints[:4])
    assert all(_hub_report(app, c["tracking_id"])["agency"] == "kab-bantul"
               for c in complaints[:4])
    # Now Bantul's in the hub: no longer this connector's to ask for, run after run.
    calls.clear()
    _unchanged(run_sync())
    assert [ids for path, ids in calls if path == "/complaints" and ids] == []
    assert not [p for p, _ in calls if p.startswith("/complaints/")
                and not p.endswith("/followups")]


# --- on hold (tertunda) ------------------------------------------------------------------

def test_a_complaint_put_on_hold_arrives_as_received_and_moves_on(app, lapor, run_sync):
    waiting = lapor.complaint(institution_id=340401, category_id=11)
    lapor.hold(waiting["tracking_id"])
    assert lapor.store.complaints[waiting["tracking_id"]]["status"] == "tertunda"
    first = run_sync()
    assert first["status"] == "succeeded" and first["counts"]["created"] == 1, first
    assert _hub_report(app, waiting["tracking_id"])["status"] == "received"
    assert _held(app) == {}
    _unchanged(run_sync())
    # The reporter completes it: LAPOR! verifies and dispositions it.
    lapor.status(waiting["tracking_id"], "terdisposisi")
    assert run_sync()["counts"]["updated"] == 1
    assert _hub_report(app, waiting["tracking_id"])["status"] == "dispositioned"


# --- the legacy API (KEYTOKEN, XML submissions, string ids) ------------------------------

@pytest.mark.parametrize("lapor", [{"LEGACY": True}], indirect=True, ids=["legacy"])
def test_the_legacy_api_takes_xml_submissions_and_string_ids(app, lapor, lapor_doc,
                                                              sleman):
    from hub.sync.runner import run_connector
    lapor_doc["connector"]["config"].update({
        "token_header": "KEYTOKEN", "submit_path": "/api/services/laporan",
        "submit_format": "xml"})
    lapor_doc["connector"].pop("secrets_env", None)
    with app.app_context():
        conn = files.import_document(db.session, lapor_doc, secrets={"token": lapor.token})
        db.session.commit()
        conn_id = conn.id

    def run():
        with app.app_context():
            found = db.session.get(SyncRun, run_connector(conn_id, "manual"))
            return {"status": found.status, "counts": dict(found.counts),
                    "error": found.error}

    incoming = lapor.complaint(institution_id=340402, status="terdisposisi",
                               category_id=21, title="Sampah <liar> & bau")
    report = sleman.create_report(title='Lampu "PJU" mati <3 & gelap',
                                  category="infrastruktur.pju",
                                  reporter={"name": "Ana & <Budi>", "phone": "0812",
                                            "email": "ana@example.id"})
    sleman.post(f"/reports/{report['id']}/responses", json={"body": "Dijadwalkan."})
    first = run()
    assert first["status"] == "succeeded", first
    assert lapor.store.posts["complaints"] == 1 and lapor.store.posts["followups"] == 1
    national = next(c for c in lapor.store.complaints.values()
                    if c["external_id"] == report["id"])
    assert national["title"] == 'Lampu "PJU" mati <3 & gelap'
    assert national["reporter"]["name"] == "Ana & <Budi>"
    assert (national["category_id"], national["institution_id"]) == (12, 3404)
    listed = lapor.api("GET", "/complaints").json()["data"]
    assert all(isinstance(c["tracking_id"], str) and isinstance(c["institution_id"], str)
               for c in listed)
    # The id round-trips as the string LAPOR! gave.
    with app.app_context():
        refs = dict(db.session.execute(sa.select(ReportExternalRef.external_id,
                                                 ReportExternalRef.report_id).where(
            ReportExternalRef.system == SYSTEM)).all())
    assert str(refs[national["tracking_id"]]) == report["id"]
    assert isinstance(national["tracking_id"], str)
    assert _hub_report(app, incoming["tracking_id"])["agency"] == "kab-sleman.dlh"
    assert _hub_report(app, incoming["tracking_id"])["title"] == "Sampah <liar> & bau"
    again = run()
    assert again["status"] == "succeeded" and again["counts"]["created"] == 0, again
    assert lapor.store.posts["complaints"] == 1 and lapor.store.posts["followups"] == 1
    assert _count(app, Report) == 2
    # The modern form is refused by the legacy API: only the configured one was used.
    assert lapor.api("POST", "/complaints", json={"title": "x"}).status_code == 404
    # `hub connector check` finds the agency among the legacy master data (string ids,
    # roots with parent "0"), and the lookup by hub id answers the string id.
    with app.app_context():
        live = registry.build(db.session.get(Connector, conn_id))
    assert live.check()["ok"] is True
    assert live.find_report(report["id"]) == national["tracking_id"]


def test_the_submission_xml_escapes_everything_and_drops_what_xml_cannot_carry():
    from defusedxml import ElementTree as SafeXML

    from connectors.lapor import submission_xml
    body = {"title": "A < B & \"C\" \x07", "content": "isi ]]> <script>", "category_id": "11",
            "institution_id": "3404", "is_secret": True, "is_anonymous": False,
            "reporter": {"name": "O'Neil & Sons", "phone": None}, "external_id": "h-1"}
    root = SafeXML.fromstring(submission_xml(body, 'tok"en<'))
    assert root.tag == "lapor" and root.get("token") == 'tok"en<'
    report = root.find("laporan")
    assert (report.get("rahasia"), report.get("anonim")) == ("1", "0")
    assert report.findtext("judul") == 'A < B & "C" '
    assert report.findtext("isi") == "isi ]]> <script>"
    assert report.findtext("kategori") == "11" and report.findtext("external_id") == "h-1"
    assert root.find("pelapor").findtext("nama") == "O'Neil & Sons"
    assert root.find("pelapor").find("telepon") is None


def test_a_misspelt_lapor_key_is_refused_by_name(app):
    from hub.sync import manifest
    config = {**files.load_file(LAPOR_FILE)["connector"]["config"], "submit_fromat": "xml"}
    with app.app_context():
        [problem] = manifest.problems("lapor", config)
        assert "unknown key 'submit_fromat'" in problem
        assert manifest.problems("lapor", {**config, "submit_fromat": None,
                                           "submit_format": "yaml"})[0].startswith(
            "connector.config.submit_format: 'yaml' is not one of")


def test_a_reconciliation_asks_by_id_for_what_left_the_listing(app, lapor, run_sync,
                                                              connector):
    """The full comparison reads the listing and, like a sync, asks by id for the
    complaints the hub holds open that it no longer shows: forwarded ones follow to their
    agency (not counted gone), and nothing else is written."""
    from hub.sync.reconcile import reconcile_connector
    road = lapor.complaint(institution_id=340401, status="terdisposisi", category_id=11)
    stays = lapor.complaint(institution_id=340403, status="proses", category_id=31)
    assert run_sync()["counts"]["created"] == 2
    before = _dispositions(app)
    lapor.forward(road["tracking_id"], 3402)
    with app.app_context():
        run = db.session.get(SyncRun, reconcile_connector(connector, "manual"))
        status, counts = run.status, dict(run.counts)
    assert status == "succeeded", (status, counts)
    assert (counts["changed"], counts["missing"], counts["gone"]) == (1, 0, 0), counts
    one = _hub_report(app, road["tracking_id"])
    assert (one["agency"], one["status"]) == ("kab-bantul", "dispositioned")
    assert _dispositions(app) == before + 1
    assert _hub_report(app, stays["tracking_id"])["agency"] == "kab-sleman.dinkes"
    _unchanged(run_sync())
    assert lapor.store.posts == {"complaints": 0, "followups": 0, "status": 0}
