"""The dashboard's "responded in time" against the SLA clock itself: on random reports
around national holidays and an agency's own holiday (which its units share), the SQL
aggregate counts exactly the reports whose first response came within the deadline
stats defines: the start (dispositioned_at, else submitted_at) plus the calendar days to
the 5th working day after its Jakarta date, as sla.add_working_days counts them."""
import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

from hub.extensions import db
from hub.models import Holiday, Report, ReportAgency
from hub.services import sla, stats

JAKARTA = sla.JAKARTA
AGENCIES = ("kab-sleman", "kab-sleman.dpupkp", "kab-bantul")


def _expected_in_time(session, report) -> bool:
    start = report.dispositioned_at or report.submitted_at
    day = start.astimezone(JAKARTA).date()
    noon = datetime.combine(day, time(12), tzinfo=JAKARTA)
    deadline_day = sla.add_working_days(session, noon, stats.FIRST_RESPONSE_DAYS,
                                        report.agency_code).astimezone(JAKARTA).date()
    allowed = timedelta(days=(deadline_day - day).days)
    return report.first_response_at - start <= allowed


def test_responded_in_time_is_the_sla_clock_of_each_report(app):
    rng = random.Random(20261203)
    with app.app_context():
        # Sleman's own day off, a Thursday: its unit's deadlines move too, Bantul's not.
        db.session.add(Holiday(agency_code="kab-sleman", date=date(2026, 8, 20),
                               name="Hari Jadi (uji)", kind="agency"))
        reports = []
        for i in range(300):
            agency = rng.choice(AGENCIES)
            submitted = datetime(2026, 8, 1, tzinfo=timezone.utc) + timedelta(
                minutes=rng.randint(0, 40 * 24 * 60))
            disp = submitted + timedelta(hours=rng.randint(1, 30)) \
                if rng.random() < 0.7 else None
            start = disp or submitted
            first = start + timedelta(hours=rng.randint(20, 14 * 24))
            rid = uuid.uuid4()
            report = Report(
                id=rid, tracking_id=f"77{i:05d}", title=f"Laporan {i}", body="isi",
                channel="web", classification="complaint", status="in_progress",
                agency_code=agency, submitted_at=submitted, dispositioned_at=disp,
                first_response_at=first, anonymous=False, confidential=False, version=1)
            db.session.add(report)
            db.session.flush()
            db.session.add(ReportAgency(report_id=rid, agency_code=agency))
            reports.append(report)
        db.session.commit()
        expected = sum(_expected_in_time(db.session, r) for r in reports)
        got = stats.aggregate(db.session, stats.Filters(agencies=None))[0]
        assert got["responded"] == 300
        assert got["responded_in_time"] == expected
        assert 30 < expected < 270  # the deadlines did cut through the data
        for agency in AGENCIES:
            mine = [r for r in reports if r.agency_code == agency]
            row = stats.aggregate(db.session, stats.Filters(agencies={agency}))[0]
            assert row["responded_in_time"] == sum(
                _expected_in_time(db.session, r) for r in mine), agency
