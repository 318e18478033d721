"""The kept report counts (hub.services.rollup) against the reports themselves: random
creates (one at a time and through the bulk sync writer), status changes, dispositions
to other agencies, responses and deletes through the real paths, then the stats read
from the counts equal the live aggregate for several agencies and nationally, /metrics
equals a count by status, and `hub stats rebuild` changes nothing."""
import random
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub.auth import Principal
from hub.extensions import db
from hub.models import Report, ReportDailyCount, ReportStatusCount
from hub.services import rollup, stats

AGENCIES = ("kab-sleman", "kab-sleman.dpupkp", "kab-bantul")
CHANNELS = ("web", "sms", "whatsapp", "email")
STEPS = {"received": ("verified", "rejected"), "verified": ("dispositioned",),
         "in_progress": ("resolved",), "resolved": ("closed", "in_progress")}


def _kept(session):
    daily = sorted(tuple(r) for r in session.execute(sa.select(
        ReportDailyCount.agency_code, ReportDailyCount.day, ReportDailyCount.channel,
        *[getattr(ReportDailyCount, m) for m in rollup.MEASURES])) if any(r[3:]))
    status = sorted(tuple(r) for r in session.execute(sa.select(
        ReportStatusCount.agency_code, ReportStatusCount.status, ReportStatusCount.n))
        if r[2])
    return daily, status


def _bulk(national, rng, n):
    start = datetime(2026, 8, 1, tzinfo=timezone.utc)
    ops = []
    for i in range(n):
        # Hours around local midnight, so the local day differs from the UTC one.
        at = start + timedelta(days=rng.randint(0, 90), hours=rng.choice((1, 16, 17, 18)))
        ops.append({"op": "upsert_report", "system": "rollup-src", "external_id": f"b{i}",
                    "report": {"title": f"Laporan {i}", "body": "Jalan rusak parah.",
                               "category": "infrastruktur.jalan", "channel":
                               rng.choice(CHANNELS), "classification": "complaint",
                               "submitted_at": at.isoformat(),
                               "agency": rng.choice(AGENCIES),
                               "status": rng.choice(("received", "dispositioned",
                                                     "closed", "rejected")),
                               "location": {"text": "Desa"},
                               "privacy": {"anonymous": True, "confidential": False}}})
    resp = national.post("/sync/batches", json={"operations": ops})
    assert resp.status_code == 207 and resp.get_json()["succeeded"] == n, resp.get_json()


def test_counts_follow_random_writes_and_equal_the_live_aggregate(app, national, runner):
    rng = random.Random(18)
    _bulk(national, rng, 40)
    with app.app_context():
        ids = [str(r) for r in db.session.execute(sa.select(Report.id)).scalars()]
    for _ in range(25):
        ids.append(national.create_report(agency=rng.choice(AGENCIES),
                                          channel=rng.choice(CHANNELS))["id"])
    for _ in range(120):
        rid, action = rng.choice(ids), rng.random()
        if action < 0.35:
            current = national.get(f"/reports/{rid}").get_json()["status"]
            if current in STEPS:
                national.status(rid, rng.choice(STEPS[current]))
        elif action < 0.6:
            national.post(f"/reports/{rid}/dispositions",
                          json={"to_agency": rng.choice(AGENCIES)})
        elif action < 0.85:
            national.post(f"/reports/{rid}/responses", json={"body": "Sedang ditangani."})
        else:
            with app.app_context():
                report = db.session.get(Report, __import__("uuid").UUID(rid))
                if report is not None and not report.external_refs:
                    db.session.execute(sa.text("DELETE FROM report_agencies WHERE "
                                               "report_id = :r"), {"r": report.id.hex
                                               if db.engine.dialect.name == "sqlite"
                                               else report.id})
                    db.session.delete(report)
                    try:
                        db.session.commit()
                        ids.remove(rid)
                    except sa.exc.IntegrityError:
                        db.session.rollback()  # it has events or responses pointing at it
    with app.app_context():
        session = db.session
        # The windows: everything, local whole days, a channel.
        windows = [{}, {"since": datetime(2026, 8, 20, tzinfo=stats.sla.JAKARTA),
                        "until": datetime(2026, 10, 1, tzinfo=stats.sla.JAKARTA)},
                   {"channel": "web"}]
        callers = [Principal("n", "*", frozenset()), Principal("s", "kab-sleman", frozenset()),
                   Principal("b", "kab-bantul", frozenset())]
        compared = 0
        for principal in callers:
            for window in windows:
                filters = stats.filters_for(session, principal, **window)
                for group in (None, *stats.GROUPS):
                    kept = stats.aggregate(session, filters, group)
                    live = stats.aggregate(session, filters, group, live=True)
                    assert kept == live, (principal.agency, window, group)
                    compared += sum(r["received"] for r in live)
        assert compared > 0
        by_status = dict(session.execute(sa.select(Report.status, sa.func.count())
                                         .group_by(Report.status)).all())
        assert rollup.status_counts(session) == by_status
        before = _kept(session)
        session.remove()
    metrics = national.client.get("/metrics").get_data(as_text=True)
    for status, n in by_status.items():
        assert f'hub_reports{{status="{status}"}} {float(n)}' in metrics
    result = runner.invoke(args=["hub", "stats", "rebuild"])
    assert result.exit_code == 0 and "day rows:" in result.output, result.output
    with app.app_context():
        assert _kept(db.session) == before
