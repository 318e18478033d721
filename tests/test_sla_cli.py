"""`hub holidays load|add|remove` and `hub sla scan|recompute`."""
from datetime import date

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Holiday
from hub.services.calendar import read_file


@pytest.fixture(autouse=True)
def _restore_calendar(app):
    yield
    with app.app_context():  # holidays are kept between tests: undo what these added
        db.session.execute(sa.delete(Holiday).where(sa.or_(
            Holiday.agency_code.is_not(None), Holiday.date >= date(2031, 1, 1))))
        db.session.commit()


def test_load_is_idempotent_and_updates_names(app, runner, tmp_path):
    seeded = runner.invoke(args=["hub", "holidays", "load"])
    assert seeded.exit_code == 0, seeded.output
    assert seeded.output.strip() == f"added: 0, updated: 0, unchanged: {len(read_file())}"
    calendar = tmp_path / "2031.yaml"
    calendar.write_text("holidays:\n  - {date: 2031-01-01, name: Tahun Baru 2031}\n"
                        "  - {date: 2031-01-02, name: Cuti, kind: cuti_bersama}\n")
    first = runner.invoke(args=["hub", "holidays", "load", str(calendar)])
    assert first.output.strip() == "added: 2, updated: 0, unchanged: 0"
    calendar.write_text("holidays:\n  - {date: 2031-01-01, name: Tahun Baru 2031 Masehi}\n"
                        "  - {date: 2031-01-02, name: Cuti, kind: cuti_bersama}\n")
    second = runner.invoke(args=["hub", "holidays", "load", str(calendar)])
    assert second.output.strip() == "added: 0, updated: 1, unchanged: 1"
    with app.app_context():
        rows = db.session.execute(sa.select(Holiday.name, Holiday.kind).where(
            Holiday.date >= date(2031, 1, 1)).order_by(Holiday.date)).all()
    assert rows == [("Tahun Baru 2031 Masehi", "national"), ("Cuti", "cuti_bersama")]


GOOD = "holidays:\n  - {date: 2031-03-03, name: good}\n"


@pytest.mark.parametrize("text, message", [
    ("holidays: {}\n", "holidays:' list"),
    (GOOD + "  - {date: 2031-02-30, name: x}\n", "out of range"),
    (GOOD + "  - {date: '3 Feb 2031', name: x}\n", "not YYYY-MM-DD"),
    (GOOD + "  - {date: 2031-02-03}\n", "name must be"),
    (GOOD + "  - {date: 2031-02-03, name: a}\n  - {date: 2031-02-03, name: b}\n",
     "listed twice"),
    ("holidays: [\n", "expected"),
])
def test_a_bad_file_loads_nothing(app, runner, tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(args=["hub", "holidays", "load", str(bad)])
    assert result.exit_code != 0 and message in result.output, result.output
    with app.app_context():
        assert db.session.query(Holiday).filter(Holiday.date >= date(2031, 1, 1)).count() == 0


def test_add_and_remove_an_agency_holiday_moves_deadlines(app, runner, sleman):
    report = sleman.create_report(submitted_at="2026-11-30T09:00:00+07:00")
    assert report["due_at"] == "2026-12-03T16:59:59Z"
    added = runner.invoke(args=["hub", "holidays", "add", "--agency", "kab-sleman", "--date",
                                "2026-12-01", "--name", "Hari Jadi Kabupaten Sleman"])
    assert added.exit_code == 0, added.output
    assert sleman.get(f"/reports/{report['id']}").get_json()["due_at"] == \
        "2026-12-04T16:59:59Z"
    twice = runner.invoke(args=["hub", "holidays", "add", "--agency", "kab-sleman", "--date",
                                "2026-12-01", "--name", "lagi"])
    assert twice.exit_code != 0 and "already a holiday" in twice.output
    unknown = runner.invoke(args=["hub", "holidays", "add", "--agency", "kab-atlantis",
                                  "--date", "2026-12-01", "--name", "x"])
    assert unknown.exit_code != 0 and "unknown agency" in unknown.output
    removed = runner.invoke(args=["hub", "holidays", "remove", "--agency", "kab-sleman",
                                  "--date", "2026-12-01"])
    assert removed.exit_code == 0, removed.output
    assert sleman.get(f"/reports/{report['id']}").get_json()["due_at"] == \
        "2026-12-03T16:59:59Z"


def test_sla_scan_command(runner, sleman):
    sleman.create_report(submitted_at="2026-10-01T09:00:00+07:00")
    assert runner.invoke(args=["hub", "sla", "scan"]).output.strip() == \
        "overdue: 1, closed: 0"
    assert runner.invoke(args=["hub", "sla", "scan"]).output.strip() == \
        "overdue: 0, closed: 0"
