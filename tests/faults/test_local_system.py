"""The local system misbehaves: a page that repeats forever, a clock 10 minutes off in
either direction, a clock corrected backwards, timeouts, 5xx and garbage. Each ends in a
visible failure (a failed run with a reason, shown by the connectors API) or a correct
catch-up: never silent loss, never a run that does not end."""
import time

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportExternalRef

pytestmark = pytest.mark.timeout(120)


def _refs(app) -> list[str]:
    with app.app_context():
        out = db.session.execute(sa.select(ReportExternalRef.external_id).where(
            ReportExternalRef.system == "lapor-sleman")).scalars().all()
        db.session.remove()
    return out


def _reports(app) -> int:
    with app.app_context():
        n = db.session.execute(sa.select(sa.func.count()).select_from(Report)).scalar()
        db.session.remove()
    return n


@pytest.mark.page_numbers  # faults of page-number paging
@pytest.mark.parametrize("mode", ["stall", "duplicate_pages"])
def test_a_page_that_repeats_fails_the_run_visibly_then_catches_up(app, sim, run_sync,
                                                                  connector, admin, mode):
    sim.generate(350, seed=71)  # several pages of 100
    sim.fault(mode)
    started = time.monotonic()
    run = run_sync()
    assert time.monotonic() - started < 30, "a repeating page kept the run going"
    assert run["status"] == "failed", run
    assert "repeats" in run["error"], run["error"]
    assert 0 < _reports(app) < 350  # the pages before the repeat were kept
    # Visible to people, not only in the table: the connectors API shows the reason.
    runs = admin.get(f"/connectors/{connector}/runs").get_json()["items"]
    assert runs[0]["status"] == "failed" and "repeats" in runs[0]["error"]
    sim.fault("none")
    ok = run_sync()
    assert ok["status"] == "succeeded", ok
    refs = _refs(app)
    assert len(refs) == len(set(refs)) == 350 == _reports(app)


@pytest.mark.parametrize("offset", [-600, 600])
def test_a_clock_ten_minutes_off_loses_nothing(app, sim, run_sync, offset):
    """The local clock is 10 minutes off the hub's from the start: cursors are in the
    local system's own time, so nothing is skipped."""
    sim.control("clock", {"offset_seconds": offset})
    sim.generate(40, seed=72)
    assert run_sync()["status"] == "succeeded"
    for i in range(3):
        sim.control("aduan", {"judul": f"Aduan jam meleset {i}", "kategori": "PJU",
                              "opd": "DPUPKP"})
    run = run_sync()
    assert run["status"] == "succeeded" and run["counts"]["created"] == 3, run
    assert _reports(app) == 43


def test_a_clock_corrected_ten_minutes_back_loses_nothing(app, sim, run_sync):
    """The local clock ran 10 minutes fast and is then corrected (NTP): its next records
    carry times older than the hub's cursor, far beyond the lookback window. They must
    still arrive, or the run must fail and say so; never be skipped silently."""
    sim.control("clock", {"offset_seconds": 600})
    sim.generate(20, seed=73)
    assert run_sync()["status"] == "succeeded"
    sim.control("clock", {"offset_seconds": 0})
    made = [sim.control("aduan", {"judul": f"Aduan setelah jam dikoreksi {i}",
                                  "kategori": "PJU", "opd": "DPUPKP"})["data"]["id_aduan"]
            for i in range(3)]
    run = run_sync()
    arrived = {str(i) for i in made} <= set(_refs(app))
    assert run["status"] == "succeeded" and arrived, (
        "records written after the clock was corrected were skipped silently", run)
    assert _reports(app) == 23


def test_a_record_stamped_in_the_future_does_not_shadow_its_later_changes(app, sim, run_sync):
    """A read while the local clock ran 10 minutes fast: the record's own time stamp is
    capped at the hub's clock like the cursor, so its genuine later change (after the
    clock was corrected) is newer, not "stale", and arrives."""
    sim.control("clock", {"offset_seconds": 600})
    made = sim.control("aduan", {"judul": "Lampu mati", "kategori": "PJU", "opd": "DPUPKP",
                                 "status": "Menunggu"})["data"]["id_aduan"]
    assert run_sync()["counts"]["created"] == 1
    # Corrected; its change is stamped by the wall clock, behind the first read's stamp.
    sim.control("clock", {"offset_seconds": 0, "monotonic": False})
    time.sleep(1.1)  # the local time stamps have whole seconds
    sim.control(f"aduan/{made}/status", {"status": "Ditolak", "catatan": "Duplikat"})
    run = run_sync()
    assert run["status"] == "succeeded" and run["counts"].get("stale", 0) == 0, run
    with app.app_context():
        assert db.session.execute(sa.select(Report.status)).scalar_one() == "rejected"


@pytest.mark.parametrize("mode", ["timeout", "error500", "error503", "garbage", "wrong_shape"])
def test_each_failure_is_visible_and_bounded_then_exact_catch_up(app, sim, run_sync, mode):
    sim.generate(120, seed=74)
    sim.fault(mode, delay=10)
    started = time.monotonic()
    run = run_sync()
    assert time.monotonic() - started < 30, "the run waited far past the connector timeout"
    assert run["status"] == "failed" and run["error"], run
    sim.fault("none")
    assert run_sync()["status"] == "succeeded"
    refs = _refs(app)
    assert len(refs) == len(set(refs)) == 120


def test_the_engine_stops_a_connector_whose_pages_never_advance(app, sim, run_sync,
                                                                monkeypatch):
    """The engine's own guard, behind the connectors' checks: a (buggy) connector that
    serves its first real page again and again fails the run, it does not spin."""
    from hub.sync import registry, runner
    real_build = registry.build

    class Repeating:
        def __init__(self, inner):
            self.inner, self.streams, self.kind = inner, inner.streams, inner.kind

        def read(self, stream, cursor):
            first = next(iter(self.inner.read(stream, cursor)), None)
            while first is not None:
                yield first

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(runner.registry, "build", lambda row: Repeating(real_build(row)))
    sim.generate(250, seed=75)
    started = time.monotonic()
    run = run_sync()
    assert time.monotonic() - started < 30
    assert run["status"] == "failed" and "does not advance" in run["error"], run
    monkeypatch.setattr(runner.registry, "build", real_build)
    assert run_sync()["status"] == "succeeded"
    refs = _refs(app)
    assert len(refs) == len(set(refs)) == 250
