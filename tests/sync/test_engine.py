"""The sync engine against the Sleman simulator over real HTTP, on PostgreSQL."""
import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import HeldRecord, Report, ReportEvent, ReportExternalRef, Response, SyncRecordError
from hub.sync import files


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)
                                  .where(*where)).scalar()


def test_full_backfill_then_incremental(app, sim, run_sync):
    sim.generate(120, seed=3, with_responses=True)
    local_responses = len(sim.store.tanggapan)
    unmapped_units = {a for a, r in sim.store.aduan.items() if r["opd"] == "INSPEKTORAT"}
    waiting = sum(1 for t in sim.store.tanggapan.values() if t["id_aduan"] in unmapped_units)
    first = run_sync()
    assert first["status"] == "succeeded", first
    # Every record is accounted for: taken, or held (unmapped unit, or waiting for it).
    assert first["counts"]["held"] == len(unmapped_units) + waiting
    assert first["counts"]["created"] == 120 + local_responses - first["counts"]["held"]
    assert _count(app, Report) == 120 - len(unmapped_units)
    assert _count(app, Response) == local_responses - waiting
    # Local statuses arrived mapped; units became the responsible OPD.
    with app.app_context():
        agencies = set(db.session.execute(sa.select(Report.agency_code)).scalars())
        assert agencies and all(a.startswith("kab-sleman.") for a in agencies)
    # Nothing new: a rerun reads the lookback window and changes nothing.
    again = run_sync()
    assert again["counts"]["created"] == 0 and again["counts"]["updated"] == 0
    events_before = _count(app, ReportEvent)
    # Incremental: one new complaint, one status change, one response.
    new = sim.control("aduan", {"judul": "Lampu PJU mati", "kategori": "PJU", "opd": "DPUPKP"})
    sim.control("aduan/1/status", {"status": "Selesai"})
    sim.control("aduan/2/tanggapan", {"isi": "Sudah ditangani"})
    third = run_sync()
    assert third["status"] == "succeeded", third
    assert third["counts"]["created"] == 2  # the complaint and the response
    assert _count(app, Report) == 121 - len(unmapped_units)
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.external_id == str(new["data"]["id_aduan"]))).scalar_one()
        assert ref.report.title == "Lampu PJU mati"
        one = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == "lapor-sleman",
            ReportExternalRef.external_id == "1")).scalar_one()
        assert one.report.status == "resolved"
    assert _count(app, ReportEvent) > events_before


def test_unmapped_values_hold_records_until_mapped(app, sim, run_sync, connector):
    sim.control("aduan", {"judul": "Izin usaha lama", "kategori": "IZIN", "opd": "DPUPKP"})
    sim.control("aduan", {"judul": "Temuan inspektorat", "kategori": "PJU",
                          "opd": "INSPEKTORAT"})
    run = run_sync()
    assert run["counts"]["held"] == 2 and run["status"] == "succeeded"
    assert _count(app, Report) == 0
    with app.app_context():
        missing = sorted((h.missing[0]["field"], h.missing[0]["value"])
                         for h in db.session.execute(sa.select(HeldRecord)).scalars())
    assert missing == [("category", "IZIN"), ("unit", "INSPEKTORAT")]
    # The officer maps them; the next run (or a replay) brings the records in.
    from hub.sync import files
    with app.app_context():
        files.replace_mappings(db.session, connector, {
            "category": {**_existing(app, connector, "category"),
                         "IZIN": "pelayanan-publik.perizinan"},
            "unit": {**_existing(app, connector, "unit"),
                     "INSPEKTORAT": "kab-sleman.inspektorat"}}, "test")
        db.session.commit()
    run = run_sync()
    assert run["counts"]["replayed"] == 2
    assert _count(app, Report) == 2 and _count(app, HeldRecord) == 0


def _existing(app, connector, field):
    from hub.models import Mapping
    return {m.local_value: m.hub_value for m in db.session.execute(
        sa.select(Mapping).where(Mapping.connector_id == connector, Mapping.field == field)
    ).scalars()}


def test_response_before_its_report_waits(app, sim, run_sync, connector):
    created = sim.control("aduan", {"judul": "Sampah", "kategori": "IZIN", "opd": "DLH"})
    sim.control(f"aduan/{created['data']['id_aduan']}/tanggapan", {"isi": "Segera diangkut"})
    run = run_sync()
    assert run["counts"]["held"] == 2  # the report (unmapped) and its response (waiting)
    with app.app_context():
        reasons = {h.stream: h.reason for h in db.session.execute(sa.select(HeldRecord))
                   .scalars()}
    assert reasons == {"reports": "unmapped", "responses": "waiting"}


def test_hub_reports_reach_the_local_system_once(app, sim, run_sync, national):
    report = national.create_report(category="infrastruktur.jalan")
    assert national.status(report["id"], "verified").status_code == 200
    resp = national.post(f"/reports/{report['id']}/dispositions",
                         json={"to_agency": "kab-sleman.dpupkp"})
    assert resp.status_code == 200, resp.get_json()
    national.post(f"/reports/{report['id']}/responses", json={"body": "Diteruskan ke OPD."})
    run = run_sync()
    assert run["status"] == "succeeded", run
    local = [r for r in sim.store.aduan.values() if r["sumber"] == "hub"]
    assert len(local) == 1
    assert local[0]["id_eksternal"] == report["id"]
    assert local[0]["opd"] == "DPUPKP" and local[0]["kategori"] == "JLN-RSK"
    assert [t["isi"] for t in sim.store.tanggapan.values()] == ["Diteruskan ke OPD."]
    # Reading it back is an echo: linked, never imported as a new report.
    again = run_sync()
    assert again["counts"]["created"] == 0
    assert _count(app, Report) == 1
    assert len(sim.store.aduan) == 1 and len(sim.store.tanggapan) == 1
    # A local officer finishes it: the status flows back to the hub, and is not pushed out.
    sim.control(f"aduan/{local[0]['id_aduan']}/status", {"status": "Selesai"})
    run_sync()
    assert national.get(f"/reports/{report['id']}").get_json()["status"] == "resolved"
    assert sim.store.aduan[local[0]["id_aduan"]]["status"] == "Selesai"


def test_local_system_down_fails_visibly_then_catches_up(app, sim, run_sync, connector):
    sim.generate(30, seed=5)
    sim.fault("error500")
    failed = run_sync()
    assert failed["status"] == "failed" and "HTTP 500" in failed["error"]
    assert _count(app, Report) == 0
    sim.fault("none")
    ok = run_sync()
    assert ok["status"] == "succeeded" and _count(app, Report) == 30


@pytest.mark.page_numbers  # stall and duplicate_pages are page-number faults
def test_each_fault_then_exact_catch_up(app, sim, run_sync):
    sim.generate(450, seed=9)
    for mode in ("garbage", "wrong_shape", "timeout", "stall", "duplicate_pages"):
        sim.fault(mode, delay=5)
        run = run_sync()
        assert run["status"] == "failed", (mode, run)
        sim.fault("none")
    sim.fault("reorder")
    run = run_sync()
    assert run["status"] == "succeeded"
    sim.fault("none")
    run_sync()
    assert _count(app, Report) == 450
    with app.app_context():
        refs = db.session.execute(sa.select(ReportExternalRef.external_id)).scalars().all()
    assert len(refs) == len(set(refs)) == 450


def test_bad_record_is_visible_and_does_not_block_the_rest(app, sim, run_sync):
    sim.generate(10, seed=11)
    sim.fault("bad_record", count=1)
    run = run_sync()
    assert run["status"] == "partial"
    assert run["counts"]["failed"] == 1
    assert _count(app, Report) == 9
    with app.app_context():
        error = db.session.execute(sa.select(SyncRecordError)).scalar_one()
    assert "title" in error.reason and error.stream == "reports"
    run_sync()  # the lookback window re-reads the good copy
    assert _count(app, Report) == 10


def test_local_clock_behind_is_caught_by_the_lookback(app, sim, run_sync):
    sim.generate(5, seed=41)
    run_sync()
    # The local server's clock falls 40 s behind (the fixture's lookback is 60 s): its new
    # records carry times older than the hub's cursor, and must still arrive.
    sim.control("clock", {"offset_seconds": -40})
    sim.control("aduan", {"judul": "Jam server mundur", "kategori": "PJU", "opd": "DPUPKP"})
    run = run_sync()
    assert run["counts"]["created"] == 1, run
    assert _count(app, Report) == 6


def test_saving_a_mapping_releases_a_report_and_its_waiting_response_together(
        app, sim, run_sync, connector, make_caller):
    officer = make_caller("kab-sleman", "reports:read reports:write mappings:write")
    created = sim.control("aduan", {"judul": "Sampah", "kategori": "IZIN", "opd": "DLH"})
    sim.control(f"aduan/{created['data']['id_aduan']}/tanggapan", {"isi": "Segera diangkut"})
    assert run_sync()["counts"]["held"] == 2
    # Matched whatever the local system's case and spacing ("izin " is the same word).
    saved = officer.put(f"/connectors/{connector}/mappings",
                        json={"mappings": {"category": {"izin ": "pelayanan-publik.perizinan"}}})
    # The report is replayed before its response, so one save releases both.
    assert saved.status_code == 200 and saved.get_json()["held"] == 0
    with app.app_context():
        assert _count(app, HeldRecord) == 0
        assert [r.body for r in db.session.execute(sa.select(Response)).scalars()] == \
            ["Segera diangkut"]


@pytest.mark.parametrize("declared", [None, "pull"])
def test_a_read_only_source_reads_and_never_fails_on_pushes(app, sim, national, sleman_doc,
                                                             declared):
    """A local system the hub may only read (no `write` section, or `direction: pull`):
    the agency's reports from other channels are not pushed to it, and its runs succeed."""
    from hub.models import SyncRun
    from hub.sync.runner import run_connector
    doc = sleman_doc
    if declared:
        doc["connector"]["config"]["direction"] = declared
    else:
        del doc["connector"]["config"]["write"]
    with app.app_context():
        conn = files.import_document(db.session, doc, secrets={"api_key": sim.api_key})
        db.session.commit()
        conn_id = conn.id
    report = national.create_report(category="infrastruktur.jalan")
    national.status(report["id"], "verified")
    national.post(f"/reports/{report['id']}/dispositions", json={"to_agency": "kab-sleman"})
    sim.generate(5, seed=41)
    for _ in range(2):
        with app.app_context():
            run = db.session.get(SyncRun, run_connector(conn_id, "manual"))
            assert run.status == "succeeded", run.error
            assert run.counts["created"] in (5, 0)
    assert not [r for r in sim.store.aduan.values() if r["sumber"] == "hub"]
