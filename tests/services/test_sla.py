"""Working-day deadlines in Asia/Jakarta: weekends, national and agency holidays, the
year boundary, the UTC date boundary, per-agency limits and their inheritance."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import AgencySlaSettings, Holiday
from hub.services import sla

WIB = ZoneInfo("Asia/Jakarta")
UTC = timezone.utc


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def end_of(y, m, d) -> datetime:
    """The end of a Jakarta day, as the hub returns it (UTC)."""
    return datetime(y, m, d, 23, 59, 59, tzinfo=WIB).astimezone(UTC)


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session
        db.session.rollback()
        # Holidays survive between tests (master data): remove the agencies' own ones.
        db.session.execute(sa.delete(Holiday).where(Holiday.agency_code.is_not(None)))
        db.session.commit()


def due(session, start, days=3, agency="kab-sleman"):
    return sla.add_working_days(session, start, days, agency)


def test_weekdays_count_and_the_arrival_day_does_not(session):
    # Monday 23 Nov 2026, 10:00 WIB: Tue, Wed, Thu.
    assert due(session, wib(2026, 11, 23, 10, 0)) == end_of(2026, 11, 26)
    # Late on Monday is still Monday.
    assert due(session, wib(2026, 11, 23, 23, 59)) == end_of(2026, 11, 26)
    assert end_of(2026, 11, 26).isoformat() == "2026-11-26T16:59:59+00:00"


def test_friday_evening_and_saturday_start_on_monday(session):
    friday_evening = wib(2026, 11, 27, 19, 0)
    saturday = wib(2026, 11, 28, 10, 0)
    sunday_night = wib(2026, 11, 29, 23, 0)
    for start in (friday_evening, saturday, sunday_night):
        # Mon 30 Nov, Tue 1 Dec, Wed 2 Dec.
        assert due(session, start) == end_of(2026, 12, 2), start


def test_the_jakarta_date_counts_not_the_utc_date(session):
    # Thursday 18:00 UTC is Friday 01:00 WIB: a Friday report (Mon, Tue, Wed), not a
    # Thursday one (Fri, Mon, Tue).
    thursday_utc = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    assert due(session, thursday_utc) == end_of(2026, 12, 2)
    assert due(session, datetime(2026, 11, 26, 16, 30, tzinfo=UTC)) == end_of(2026, 12, 1)
    # Sunday 20:00 UTC is Monday 03:00 WIB: Tue, Wed, Thu.
    sunday_utc = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert due(session, sunday_utc) == end_of(2026, 12, 3)


def test_national_holidays_and_cuti_bersama_do_not_count(session):
    # 24 Dec 2026 is cuti bersama, 25 Dec Christmas: Mon 28, Tue 29, Wed 30.
    assert due(session, wib(2026, 12, 23, 9, 0)) == end_of(2026, 12, 30)
    # Idulfitri 1447 H: 18-24 March 2026 (Nyepi, cuti bersama, Idulfitri) are all off.
    assert due(session, wib(2026, 3, 17, 9, 0), days=1) == end_of(2026, 3, 25)


def test_across_the_year_boundary(session):
    # Wed 30 Dec 2026: Thu 31 Dec (1), 1 Jan 2027 New Year, Mon 4 Jan (2),
    # Tue 5 Jan 2027 Isra Mikraj, Wed 6 Jan (3).
    assert due(session, wib(2026, 12, 30, 14, 0)) == end_of(2027, 1, 6)
    # 14 working days from Mon 21 Dec 2026: 22, 23, 28, 29, 30, 31 Dec (24-25 Dec off),
    # 4 Jan (1 Jan off), 6, 7, 8, 11, 12, 13, 14 Jan (5 Jan off).
    assert due(session, wib(2026, 12, 21, 9, 0), days=14) == end_of(2027, 1, 14)


def test_agency_holidays_apply_to_the_agency_and_its_units_only(session):
    session.add(Holiday(date=datetime(2026, 12, 1).date(), name="Hari libur daerah",
                        kind="agency", agency_code="kab-sleman"))
    session.flush()
    monday = wib(2026, 11, 30, 9, 0)
    assert due(session, monday, agency="kab-sleman") == end_of(2026, 12, 4)
    assert due(session, monday, agency="kab-sleman.dinkes") == end_of(2026, 12, 4)
    assert due(session, monday, agency="kab-bantul") == end_of(2026, 12, 3)
    assert due(session, monday, agency=None) == end_of(2026, 12, 3)


def test_settings_inherit_field_by_field_from_the_parent_then_national(session):
    session.add(AgencySlaSettings(agency_code="kab-sleman", resolve=13,
                                  tier_rules={"infrastruktur": "supervision",
                                              "kesehatan": "light"}))
    session.add(AgencySlaSettings(agency_code="kab-sleman.dinkes", first_response=3,
                                  tier_rules={"infrastruktur": "normative"}))
    session.flush()
    dinkes = sla.settings_for(session, "kab-sleman.dinkes")
    assert dinkes.days["resolve"] == 13 and dinkes.sources["resolve"] == "kab-sleman"
    assert dinkes.days["first_response"] == 3
    assert dinkes.sources["first_response"] == "kab-sleman.dinkes"
    assert dinkes.days["verify_and_disposition"] == 3
    assert dinkes.sources["verify_and_disposition"] == "national"
    # The unit's rule for a category replaces its regency's; others are inherited.
    assert dinkes.tier_rules == {"infrastruktur": "normative", "kesehatan": "light"}
    sleman = sla.settings_for(session, "kab-sleman")
    assert sleman.days["first_response"] == 5 and sleman.days["resolve"] == 13
    bantul = sla.settings_for(session, "kab-bantul")
    assert bantul.days == sla.DEFAULT_DAYS
    assert set(bantul.sources.values()) == {"national"}


def report(**kw):
    base = dict(status="received", submitted_at=wib(2026, 11, 23, 10, 0),
                dispositioned_at=None, first_response_at=None, resolved_at=None,
                updated_at=wib(2026, 11, 23, 10, 0), agency_code="kab-sleman",
                classification="complaint", category_code="infrastruktur.jalan")
    base.update(kw)
    return SimpleNamespace(**base)


def test_the_running_clock_follows_the_life_cycle(session):
    disp = wib(2026, 11, 24, 9, 0)  # Tuesday
    assert sla.running(session, report()) == ("verify_and_disposition", end_of(2026, 11, 26))
    assert sla.running(session, report(status="verified")) == (
        "verify_and_disposition", end_of(2026, 11, 26))
    waiting = report(status="dispositioned", dispositioned_at=disp)
    assert sla.running(session, waiting) == ("first_response", end_of(2026, 12, 1))
    answered = report(status="in_progress", dispositioned_at=disp,
                      first_response_at=wib(2026, 11, 25, 9, 0))
    # 14 working days from Tuesday 24 Nov: 25 Nov .. 14 Dec.
    assert sla.running(session, answered) == ("resolve", end_of(2026, 12, 14))
    resolved = report(status="resolved", dispositioned_at=disp,
                      first_response_at=wib(2026, 11, 25, 9, 0),
                      resolved_at=wib(2026, 12, 4, 15, 0))
    # Auto-close 10 working days after Friday 4 Dec: 7..18 Dec.
    assert sla.running(session, resolved) == ("auto_close", end_of(2026, 12, 18))
    assert sla.running(session, report(status="closed")) == (None, None)
    assert sla.due_at(session, report(status="rejected")) is None


def test_resolution_limit_by_classification_and_tier(session):
    disp = wib(2026, 11, 24, 9, 0)
    base = dict(status="in_progress", dispositioned_at=disp,
                first_response_at=wib(2026, 11, 25, 9, 0))
    info = report(classification="information_request", **base)
    assert sla.due_at(session, info) == end_of(2026, 12, 1)  # 5 working days
    session.add(AgencySlaSettings(agency_code="kab-sleman", resolve=13,
                                  tier_rules={"infrastruktur": "supervision",
                                              "kesehatan.puskesmas": "light"}))
    session.flush()
    # A subcategory follows its parent's rule: supervision, 60 working days.
    supervision = report(**base)
    assert sla.due_at(session, supervision) == sla.add_working_days(session, disp, 60,
                                                                    "kab-sleman")
    light = report(category_code="kesehatan.puskesmas", **base)
    assert sla.due_at(session, light) == end_of(2026, 11, 26)  # 2 working days
    standard = report(category_code="pendidikan", **base)
    assert sla.due_at(session, standard) == end_of(2026, 12, 11)  # Sleman's 13
    # Information requests keep their own limit whatever the category's tier.
    assert sla.due_at(session, report(classification="information_request", **base)) == \
        end_of(2026, 12, 1)


def test_sixty_working_days_skip_every_holiday_on_the_way(session):
    start = wib(2027, 2, 1, 9, 0)  # Monday
    result = sla.add_working_days(session, start, 60, None)
    # Count independently: weekdays after the start that are not national holidays.
    off = set(session.execute(sa.select(Holiday.date).where(
        Holiday.agency_code.is_(None))).scalars())
    day, n = start.date(), 0
    while n < 60:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            n += 1
    assert result == end_of(day.year, day.month, day.day)
    # Idulfitri 2027 (9-15 March) lies inside, so the deadline is later than 12 weeks.
    assert result > end_of(2027, 4, 26)


def test_lineages_primed_together_equal_each_read_alone(session):
    from hub.models import Agency
    session.add_all([Agency(code="loop-a", name="A", level="unit"),
                     Agency(code="loop-b", name="B", level="unit", parent_code="loop-a")])
    session.flush()
    session.execute(sa.update(Agency).where(Agency.code == "loop-a")
                    .values(parent_code="loop-b"))
    codes = ["kab-sleman.setda", "kab-sleman", "loop-a", "loop-b", "kab-baru", None]
    alone = {code: sla.lineage(session, code) for code in codes}
    assert alone["kab-sleman.setda"][:2] == ("kab-sleman.setda", "kab-sleman")
    assert set(alone["loop-a"]) == {"loop-a", "loop-b"}  # a cycle still ends
    assert alone["kab-baru"] == ("kab-baru",)  # not in the directory: itself
    session.info.pop("sla_memo")
    sla.prime_lineages(session, codes)
    assert set(session.info["sla_memo"]["lineage"]) == set(codes) - {None}  # one query
    assert {code: sla.lineage(session, code) for code in codes} == alone
