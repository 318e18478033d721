"""The page writer (hub/sync/pipeline.py): a page is written and committed while the next
is built; nothing is lost or doubled when a page cannot be written together, or when a
page names records of the page still in flight."""
import copy
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import LocalRecord, Page
from hub.extensions import db
from hub.models import Connector, Report, ReportEvent, ReportExternalRef, StreamState
from hub.sync import files, pipeline, registry
from hub.sync.runner import run_connector
from tests.sync.conftest import SLEMAN_FILE


def _count(app, *where, model=Report):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)
                                  .where(*where)).scalar()


def _counting_submits(monkeypatch) -> list:
    submitted = []
    real = pipeline.PageWriter.submit

    def submit(self, page, prepared):
        submitted.append(len(page.records))
        return real(self, page, prepared)
    monkeypatch.setattr(pipeline.PageWriter, "submit", submit)
    return submitted


@pytest.mark.postgresql_only  # the page writer is PostgreSQL's path
def test_a_backfill_goes_through_the_page_writer_exactly_once(app, sim, run_sync,
                                                                monkeypatch):
    sim.generate(650, seed=11)
    submitted = _counting_submits(monkeypatch)
    first = run_sync()
    assert first["status"] == "succeeded", first
    assert first["counts"]["created"] == 650 and first["counts"]["read"] == 650
    assert sum(submitted) == 650  # every page built ahead and written by the writer
    assert _count(app) == 650
    with app.app_context():
        refs = db.session.execute(sa.select(ReportExternalRef.external_id)).scalars().all()
        created = db.session.execute(sa.select(sa.func.count()).select_from(ReportEvent)
                                     .where(ReportEvent.type == "report.created")).scalar()
        cursor = db.session.get(StreamState, (_connector_id(), "reports")).cursor
    assert len(refs) == len(set(refs)) == 650
    assert created == 650
    assert cursor == first["cursor_after"]["reports"]
    # A re-read finds every copy unchanged, written (as cursors only) by the writer too.
    again = run_sync()
    assert again["counts"]["unchanged"] >= 1 and again["counts"]["created"] == 0
    assert _count(app) == 650


def _connector_id():
    return db.session.execute(sa.select(Connector.id)).scalars().first()


def test_a_page_the_writer_cannot_write_is_applied_one_by_one(app, sim, run_sync,
                                                              monkeypatch):
    sim.generate(450, seed=12)
    calls = []
    real = pipeline.ingest.insert_built

    def fail_once(session, built):
        calls.append(len(built))
        if len(calls) == 2:  # the second page: as if another writer got there first
            raise sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
        return real(session, built)
    monkeypatch.setattr(pipeline.ingest, "insert_built", fail_once)
    run = run_sync()
    assert run["status"] == "succeeded", run
    assert run["counts"]["created"] == 450 and run["counts"]["read"] == 450
    assert len(calls) >= 3
    assert _count(app) == 450
    with app.app_context():
        refs = db.session.execute(sa.select(ReportExternalRef.external_id)).scalars().all()
    assert len(refs) == len(set(refs)) == 450


# --- pages that overtake one another ---------------------------------------------------

BASE = datetime(2026, 11, 1, 8, 0, tzinfo=timezone(timedelta(hours=7)))
LOCAL_FLOW = ["Menunggu", "Diverifikasi", "Diproses", "Selesai"]


class ScriptedSource:
    """A local system that hands out pre-arranged pages (records may repeat across them)."""
    streams = ("reports",)
    writable = False

    def __init__(self, pages):
        self.pages = pages

    def read(self, stream, cursor):
        for number, records in enumerate(self.pages):
            yield Page(records=records, cursor={"page": number})


def _record(key, version, step):
    return LocalRecord(stream="reports", external_id=key,
                       updated_at=BASE + timedelta(minutes=version),
                       fields={"title": f"Aduan {key} versi {version}", "body": "isi",
                               "category": "JLN-RSK", "status": LOCAL_FLOW[step],
                               "unit": "DPUPKP", "channel": "instagram"})


def _scripted_connector(app, cid):
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    doc["connector"].update({"id": cid, "system": cid})
    with app.app_context():
        files.import_document(db.session, doc)
        db.session.commit()


def _state(app, system):
    with app.app_context():
        rows = db.session.execute(
            sa.select(ReportExternalRef.external_id, Report.title, Report.status)
            .join(Report, Report.id == ReportExternalRef.report_id)
            .where(ReportExternalRef.system == system)).all()
    return sorted(tuple(r) for r in rows)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), keys=st.integers(2, 8), page_size=st.integers(1, 4))
def test_pages_repeating_records_in_flight_converge(app, monkeypatch, data, keys, page_size):
    """Later versions of a record (status only moving on) delivered in pages, some
    repeating what the page in flight holds: the end state is that of the newest version
    of each record, each stored once, however the pages fall."""
    run = uuid.uuid4().hex[:8]
    versions = []
    for k in range(keys):
        steps = sorted(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3)))
        versions += [(f"{run}-{k}", v, step) for v, step in enumerate(steps)]
    order = sorted(versions, key=lambda v: (v[1], v[0]))  # as a local system pages them
    records = [_record(*v) for v in order]
    pages = [records[i:i + page_size] for i in range(0, len(records), page_size)]
    cid = f"pipe-{run}"
    _scripted_connector(app, cid)
    monkeypatch.setattr(registry, "build", lambda conn: ScriptedSource(pages))
    with app.app_context():
        run_id = run_connector(cid, "manual")
        assert run_id is not None
    newest = {}
    for key, version, step in order:
        newest[key] = (f"Aduan {key} versi {version}", step)
    status = {0: "received", 1: "verified", 2: "in_progress", 3: "resolved"}
    expected = sorted((key, title, status[step]) for key, (title, step) in newest.items())
    assert _state(app, cid) == expected
    assert _count(app, ReportExternalRef.system == cid, model=ReportExternalRef) == keys
