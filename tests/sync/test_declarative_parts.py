"""The REST connector's parts on their own: selector, since format, paginator."""
import pytest

from connectors.base import ConnectorError
from connectors.declarative import cursor, paginate, select
from connectors.fieldmap import Extractor

SINCE = "2024-01-12T03:00:00+00:00"


def test_wildcard_selector_yields_children_with_their_parent():
    body = {"data": [{"id": 1, "tanggapan": [{"id": 10}, {"id": 11}]},
                     {"id": 2},  # no follow-ups: the array may be left out
                     {"id": 3, "tanggapan": []}, {"id": 4, "tanggapan": [{"id": 40}]}]}
    got = [(s.record["id"], s.parent["id"]) for s in
           select.select(body, "data[*].tanggapan[*]")]
    assert got == [(10, 1), (11, 1), (40, 4)]
    assert select.top_level(body, "data[*].tanggapan[*]") == body["data"]
    assert [s.record for s in select.select([{"a": 1}], "")] == [{"a": 1}]
    with pytest.raises(ConnectorError, match="expected a list"):
        select.select({"data": {"x": 1}}, "data[*].tanggapan[*]")


def test_parent_path_and_template_fields():
    extract = Extractor({"report_external_id": {"parent_path": "id_pengaduan", "type": "str"},
                         "status": {"template": "{bupatiStatus}/{opdStatus}"},
                         "author": "user.name"}, None)
    out = extract({"bupatiStatus": "PROSES", "opdStatus": "SELESAI",
                   "user": {"name": "Ana"}}, {"id_pengaduan": 7})
    assert out == {"report_external_id": "7", "status": "PROSES/SELESAI", "author": "Ana"}


@pytest.mark.parametrize("fmt,tz,sent", [
    (None, None, SINCE),
    ("iso8601", None, SINCE),
    ("%Y-%m-%d %H:%M:%S%z", "Asia/Jakarta", "2024-01-12 10:00:00+0700"),
    ("%d/%m/%Y %H:%M", None, "12/01/2024 03:00"),
    ("epoch_seconds", None, "1705028400"),
    ("epoch_ms", None, "1705028400000"),
    ("date", "Asia/Jayapura", "2024-01-12"),
])
def test_since_is_written_as_configured(fmt, tz, sent):
    assert cursor.format_since(SINCE, fmt, tz) == sent


def test_bad_since_format_or_zone_is_refused_up_front():
    with pytest.raises(ConnectorError, match="since_format"):
        cursor.check("YYYY-MM-DD", None, "stream reports")
    with pytest.raises(ConnectorError, match="unknown time zone"):
        cursor.check("date", "Asia/Kupang", "stream reports")


def _page(n, **meta):
    return {"data": [{}] * n, "pagination": meta}


def test_capped_page_size_is_adapted_when_the_last_page_is_declared():
    pager = paginate.Paginator({"type": "page", "size_param": "limit", "size": 100,
                                "last_page_path": "pagination.totalPages"}, "GET /r")
    assert pager.query() == {"page": 1, "limit": 100}
    assert pager.advance(_page(50, totalPages=6), 50)
    assert pager.query() == {"page": 2, "limit": 50}
    for _ in range(4):
        assert pager.advance(_page(50, totalPages=6), 50)
    assert not pager.advance(_page(50, totalPages=6), 50)
    assert pager.seen == 300 and pager.gaps == []


def test_capped_page_size_without_declared_paths_is_a_gap_not_a_success():
    pager = paginate.Paginator({"type": "page", "size_param": "limit", "size": 100},
                               "GET /r")
    assert not pager.advance(_page(50, totalPages=6, total=300), 50)
    assert len(pager.gaps) == 1 and "pagination.totalPages = 6" in pager.gaps[0]
    # An ordinary last page (the numbers agree) is no gap.
    pager = paginate.Paginator({"type": "page", "size": 100}, "GET /r")
    assert pager.advance(_page(100, total=150), 100)
    assert not pager.advance(_page(50, total=150), 50)
    assert pager.gaps == []


def test_listing_short_of_its_total_is_a_gap():
    pager = paginate.Paginator({"type": "offset", "size": 50,
                                "total_path": "pagination.total"}, "GET /r")
    assert pager.advance(_page(50, total=120), 50)
    assert pager.advance(_page(40, total=120), 40)  # capped at 40: offsets move by 40
    assert pager.query() == {"offset": 90, "limit": 40}
    assert not pager.advance(_page(0, total=120), 0)
    assert "30 not read" in pager.gaps[0]


def test_cap_that_cannot_be_paged_consistently_is_a_gap():
    pager = paginate.Paginator({"type": "page", "size": 100,
                                "last_page_path": "pagination.totalPages"}, "GET /r")
    assert pager.advance(_page(100, totalPages=4), 100)
    assert not pager.advance(_page(30, totalPages=4), 30)  # 130 read: no whole page of 30
    assert "set pagination.size to 30" in pager.gaps[0]
