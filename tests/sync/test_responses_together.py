"""A page of responses taken together equals the same records taken one by one: the
same outcome for each (created, unchanged, held, failed), the same responses stored and
the same report state (first response, status, version), whether a page mixes new ones,
a second copy, ones the hub already took, one whose report has not arrived and one that
does not pass validation."""
import copy
import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub.extensions import db
from hub.models import Connector, HeldRecord, Report, ReportExternalRef, Response
from hub.sync import files
from hub.sync.inbound import RecordApplier
from hub.sync.mapping import MappingSet
from tests.sync.conftest import SLEMAN_FILE

BASE = datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=7)))


def _connector(app, cid):
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    doc["connector"].update({"id": cid, "system": cid})
    with app.app_context():
        files.import_document(db.session, doc)
        db.session.commit()


def _report(key, minute):
    return {"stream": "reports", "external_id": key, "origin_hub_id": None,
            "report_external_id": None,
            "updated_at": (BASE + timedelta(minutes=minute)).isoformat(),
            "fields": {"title": f"Jalan rusak {key}", "body": "Berlubang dalam.",
                       "category": "JLN-RSK", "status": "Diverifikasi", "unit": "DPUPKP",
                       "channel": "instagram"}}


def _response(key, report_key, minute, body="Sudah kami tinjau.", visibility="public"):
    stamp = (BASE + timedelta(minutes=minute)).isoformat()
    return {"stream": "responses", "external_id": key, "origin_hub_id": None,
            "report_external_id": report_key, "updated_at": stamp,
            "fields": {"body": body, "author_name": "Petugas DPUPKP",
                       "visibility": visibility, "created_at": stamp}}


PAGE = [
    _response("t1", "a1", 10),
    _response("t2", "a1", 11, visibility="internal"),
    _response("t3", "a2", 12),
    _response("t1", "a1", 10),            # a second copy in the same page
    _response("t0", "a2", 5),             # taken on an earlier page
    _response("t4", "zz", 13),            # its report has not reached the hub
    _response("t5", "a3", 14, body=""),   # does not pass: no body
    _response("t6", "a3", 15),
]


def _run(app, cid, together: bool):
    with app.app_context():
        conn = db.session.get(Connector, cid)
        applier = RecordApplier(db.session, conn, MappingSet.load(db.session, cid))
        applier.apply_page([_report(k, i) for i, k in enumerate(("a1", "a2", "a3"))])
        applier.apply_page([_response("t0", "a2", 5)])
        db.session.commit()
        if together:
            outcomes = applier.apply_page(PAGE)
        else:
            outcomes = [applier.apply(rec) for rec in PAGE]
        db.session.commit()
        return [o for o, _ in outcomes], _stored(cid)


def _stored(system):
    reports = db.session.execute(
        sa.select(ReportExternalRef.external_id, Report.first_response_at, Report.status,
                  Report.version).join(Report).where(ReportExternalRef.system == system)
        .order_by(ReportExternalRef.external_id)).all()
    responses = db.session.execute(
        sa.select(ReportExternalRef.external_id, Response.body, Response.visibility,
                  Response.created_at)
        .join(Report, Report.id == Response.report_id)
        .join(ReportExternalRef, ReportExternalRef.report_id == Report.id)
        .where(ReportExternalRef.system == system)
        .order_by(ReportExternalRef.external_id, Response.created_at)).all()
    held = db.session.execute(sa.select(HeldRecord.stream, HeldRecord.external_id).where(
        HeldRecord.connector_id == system).order_by(HeldRecord.external_id)).all()
    return [tuple(r) for r in reports], [tuple(r) for r in responses], [tuple(h) for h in held]


def test_a_page_of_responses_together_equals_one_by_one(app, caplog):
    _connector(app, "together")
    _connector(app, "one-by-one")
    with caplog.at_level(logging.WARNING, logger="hub.sync.inbound"):
        got, stored = _run(app, "together", together=True)
    assert "one by one instead" not in caplog.text  # the page was taken together
    want, expected = _run(app, "one-by-one", together=False)
    assert got == want == ["created", "created", "created", "unchanged", "unchanged",
                           "held", "failed", "created"]
    assert stored == expected
    reports, responses, held = stored
    assert len(responses) == 5  # t0, t1, t2, t3, t6: each once
    assert ("responses", "t4") in held
