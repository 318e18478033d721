"""GET /api/v1/stats: figures on a known data set (PostgreSQL and SQLite), tenant
isolation, filters, bad filters.

The data set is August-September 2026 in Asia/Jakarta; Monday 17 August 2026 is a
national holiday (seeded), which moves one report's first-response deadline by a day.
Every expected number below is worked out by hand in the comments.
"""
import uuid
from datetime import datetime, timezone

import pytest

from hub.extensions import db
from hub.models import Report, ReportAgency
from hub.services import stats
from tests.helpers import sqlite_app

PROBLEM = "application/problem+json"


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


# (tracking, agency, channel, status, submitted, dispositioned, first response, resolved,
#  due_at); times in UTC (WIB is UTC+7).
DATA = [
    # R1: responded after 50 h, well inside 5 working days: in time; resolved.
    ("9000001", "kab-sleman", "web", "resolved", "2026-08-03 01:00", "2026-08-03 03:00",
     "2026-08-05 03:00", "2026-08-06 03:00", "2026-08-20 03:00"),
    # R2: dispositioned Tue 11 Aug 10:00 WIB; 5 working days would be Tue 18 Aug, but
    # Mon 17 Aug is a holiday, so the deadline is Wed 19 Aug 10:00 WIB (03:00Z). The
    # response at 02:00Z is in time only because of the holiday. 217 h after submission.
    # Its resolution clock has run out: overdue.
    ("9000002", "kab-sleman.dpupkp", "instagram", "in_progress", "2026-08-10 01:00",
     "2026-08-11 03:00", "2026-08-19 02:00", None, "2026-08-25 03:00"),
    # R3: dispositioned Wed 12 Aug 09:00 WIB, deadline Thu 20 Aug 09:00 WIB (holiday
    # skipped); answered Fri 21 Aug: late. 220 h after submission. Not overdue now.
    ("9000003", "kab-sleman.dpupkp", "instagram", "in_progress", "2026-08-12 01:00",
     "2026-08-12 02:00", "2026-08-21 05:00", None, "2099-01-01 00:00"),
    # R4: dispositioned, never answered, deadline long past: tested and late; overdue.
    ("9000004", "kab-sleman", "web", "dispositioned", "2026-08-20 01:00",
     "2026-08-20 02:00", None, None, "2026-08-27 02:00"),
    # R5: only received, verify clock ran out: overdue; not dispositioned, not tested.
    ("9000005", "kab-sleman", "sms", "received", "2026-09-01 01:00", None, None, None,
     "2026-09-04 01:00"),
    # R6: Bantul's, answered the next day: in time.
    ("9000006", "kab-bantul", "web", "resolved", "2026-08-05 01:00", "2026-08-05 02:00",
     "2026-08-06 01:00", "2026-08-07 01:00", "2026-08-21 01:00"),
    # R7: rejected: received, nothing else, never overdue.
    ("9000007", "kab-sleman", "whatsapp", "rejected", "2026-08-25 01:00", None, None,
     None, None),
]


def load(app):
    with app.app_context():
        for (tracking, agency, channel, status, submitted, disp, first, resolved,
             due) in DATA:
            rid = uuid.uuid4()
            db.session.add(Report(
                id=rid, tracking_id=tracking, title=f"Laporan {tracking}",
                body="isi", channel=channel, classification="complaint", status=status,
                agency_code=agency, submitted_at=utc(submitted),
                dispositioned_at=disp and utc(disp), first_response_at=first and utc(first),
                resolved_at=resolved and utc(resolved), due_at=due and utc(due),
                anonymous=False, confidential=False, version=1))
            db.session.flush()
            db.session.add(ReportAgency(report_id=rid, agency_code=agency))
        db.session.commit()


FIGURES = ("received", "dispositioned", "responded", "resolved", "overdue",
           "responded_in_time", "in_time_tested", "share_responded_in_time",
           "median_hours_to_first_response")
SLEMAN_TOTALS = dict(zip(FIGURES, (6, 4, 3, 1, 3, 2, 4, 0.5, 217.0), strict=True))
SLEMAN_ITSELF = dict(zip(FIGURES, (4, 2, 1, 1, 2, 1, 2, 0.5, 50.0), strict=True))
DPUPKP = dict(zip(FIGURES, (2, 2, 2, 0, 1, 1, 2, 0.5, 218.5), strict=True))


def figures(row):
    return {k: row[k] for k in FIGURES}


def test_known_data_set_for_an_agency_and_its_units(app, sleman):
    load(app)
    resp = sleman.get("/stats")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert figures(body["totals"]) == SLEMAN_TOTALS
    by_agency = {a["agency"]: a for a in body["agencies"]}
    assert set(by_agency) == {"kab-sleman", "kab-sleman.dpupkp"}  # never Bantul's
    assert figures(by_agency["kab-sleman"]) == SLEMAN_ITSELF
    assert figures(by_agency["kab-sleman.dpupkp"]) == DPUPKP
    assert by_agency["kab-sleman.dpupkp"]["parent"] == "kab-sleman"
    assert by_agency["kab-sleman"]["agency_name"]
    channels = {c["channel"]: c["received"] for c in body["channels"]}
    assert channels == {"web": 2, "instagram": 2, "sms": 1, "whatsapp": 1}
    periods = {p["period"]: p["received"] for p in body["periods"]}
    assert periods == {"2026-08-01": 5, "2026-09-01": 1}


def test_tenant_isolation_bantul_and_national(app, bantul, national):
    load(app)
    b = bantul.get("/stats").get_json()
    assert b["totals"]["received"] == 1
    assert [a["agency"] for a in b["agencies"]] == ["kab-bantul"]
    assert b["totals"]["median_hours_to_first_response"] == 24.0
    n = national.get("/stats").get_json()
    assert n["totals"]["received"] == 7
    assert {a["agency"] for a in n["agencies"]} == {"kab-sleman", "kab-sleman.dpupkp",
                                                     "kab-bantul"}
    # Another agency asked for by name is 404, like its reports.
    resp = bantul.get("/stats", query_string={"agency": "kab-sleman"})
    assert resp.status_code == 404 and resp.content_type == PROBLEM
    assert national.get("/stats", query_string={"agency": "kab-bantul"}
                        ).get_json()["totals"]["received"] == 1


def test_filters(app, sleman):
    load(app)

    def totals(**q):
        resp = sleman.get("/stats", query_string=q)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    unit = totals(agency="kab-sleman.dpupkp")
    assert figures(unit["totals"]) == DPUPKP
    assert unit["filters"]["agency"] == "kab-sleman.dpupkp"
    assert totals(channel="instagram")["totals"]["received"] == 2
    # Dates are Asia/Jakarta days: [10 Aug 00:00 WIB, 20 Aug 00:00 WIB) holds R2, R3.
    window = totals(since="2026-08-10", until="2026-08-20")
    assert window["totals"]["received"] == 2
    assert window["filters"]["since"] == "2026-08-09T17:00:00Z"
    # Timestamps with an offset work too; R4 was submitted at 08:00 WIB on 20 Aug.
    assert totals(since="2026-08-20T08:00:00+07:00")["totals"]["received"] == 3
    weeks = totals(period="week", since="2026-08-03", until="2026-08-24")
    assert [p["period"] for p in weeks["periods"]] == ["2026-08-03", "2026-08-10",
                                                       "2026-08-17"]
    assert [p["received"] for p in weeks["periods"]] == [1, 2, 1]


@pytest.mark.parametrize("query,status,field", [
    ({"since": "yesterday"}, 422, "since"),
    ({"since": "2026-08-10T00:00:00"}, 400, "since"),  # no offset: 400 like everywhere
    ({"channel": "pigeon"}, 422, "channel"),
    ({"period": "year"}, 422, "period"),
    ({"agency": "no-such-agency"}, 422, "agency"),
    ({"since": "2026-09-01", "until": "2026-08-01"}, 422, "since"),
    ({"colour": "red"}, 422, "colour"),
])
def test_bad_filters_are_problems(app, sleman, query, status, field):
    resp = sleman.get("/stats", query_string=query)
    assert resp.status_code == status, resp.get_json()
    assert resp.content_type == PROBLEM
    assert field in resp.get_json()["errors"]


def test_needs_a_token_with_reports_read(client, make_caller):
    assert client.get("/api/v1/stats").status_code == 401
    writer = make_caller("kab-sleman", "reports:write")
    assert writer.get("/stats").status_code == 403


def test_empty_scope_has_zero_figures(app, sleman):
    body = sleman.get("/stats").get_json()
    assert body["totals"]["received"] == 0 and body["agencies"] == []
    assert body["totals"]["median_hours_to_first_response"] is None
    assert body["totals"]["share_responded_in_time"] is None


def test_sqlite_fallback_gives_the_same_figures(tmp_path):
    """The embedded default: the same queries without percentile_cont."""
    app = sqlite_app(tmp_path)
    load(app)
    from hub.auth import Principal
    with app.app_context():
        sleman = Principal("t", "kab-sleman", frozenset({"reports:read"}))
        out = stats.overview(db.session, stats.filters_for(db.session, sleman))
        assert figures(out["totals"]) == SLEMAN_TOTALS
        by_agency = {a["agency"]: a for a in out["agencies"]}
        assert figures(by_agency["kab-sleman.dpupkp"]) == DPUPKP
        assert figures(by_agency["kab-sleman"]) == SLEMAN_ITSELF
        assert {p["period"]: p["received"] for p in out["periods"]} == \
            {"2026-08-01": 5, "2026-09-01": 1}
        weeks = stats.aggregate(db.session, stats.filters_for(db.session, sleman), "week")
        assert [(w["key"], w["received"]) for w in weeks] == [
            ("2026-08-03", 1), ("2026-08-10", 2), ("2026-08-17", 1), ("2026-08-24", 1),
            ("2026-08-31", 1)]
        db.session.remove()
