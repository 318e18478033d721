"""Reconciliation of sources that cannot report changes: the common "pengaduan
masyarakat" schema (no last-modified column) behind the SQL connector, and a REST source
whose clock was set back, through the real engine."""
import os
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import (
    Connector,
    Report,
    ReportEvent,
    ReportExternalRef,
    Response,
    StreamState,
    SyncRun,
)
from hub.sync import reconcile
from hub.sync.reconcile import reconcile_connector
from hub.sync.runner import run_connector
from tests.sync import ukk

TODAY = date.today()


@pytest.fixture(params=["postgresql", "mariadb"])
def source(request):
    """The dump in PostgreSQL, and in MariaDB, the server it was taken from."""
    engine = request.param
    if engine == "mariadb":
        ukk.need_mariadb()
    name = f"ukk_src_{os.getpid()}"
    yield ukk.create_source(name, engine=engine)
    ukk.drop_source(name, engine=engine)


def _run(app, fn, cid):
    with app.app_context():
        run_id = fn(cid, "manual")
        assert run_id is not None
        r = db.session.get(SyncRun, run_id)
        return {"kind": r.kind, "status": r.status, "counts": dict(r.counts),
                "error": r.error, "cursor_before": r.cursor_before,
                "cursor_after": r.cursor_after}


def sync(app, cid):
    return _run(app, run_connector, cid)


def reconcile_now(app, cid):
    return _run(app, reconcile_connector, cid)


def hub_state(app, system):
    with app.app_context():
        rows = db.session.execute(sa.select(ReportExternalRef.external_id, Report).join(
            Report, Report.id == ReportExternalRef.report_id).where(
            ReportExternalRef.system == system)).all()
        return {ext: (r.title, r.status) for ext, r in rows}


def add_complaint(url, ident, day, text=None, status="0"):
    ukk.execute(url, "INSERT INTO pengaduan VALUES (%s, %s, '3573030508070009', %s, "
                "NULL, %s)", ident, day, text or f"Aduan warga nomor {ident}", status)


def test_status_changes_edits_and_back_dated_rows_arrive_by_reconciliation(app, source):
    for ident in range(2, 33):  # the dump's own row 1, and 31 more
        add_complaint(source, ident, TODAY - timedelta(days=1))
    cid = ukk.connect(app, source, "ukk-reconcile")
    first = sync(app, cid)
    assert first["status"] == "succeeded" and first["counts"]["created"] == 32, first

    # What a day at the office does to this schema: 30 status moves and one edit (the
    # row's date is the complaint's and does not move), 3 rows entered back-dated.
    for ident in range(2, 32):
        ukk.execute(source, "UPDATE pengaduan SET status = %s WHERE id_pengaduan = %s",
                    "proses" if ident % 2 else "selesai", ident)
    ukk.execute(source, "UPDATE pengaduan SET isi_laporan = 'Jalan berlubang di depan "
                "pasar' WHERE id_pengaduan = 32")
    for ident in (40, 41, 42):
        add_complaint(source, ident, TODAY - timedelta(days=30))
    missed = sync(app, cid)
    assert missed["status"] == "succeeded"
    assert missed["counts"]["created"] == 0 and missed["counts"]["updated"] == 0, missed

    run = reconcile_now(app, cid)
    assert run["kind"] == "reconcile" and run["status"] == "succeeded", run
    counts = run["counts"]
    assert (counts["missing"], counts["changed"], counts["gone"]) == (3, 31, 0), counts
    assert counts["read"] == 35 and counts["unchanged"] == 1, counts
    assert run["cursor_after"] == run["cursor_before"]  # the sync's cursor is left be
    got = hub_state(app, "ukk-reconcile")
    assert len(got) == 35
    for ident in range(2, 32):
        assert got[str(ident)][1] == ("in_progress" if ident % 2 else "resolved")
    assert got["32"] == ("Jalan berlubang di depan pasar", "received")
    assert {"40", "41", "42"} <= set(got)

    # Nothing differs any more: nothing is written, no event is added.
    with app.app_context():
        events = db.session.execute(sa.select(sa.func.count()).select_from(ReportEvent)
                                    ).scalar()
    again = reconcile_now(app, cid)
    assert again["status"] == "succeeded"
    assert (again["counts"]["missing"], again["counts"]["changed"]) == (0, 0), again
    assert again["counts"]["unchanged"] == 35
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(ReportEvent)
                                  ).scalar() == events
    assert sync(app, cid)["counts"]["created"] == 0

    # A row deleted locally is reported, and the hub keeps its report.
    ukk.execute(source, "DELETE FROM pengaduan WHERE id_pengaduan = 41")
    gone = reconcile_now(app, cid)
    assert gone["counts"]["gone"] == 1 and gone["status"] == "succeeded", gone
    assert "41" in hub_state(app, "ukk-reconcile")


def test_responses_missed_by_the_cursor_arrive_once(app, source):
    add_complaint(source, 2, TODAY)
    reply = "INSERT INTO tanggapan VALUES (%s, %s, %s, %s, 1)"
    ukk.execute(source, reply, 1, 1, TODAY, "Sudah ditinjau petugas (1)")
    cid = ukk.connect(app, source, "ukk-responses")
    assert sync(app, cid)["counts"]["created"] == 3
    # Replies dated before the cursor (the officer enters last week's work today).
    for ident, report in ((2, 2), (3, 2), (4, 1)):
        ukk.execute(source, reply, ident, report, TODAY - timedelta(days=3),
                    f"Sudah ditinjau petugas ({ident})")
    assert sync(app, cid)["counts"]["created"] == 0
    run = reconcile_now(app, cid)
    assert run["status"] == "succeeded" and run["counts"]["missing"] == 3, run
    assert reconcile_now(app, cid)["counts"]["missing"] == 0
    with app.app_context():
        bodies = sorted(db.session.execute(sa.select(Response.body)).scalars())
    assert bodies == [f"Sudah ditinjau petugas ({i})" for i in (1, 2, 3, 4)]


def test_a_read_that_fails_midway_is_partial(app, source, monkeypatch):
    for ident in range(2, 12):
        add_complaint(source, ident, TODAY)
    cid = ukk.connect(app, source, "ukk-partial", page_size=3)
    sync(app, cid)
    ukk.execute(source, "UPDATE pengaduan SET status = 'selesai'")
    # The local administrator takes the hub's access away while it reads: the first
    # page is compared and taken, the rest cannot be read.
    from hub.sync import registry
    build = registry.build

    def revoking(row):
        connector = build(row)
        read_all = connector.read_all

        def read_then_revoke(stream):
            for n, page in enumerate(read_all(stream)):
                yield page
                if n == 0:
                    ukk.revoke(source, "pengaduan")
        connector.read_all = read_then_revoke
        return connector
    monkeypatch.setattr(registry, "build", revoking)
    run = reconcile_now(app, cid)
    assert run["status"] == "partial", run
    assert run["counts"]["changed"] == 3 and run["counts"]["gone"] == 0, run
    assert "stopped after 3 record(s)" in run["error"], run
    assert "grant it SELECT" in run["error"], run  # what the officer asks for, by name
    monkeypatch.setattr(registry, "build", build)
    ukk.grant(source, "pengaduan")
    rest = reconcile_now(app, cid)
    assert rest["status"] == "succeeded" and rest["counts"]["changed"] == 8, rest
    # Nothing readable at all: failed, and said so.
    ukk.revoke(source, "pengaduan")
    nothing = reconcile_now(app, cid)
    assert nothing["status"] == "failed" and "grant it SELECT" in nothing["error"], nothing


def test_the_default_period_and_the_schedule(app, source):
    plain = ukk.connect(app, source, "ukk-schedule")
    declared = ukk.connect(app, source, "ukk-declared", reconcile_every="6h")
    with app.app_context():
        conn = db.session.get(Connector, plain)
        # A since column that is not a last-modified one cannot be told apart: only a
        # stream without any since column makes the daily default.
        assert conn.reconcile_seconds is None
        assert db.session.get(Connector, declared).reconcile_seconds == 6 * 3600
        assert reconcile.default_every("sql", {"streams": {"reports": {
            "query": "pengaduan", "id_column": "id_pengaduan"}}}) == 24 * 3600
        assert reconcile.default_every("open311", {}) == 24 * 3600
        assert reconcile.parse_every("off") is None and reconcile.parse_every("2d") == 172800
        with pytest.raises(ValueError):
            reconcile.parse_every("sometimes")
        due = db.session.get(Connector, declared)
        due.next_reconcile_at = due.next_reconcile_at - timedelta(hours=7)
        db.session.commit()
        from hub.tasks.jobs import enqueue_due
        enqueue_due()  # in-process (no Redis): the reconciliation runs here
        runs = db.session.execute(sa.select(SyncRun).where(
            SyncRun.connector_id == declared, SyncRun.kind == "reconcile")).scalars().all()
        assert [r.status for r in runs] == ["succeeded"]
        assert db.session.get(Connector, declared).next_reconcile_at > \
            reconcile.utcnow() + timedelta(hours=5)
        assert not db.session.execute(sa.select(SyncRun).where(
            SyncRun.connector_id == plain, SyncRun.kind == "reconcile")).scalars().all()


def test_no_since_column_reads_new_rows_by_id_and_changes_by_reconciliation(app, source):
    doc_cid = "ukk-by-id"
    app.config["HUB_SQL_SOURCES"] = {doc_cid: {"url": ukk.reader_url(source),
                                               "agencies": ["kota-yogyakarta"]}}
    doc = ukk.document(doc_cid, doc_cid)
    for stream in doc["connector"]["config"]["streams"].values():
        del stream["since_column"]
    from hub.sync import files
    with app.app_context():
        conn = files.import_document(db.session, doc)
        db.session.commit()
        assert conn.reconcile_seconds == 24 * 3600
        from hub.sync import registry
        assert registry.build(conn).check()["ok"]  # the id column alone is checked
    add_complaint(source, 2, TODAY - timedelta(days=400))
    first = sync(app, doc_cid)
    assert first["status"] == "succeeded" and first["counts"]["created"] == 2, first
    add_complaint(source, 3, TODAY - timedelta(days=900))  # back-dated, a later id
    ukk.execute(source, "UPDATE pengaduan SET status = 'proses' WHERE id_pengaduan = 1")
    second = sync(app, doc_cid)
    assert second["counts"]["created"] == 1 and second["counts"]["updated"] == 0, second
    with app.app_context():
        state = db.session.get(StreamState, (doc_cid, "reports"))
        assert state.cursor == {"after": 3}
    run = reconcile_now(app, doc_cid)
    assert (run["counts"]["missing"], run["counts"]["changed"]) == (0, 1), run
    assert hub_state(app, doc_cid)["1"][1] == "in_progress"


def test_rest_source_with_its_clock_set_back(app, sim, run_sync, connector, make_caller):
    """A REST source: its clock set back an hour stamps a later edit before the copy the
    hub holds. The sync drops it as stale, or never reads it; the reconciliation (the
    full read) takes it, once."""
    sim.generate(6)
    first = run_sync()
    assert first["status"] == "succeeded" and first["counts"]["created"] == 6, first
    aid = sorted(sim.store.aduan)[0]
    sim.control("clock", {"offset_seconds": -3600, "monotonic": False})
    sim.control(f"aduan/{aid}/ubah", {"judul": "Judul yang diubah petugas"})
    run_sync()
    with app.app_context():
        system = db.session.get(Connector, connector).system
    assert hub_state(app, system)[str(aid)][0] != "Judul yang diubah petugas"
    run = reconcile_now(app, connector)
    assert run["status"] == "succeeded", run
    assert (run["counts"]["missing"], run["counts"]["changed"]) == (0, 1), run
    assert hub_state(app, system)[str(aid)][0] == "Judul yang diubah petugas"
    assert reconcile_now(app, connector)["counts"]["changed"] == 0
    # Listed with the connector's runs, each saying its kind.
    officer = make_caller("kab-sleman", "reports:read")
    runs = officer.get(f"/connectors/{connector}/runs").get_json()["items"]
    assert [(r["kind"], r["status"]) for r in runs] == \
        [("reconcile", "succeeded")] * 2 + [("sync", "succeeded")] * 2
    assert runs[1]["counts"]["changed"] == 1
