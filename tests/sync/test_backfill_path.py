"""The backfill's fast path: keyset paging, read-ahead, COPY writes, stable lookups."""
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportAgency, ReportEvent, ReportExternalRef, Response
from hub.services import ingest
from hub.sync.prefetch import prefetched


def _count(app, model):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


@pytest.fixture
def keyset_doc(sleman_doc):
    for stream in sleman_doc["connector"]["config"]["streams"].values():
        stream["list"]["pagination"] = {"type": "cursor", "cursor_param": "after",
                                        "next_path": "meta.next", "size_param": "per_page",
                                        "size": 40}
    return sleman_doc


def test_keyset_backfill_takes_every_record_once(app, sim, keyset_doc, run_sync):
    sim.generate(237, seed=11, with_responses=True)
    held_units = {a for a, r in sim.store.aduan.items() if r["opd"] == "INSPEKTORAT"}
    waiting = sum(1 for t in sim.store.tanggapan.values() if t["id_aduan"] in held_units)
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert first["counts"]["read"] == 237 + len(sim.store.tanggapan)
    assert _count(app, Report) == 237 - len(held_units)
    assert _count(app, Response) == len(sim.store.tanggapan) - waiting
    # Companion rows went in with the reports (COPY): one agency row and one external
    # ref per report, and each report's creation event.
    assert _count(app, ReportAgency) == _count(app, ReportExternalRef) == _count(app, Report)
    with app.app_context():
        created = db.session.execute(sa.select(sa.func.count(sa.distinct(
            ReportEvent.report_id))).where(ReportEvent.type == "report.created")).scalar()
        assert created == _count(app, Report)
        nulls = db.session.execute(sa.select(sa.func.count()).select_from(Report).where(
            Report.reporter_email.is_(None))).scalar()
        assert nulls > 0  # None values stored as NULL, not as text
    # A rerun (lookback window, same pages) changes nothing and repeats nothing.
    again = run_sync()
    assert again["status"] == "succeeded", again
    assert again["counts"]["created"] == again["counts"]["updated"] == 0
    assert _count(app, Report) == 237 - len(held_units)
    # A change made after the backfill arrives through the keyset pages too.
    sim.control("aduan/3/status", {"status": "Selesai"})
    third = run_sync()
    assert third["counts"]["updated"] >= 1 or 3 in held_units, third


def test_read_ahead_keeps_order_and_surfaces_errors_after_earlier_pages():
    def pages():
        yield 1
        yield 2
        raise RuntimeError("page 3 failed")

    got = []
    with pytest.raises(RuntimeError, match="page 3"):
        for page in prefetched(pages()):
            got.append(page)
    assert got == [1, 2]


def test_read_ahead_stops_its_reader_when_the_caller_stops():
    produced = []

    def pages():
        for n in range(1000):
            produced.append(n)
            yield n

    reader = prefetched(pages())
    assert next(reader) == 0
    reader.close()
    time.sleep(0.2)
    assert len(produced) <= 3  # one page handed over, at most one more being read
    assert not [t for t in threading.enumerate() if t.name == "sync-prefetch"]


@pytest.mark.postgresql_only  # COPY writes
def test_copy_insert_refuses_naive_datetimes_like_a_flush(app):
    with app.app_context():
        row = {"report_id": uuid.uuid4(), "agency_code": "kab-sleman",
               "since": datetime(2026, 1, 1)}
        with pytest.raises(ValueError, match="naive"):
            ingest.insert_rows(db.session, ReportAgency.__table__, [row])
        db.session.rollback()


@pytest.mark.postgresql_only  # EXPLAIN's plan
def test_ref_lookup_probes_the_unique_index_without_statistics(app, sleman):
    """The per-page lookup of known external ids must probe the (system, external_id)
    index per id even where the table has no statistics (a bulk load ahead of
    autovacuum, or autovacuum off), not scan every ref of the system and filter: that
    made each page of a million-record backfill slower than the one before."""
    created = sleman.create_report()
    with app.app_context():
        rid = uuid.UUID(created["id"])
        db.session.execute(sa.insert(ReportExternalRef), [
            {"report_id": rid, "system": "big-system", "external_id": f"E{n}"}
            for n in range(3000)])
        captured = []

        def capture(conn, cursor, sql, params, *_):
            captured.append((sql, params))
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            found = ingest.ref_hashes(db.session, "big-system",
                                      ["E5", "E2999", "missing"])
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        assert set(found) == {"E5", "E2999"}
        sql, params = captured[-1]
        plan = "\n".join(r[0] for r in db.session.connection().exec_driver_sql(
            "EXPLAIN " + sql, params).all())
        # Either index that holds both columns (the unique key, or the ticket search's
        # (external_id, system)): one probe per id on both, nothing left to filter.
        assert "uq_report_external_refs_system_external_id" in plan or \
            "ix_report_external_refs_external_id" in plan, plan
        cond = plan.split("Index Cond:")[1].split("\n")[0]
        assert "external_id" in cond and "system" in cond, plan
        assert "Filter" not in plan, plan
        db.session.rollback()


@pytest.mark.postgresql_only  # COPY writes
def test_copy_insert_round_trips_json_text_numbers_and_instants(app, sleman):
    created = sleman.create_report()
    rid = uuid.UUID(created["id"])
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=7)))
    with app.app_context():
        base = {"report_id": rid, "type": "report.updated", "occurred_at": at,
                "actor": "tést ünïcode\ttab\\slash", "actor_agency": "kab-sleman",
                "source_system": None, "report_version": 2}
        ingest.insert_rows(db.session, ReportEvent.__table__, [
            {**base, "seq": 10 ** 12, "data": {"changes": {"title": {"to": "Judul \"baru\""}},
                                                "n": [1, 2.5, None]}},
            {**base, "seq": 10 ** 12 + 1, "data": None}])
        got = db.session.execute(sa.text(
            "SELECT seq, actor, occurred_at, data, jsonb_typeof(data) FROM report_events "
            "WHERE seq >= :s ORDER BY seq"), {"s": 10 ** 12}).all()
        assert [(r.seq, r.actor) for r in got] == [(10 ** 12, base["actor"]),
                                                    (10 ** 12 + 1, base["actor"])]
        assert got[0].occurred_at == at
        assert got[0].data == {"changes": {"title": {"to": "Judul \"baru\""}},
                               "n": [1, 2.5, None]}
        assert got[0][4] == "object"
        assert got[1][4] == "null"  # JSON null, not SQL NULL, as the JSON type stores None
        db.session.rollback()


def test_batch_created_reports_take_whole_numbers_for_coordinates(sleman):
    from tests.helpers import report_payload
    payload = report_payload(location={"text": "Tugu", "lat": -7, "lon": 110})
    resp = sleman.post("/sync/batches", json={"operations": [
        {"op": "upsert_report", "system": "sleman-copy-test", "external_id": "C-1",
         "report": payload}]})
    assert resp.status_code == 207, resp.get_json()
    result = resp.get_json()["results"][0]
    assert result["status"] == 201, result
    got = sleman.get(f"/reports/{result['id']}").get_json()["location"]
    assert (got["lat"], got["lon"]) == (-7.0, 110.0)


def test_reading_in_a_child_process_keeps_order_and_raises_its_error_whole():
    from connectors.base import ConnectorError
    from hub.sync.prefetch import read_in_process

    def pages():
        yield {"page": 1}
        yield {"page": 2}
        raise ConnectorError("GET /api/aduan: 503", retryable=True, detail="busy")

    got = []
    with pytest.raises(ConnectorError) as raised:
        for page in read_in_process(pages()):
            got.append(page)
    assert got == [{"page": 1}, {"page": 2}]
    assert str(raised.value) == "GET /api/aduan: 503"
    assert (raised.value.retryable, raised.value.detail) == (True, "busy")


def test_reading_in_a_child_process_words_an_unpicklable_error():
    from hub.sync.prefetch import read_in_process

    class Odd(Exception):
        def __reduce__(self):
            raise TypeError("cannot pickle")

    def pages():
        yield 1
        raise Odd("the local system said something odd")

    reader = read_in_process(pages())
    assert next(reader) == 1
    with pytest.raises(RuntimeError, match="Odd: the local system said something odd"):
        next(reader)


def test_reading_in_a_child_process_stops_the_child_when_the_caller_stops():
    import multiprocessing

    from hub.sync.prefetch import read_in_process

    def pages():
        for n in range(10 ** 9):  # endless, unless stopped
            yield [n] * 100

    reader = read_in_process(pages())
    assert next(reader) == [0] * 100
    children = multiprocessing.active_children()
    assert [c.name for c in children] == ["sync-reader"]
    reader.close()
    assert not children[0].is_alive()
    assert multiprocessing.active_children() == []
