"""Finding a complaint (hub.services.report_search) on the real database: by tracking
number, by the ticket number a local system gave it, by title words; the filters; and
never another agency's report."""
from datetime import date, datetime, timedelta, timezone

import pytest

from hub.auth import Principal
from hub.extensions import db
from hub.models import Report, utcnow
from hub.services import report_search
from hub.services.report_search import Search
from tests.helpers import report_payload


def _principal(agency):
    return Principal(f"user:{agency}", agency, frozenset({"reports:read"}))


SLEMAN, BANTUL = _principal("kab-sleman"), _principal("kab-bantul")


def _titles(app, principal, now=None, **search):
    with app.app_context():
        rows, _ = report_search.page(db.session, principal, Search(**search),
                                     now or utcnow(), 1, 50)
        return sorted(r.title for r in rows)


def _set(app, report_id, **values):
    with app.app_context():
        report = db.session.get(Report, report_id)
        for name, value in values.items():
            setattr(report, name, value)
        db.session.commit()


def from_source(caller, system, ticket, **fields):
    """A report as a local system logged it, under its own ticket number."""
    resp = caller.put(f"/sources/{system}/reports/{ticket}", json=report_payload(**fields))
    assert resp.status_code in (200, 201), resp.get_json()
    return resp.get_json()


@pytest.fixture
def reports(app, sleman, bantul):
    return {
        "jalan": from_source(sleman, "lapor-sleman", "SLM-2026-000055",
                             title="Jalan berlubang di Jl. Kaliurang", channel="web"),
        "sampah": from_source(sleman, "lapor-sleman", "SLM-2026-000056",
                              title="Sampah menumpuk di Pasar Gamping",
                              channel="instagram", agency="kab-sleman.dlh"),
        "lampu": sleman.create_report(title="Lampu jalan mati", channel="whatsapp"),
        "bantul": from_source(bantul, "lapor-bantul", "BTL-2026-000055",
                              title="Jalan rusak di Bantul", channel="web",
                              agency="kab-bantul"),
    }


def test_by_tracking_number_ticket_number_and_title(app, reports):
    assert _titles(app, SLEMAN, q=reports["lampu"]["tracking_id"]) == ["Lampu jalan mati"]
    assert _titles(app, SLEMAN, q="SLM-2026-000055") == ["Jalan berlubang di Jl. Kaliurang"]
    # Typed in lower case, with spaces around: the same ticket.
    assert _titles(app, SLEMAN, q="  slm-2026-000056 ") == ["Sampah menumpuk di Pasar Gamping"]
    assert _titles(app, SLEMAN, q="jalan") == ["Jalan berlubang di Jl. Kaliurang",
                                               "Lampu jalan mati"]
    assert _titles(app, SLEMAN, q="100%_") == []  # LIKE's wildcards are plain characters
    # A part of a ticket number is not a ticket number.
    assert _titles(app, SLEMAN, q="SLM-2026") == []


def test_another_agencys_report_is_not_found_by_any_of_its_numbers(app, reports):
    bantul = reports["bantul"]
    for q in (bantul["tracking_id"], "BTL-2026-000055", "Jalan rusak di Bantul"):
        assert _titles(app, SLEMAN, q=q) == [], q
        assert _titles(app, BANTUL, q=q) == ["Jalan rusak di Bantul"], q
    assert "Jalan rusak di Bantul" not in _titles(app, SLEMAN)


def test_filters_status_unit_channel(app, reports, sleman):
    assert sleman.status(reports["lampu"]["id"], "verified").status_code == 200
    assert _titles(app, SLEMAN, status="verified") == ["Lampu jalan mati"]
    assert _titles(app, SLEMAN, channel="instagram") == ["Sampah menumpuk di Pasar Gamping"]
    assert _titles(app, SLEMAN, unit="kab-sleman.dlh") == ["Sampah menumpuk di Pasar Gamping"]
    # A regency's unit covers its OPDs.
    assert len(_titles(app, SLEMAN, unit="kab-sleman")) == 3
    # Outside the caller's scope, a unit narrows to nothing (the form refuses it first).
    assert _titles(app, SLEMAN, unit="kab-bantul") == []
    assert _titles(app, SLEMAN, q="jalan", channel="web") == [
        "Jalan berlubang di Jl. Kaliurang"]


def test_submitted_date_range_in_jakarta_days(app, reports):
    # 31 Dec 2026 23:30 WIB is still 2026 in Jakarta, though it is 16:30 UTC.
    _set(app, reports["jalan"]["id"],
         submitted_at=datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc))
    _set(app, reports["sampah"]["id"],
         submitted_at=datetime(2026, 12, 31, 17, 30, tzinfo=timezone.utc))  # 1 Jan WIB
    _set(app, reports["lampu"]["id"],
         submitted_at=datetime(2026, 10, 1, 1, 0, tzinfo=timezone.utc))
    assert _titles(app, SLEMAN, since=date(2026, 12, 31), until=date(2026, 12, 31)) == [
        "Jalan berlubang di Jl. Kaliurang"]
    assert _titles(app, SLEMAN, since=date(2027, 1, 1)) == [
        "Sampah menumpuk di Pasar Gamping"]
    assert _titles(app, SLEMAN, until=date(2026, 10, 1)) == ["Lampu jalan mati"]
    first, last = report_search.period_range("quarter", date(2026, 11, 15))
    assert _titles(app, SLEMAN, since=first, until=last) == [
        "Jalan berlubang di Jl. Kaliurang", "Lampu jalan mati"]


@pytest.mark.parametrize("period,today,first,last", [
    ("month", date(2026, 2, 10), date(2026, 2, 1), date(2026, 2, 28)),
    ("month", date(2026, 12, 31), date(2026, 12, 1), date(2026, 12, 31)),
    ("quarter", date(2026, 1, 1), date(2026, 1, 1), date(2026, 3, 31)),
    ("quarter", date(2026, 5, 20), date(2026, 4, 1), date(2026, 6, 30)),
    ("quarter", date(2026, 12, 3), date(2026, 10, 1), date(2026, 12, 31)),
    ("year", date(2028, 2, 29), date(2028, 1, 1), date(2028, 12, 31)),
])
def test_period_presets(period, today, first, last):
    assert report_search.period_range(period, today) == (first, last)


def test_overdue_and_due_soon_filters_list_what_the_home_counts(app, reports, national):
    from hub.services import needs_action
    now = utcnow()
    _set(app, reports["jalan"]["id"], due_at=now - timedelta(days=2))
    _set(app, reports["sampah"]["id"], due_at=now + timedelta(hours=3))
    _set(app, reports["lampu"]["id"], due_at=now - timedelta(hours=1), status="resolved")
    _set(app, reports["bantul"]["id"], due_at=now - timedelta(days=1))
    assert _titles(app, SLEMAN, now, due="overdue") == ["Jalan berlubang di Jl. Kaliurang"]
    assert _titles(app, SLEMAN, now, due="soon") == ["Sampah menumpuk di Pasar Gamping"]
    assert _titles(app, BANTUL, now, due="overdue") == ["Jalan rusak di Bantul"]
    with app.app_context():
        assert needs_action.deadline_counts(db.session, SLEMAN, now) == (1, 1)


def test_names_and_tickets_of_a_page(app, reports):
    with app.app_context():
        names = report_search.unit_names(db.session, ["kab-sleman", "kab-sleman.dlh", None])
        assert names == {"kab-sleman": "Pemerintah Kabupaten Sleman",
                         "kab-sleman.dlh": "Dinas Lingkungan Hidup"}
        import uuid
        rid = uuid.UUID(reports["jalan"]["id"])
        assert report_search.tickets(db.session, [rid]) == {
            rid: [("lapor-sleman", "SLM-2026-000055")]}
