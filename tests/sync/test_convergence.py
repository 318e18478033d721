"""Property: any duplicated, reordered, replayed delivery of local changes converges to
the state that applying each change once, in order, gives."""
import copy
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.extensions import db
from hub.models import Connector, Report, ReportExternalRef
from hub.sync import files
from hub.sync.inbound import RecordApplier
from hub.sync.mapping import MappingSet
from tests.sync.conftest import SLEMAN_FILE

LOCAL_FLOW = ["Menunggu", "Diverifikasi", "Diproses", "Selesai"]
BASE = datetime(2026, 11, 1, 8, 0, tzinfo=timezone(timedelta(hours=7)))

versions = st.lists(st.tuples(st.integers(0, 3), st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)),
    min_size=1, max_size=4)
histories = st.lists(versions, min_size=1, max_size=3)


def _connector(app, cid):
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    doc["connector"].update({"id": cid, "system": cid})
    with app.app_context():
        if db.session.get(Connector, cid) is None:
            files.import_document(db.session, doc)
            db.session.commit()


def _record(key, index, step, title):
    return {"stream": "reports", "external_id": key, "origin_hub_id": None,
            "report_external_id": None,
            "updated_at": (BASE + timedelta(minutes=index)).isoformat(),
            "fields": {"title": title.strip() or "x", "body": f"isi versi {index}",
                       "category": "JLN-RSK", "status": LOCAL_FLOW[step], "unit": "DPUPKP",
                       "channel": "instagram"}}


def _apply(app, cid, recs):
    with app.app_context():
        conn = db.session.get(Connector, cid)
        applier = RecordApplier(db.session, conn, MappingSet.load(db.session, cid))
        for rec in recs:
            applier.apply_page([rec])
            db.session.commit()


def _state(app, system, key):
    with app.app_context():
        report = db.session.execute(sa.select(Report).join(ReportExternalRef).where(
            ReportExternalRef.system == system,
            ReportExternalRef.external_id == key)).scalar_one()
        return (report.title, report.body, report.status, report.category_code,
                report.agency_code)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories, data=st.data())
def test_reordered_duplicated_replayed_changes_converge(app, history, data):
    _connector(app, "prop-in-order")
    _connector(app, "prop-shuffled")
    run = uuid.uuid4().hex[:8]
    in_order, deliveries = [], []
    for n, record_versions in enumerate(history):
        key = f"{run}-{n}"
        steps = sorted(step for step, _ in record_versions)  # local status only advances
        for index, (step, (_, title)) in enumerate(zip(steps, record_versions, strict=True)):
            in_order.append(_record(key, index, step, title))
    deliveries = data.draw(st.permutations(in_order))
    deliveries = deliveries + data.draw(st.lists(st.sampled_from(in_order), max_size=6))
    _apply(app, "prop-in-order", in_order)
    _apply(app, "prop-shuffled", deliveries)
    _apply(app, "prop-shuffled", deliveries[:3])  # and a replay of part of it
    for n in range(len(history)):
        key = f"{run}-{n}"
        assert _state(app, "prop-shuffled", key) == _state(app, "prop-in-order", key)
    with app.app_context():
        refs = db.session.execute(sa.select(sa.func.count()).select_from(ReportExternalRef)
                                  .where(ReportExternalRef.external_id.like(f"{run}-%"))
                                  ).scalar()
    assert refs == 2 * len(history)  # one report per record per system, never doubled
