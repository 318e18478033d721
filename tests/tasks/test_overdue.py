"""The scheduled SLA job: `report.overdue` exactly once per missed deadline (also with
two scanners at once, in threads and in processes), auto-close, the scheduler hook."""
import os
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from hub.auth import Principal
from hub.extensions import db
from hub.models import Report, ReportEvent, SlaBreach, utcnow
from hub.services import sla
from hub.services.reports import Actor, create_report
from hub.tasks import sla as sla_tasks
from tests.helpers import report_payload

ROOT = Path(__file__).resolve().parents[2]
LONG_AGO = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)


def make_reports(app, n: int, submitted_at=LONG_AGO, agency="kab-sleman") -> list:
    actor = Actor(Principal("test-loader", agency, frozenset({"reports:write"})))
    with app.app_context():
        ids = []
        for _ in range(n):
            data = report_payload(submitted_at=submitted_at, occurred_at=None)
            ids.append(create_report(db.session, data, actor).id)
        db.session.commit()
    return ids


def overdue_events(app, report_id=None) -> list:
    with app.app_context():
        stmt = sa.select(ReportEvent).where(ReportEvent.type == "report.overdue")
        if report_id is not None:
            stmt = stmt.where(ReportEvent.report_id == report_id)
        return db.session.execute(stmt.order_by(ReportEvent.seq)).scalars().all()


def scan(app, now=None, **kw):
    with app.app_context():
        return sla_tasks.scan(db.session, now)


def test_a_missed_deadline_is_flagged_once_and_the_next_one_again(app, sleman):
    created = sleman.create_report(submitted_at="2026-10-01T09:00:00+07:00")
    rid = created["id"]
    assert created["due_at"] == "2026-10-06T16:59:59Z"  # Thu 1 Oct + 3 working days
    assert scan(app) == {"overdue": 1, "closed": 0}
    assert scan(app) == {"overdue": 0, "closed": 0}
    events = overdue_events(app, uuid.UUID(rid))
    assert len(events) == 1
    assert events[0].data == {"clock": "verify_and_disposition",
                              "due_at": "2026-10-06T16:59:59Z", "agency": "kab-sleman"}
    assert events[0].actor == "system"
    # The event is on the change feed, where the webhook relay and pollers read it.
    feed = sleman.get("/changes?limit=100").get_json()["items"]
    assert [c["type"] for c in feed].count("report.overdue") == 1
    # The report moves on: a new clock (first response within 5 working days) runs.
    assert sleman.status(rid, "verified").status_code == 200
    moved = sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-sleman"})
    assert moved.status_code == 200, moved.get_json()
    due = datetime.fromisoformat(moved.get_json()["due_at"].replace("Z", "+00:00"))
    assert due > utcnow()
    assert scan(app) == {"overdue": 0, "closed": 0}  # not missed yet
    later = due + timedelta(seconds=1)
    assert scan(app, later)["overdue"] == 1
    assert scan(app, later)["overdue"] == 0
    clocks = [e.data["clock"] for e in overdue_events(app)]
    assert clocks == ["verify_and_disposition", "first_response"]


def test_resolved_closed_and_rejected_reports_are_never_overdue(app, sleman):
    rid = sleman.create_report(submitted_at="2026-10-01T09:00:00+07:00")["id"]
    assert sleman.status(rid, "rejected", note="duplikat").status_code == 200
    assert sleman.get(f"/reports/{rid}").get_json()["due_at"] is None
    assert scan(app, utcnow() + timedelta(days=400)) == {"overdue": 0, "closed": 0}


def test_auto_close_after_ten_working_days_without_dispute(app, sleman):
    done = sleman.create_report()
    disputed = sleman.create_report()
    resolved = sleman.resolve(done["id"], "Sudah ditambal.")
    sleman.resolve(disputed["id"], "Sudah ditambal.")
    # The reporter disputes the second one: it is reopened and its clock is not auto-close.
    assert sleman.status(disputed["id"], "in_progress", note="pelapor keberatan"
                         ).status_code == 200
    deadline = datetime.fromisoformat(resolved["due_at"].replace("Z", "+00:00"))
    assert deadline > utcnow() + timedelta(days=13)  # 10 working days at least 2 weeks
    assert scan(app)["closed"] == 0  # not yet
    result = scan(app, deadline + timedelta(seconds=1))
    assert result["closed"] == 1
    after = sleman.get(f"/reports/{done['id']}").get_json()
    assert after["status"] == "closed" and after["due_at"] is None
    assert after["version"] == resolved["version"] + 1
    events = sleman.get(f"/reports/{done['id']}/events").get_json()["items"]
    last = events[-1]
    assert last["type"] == "report.status_changed" and last["actor"] == "system"
    assert last["data"]["from"] == "resolved" and last["data"]["to"] == "closed"
    assert sleman.get(f"/reports/{disputed['id']}").get_json()["status"] == "in_progress"
    assert scan(app, deadline + timedelta(seconds=1))["closed"] == 0


def test_two_scanners_in_threads_flag_each_deadline_exactly_once(app):
    ids = make_reports(app, 120)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(sla_tasks.flag_overdue(db.session, batch=15))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    # However the two interleave (typically one wins every row and the other's inserts
    # wait for it, then conflict), each deadline is flagged by exactly one of them.
    assert sum(results) == 120, results
    events = overdue_events(app)
    assert len(events) == 120
    assert {e.report_id for e in events} == set(ids)
    with app.app_context():
        assert db.session.query(SlaBreach).count() == 120


def test_two_scanner_processes_flag_each_deadline_exactly_once(app):
    ids = make_reports(app, 150)
    env = dict(os.environ, HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_SECRET_KEY=app.config["SECRET_KEY"])
    env.pop("HUB_REDIS_URL", None)
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "hub", "sla",
                               "scan"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    flagged = [int(o.split("overdue: ")[1].split(",")[0]) for o in outputs]
    assert sum(flagged) == 150, outputs
    events = overdue_events(app)
    assert len(events) == 150 and {e.report_id for e in events} == set(ids)


def test_concurrent_auto_close_closes_once(app, sleman):
    rid = sleman.create_report()["id"]
    resolved = sleman.resolve(rid, "Sudah ditambal.")
    later = datetime.fromisoformat(resolved["due_at"].replace("Z", "+00:00")) + \
        timedelta(seconds=1)
    barrier, results = threading.Barrier(2), []

    def run():
        with app.app_context():
            barrier.wait()
            results.append(sla_tasks.auto_close(db.session, later))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 1]
    events = sleman.get(f"/reports/{rid}/events").get_json()["items"]
    assert [e["data"].get("to") for e in events
            if e["type"] == "report.status_changed"].count("closed") == 1


def test_the_sql_clock_agrees_with_the_python_one(app, sleman):
    rid = sleman.create_report()["id"]
    steps = [None, "verified", "dispositions", "response", "resolved", "in_progress"]
    seen = []
    for step in steps:
        if step == "dispositions":
            sleman.post(f"/reports/{rid}/dispositions", json={"to_agency": "kab-sleman"})
        elif step == "response":
            sleman.post(f"/reports/{rid}/responses", json={"body": "Ditindaklanjuti."})
        elif step:
            assert sleman.status(rid, step).status_code == 200
        with app.app_context():
            report = db.session.get(Report, uuid.UUID(rid))
            in_sql = db.session.execute(sa.select(sla.clock_sql()).where(
                Report.id == report.id)).scalar_one()
            assert in_sql == sla.clock_of(report)
            seen.append(in_sql)
    assert seen == ["verify_and_disposition", "verify_and_disposition", "first_response",
                    "resolve", "auto_close", "resolve"]


def test_the_scheduler_runs_the_sla_scan(app, runner, monkeypatch):
    from hub.tasks import jobs
    monkeypatch.setattr(jobs, "_last_sla_scan", None)
    make_reports(app, 2)
    result = runner.invoke(args=["hub", "scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert len(overdue_events(app)) == 2
    # Within the interval the scheduler does not scan again.
    make_reports(app, 1)
    assert runner.invoke(args=["hub", "scheduler", "--once"]).exit_code == 0
    assert len(overdue_events(app)) == 2


def test_hub_sla_scan_seconds_sets_the_schedulers_interval(app, runner, monkeypatch):
    from hub import config as hub_config
    from hub.tasks import jobs
    monkeypatch.setenv("HUB_SLA_SCAN_SECONDS", "0")
    assert hub_config.from_env()["HUB_SLA_SCAN_SECONDS"] == 0
    monkeypatch.setitem(app.config, "HUB_SLA_SCAN_SECONDS", 0)
    monkeypatch.setattr(jobs, "_last_sla_scan", None)
    make_reports(app, 1)
    assert runner.invoke(args=["hub", "scheduler", "--once"]).exit_code == 0
    assert len(overdue_events(app)) == 1
    # With no interval, the very next tick scans again and flags the new report.
    make_reports(app, 1)
    assert runner.invoke(args=["hub", "scheduler", "--once"]).exit_code == 0
    assert len(overdue_events(app)) == 2


def test_an_rq_worker_runs_the_scan_job(app):
    from redis import Redis
    from rq import Queue

    from tests.conftest import REDIS_URL
    make_reports(app, 3)
    queue_name = f"sla-test-{uuid.uuid4().hex[:8]}"  # unique: parallel runs share Redis
    Queue(queue_name, connection=Redis.from_url(REDIS_URL)).enqueue("hub.tasks.sla.scan_job")
    env = dict(os.environ, HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_REDIS_URL=REDIS_URL, HUB_SECRET_KEY=app.config["SECRET_KEY"])
    worker = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker",
                             "--queues", queue_name, "--burst"], cwd=ROOT, env=env,
                            capture_output=True, timeout=120)
    assert worker.returncode == 0, worker.stdout.decode()[-2000:]
    assert len(overdue_events(app)) == 3
