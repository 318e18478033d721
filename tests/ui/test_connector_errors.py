"""A connector's errors on its own page, in words the officer can act on: the last error,
each run's error and the reason it is paused are told in the officer's language (what
went wrong, what to do), with the hub's technical text kept behind "Rincian teknis"."""
import re

import pytest

from hub.extensions import db
from hub.models import SyncRun, utcnow
from hub.services.needs_action import cause_of, pause_of
from tests.ui.conftest import login
from tests.ui.test_home import _connector, _html

SQL_PERMISSION = ("the local database does not let the source's account read a stream's "
                  "table or view (error 1142); ask the local administrator to grant it "
                  "SELECT")


def _outside_details(html: str) -> str:
    return re.sub(r"<details.*?</details>", "", html, flags=re.S)


@pytest.mark.parametrize("text,cause", [
    (SQL_PERMISSION, "permission"),
    ("the local database refused the source's credentials (error 1045); ask the operator",
     "auth"),
    ("the local database rejected a stream's query (a table, view or column that does not "
     "exist, invalid SQL or a value of the wrong type) (error 42P01); check the streams",
     "query"),
    ("cannot use the local database (error 2003); it may be down or unreachable",
     "unreachable"),
    ("GET /api/aduan: the local system answered with invalid JSON", "bad_answer"),
    ("GET /api/aduan: page 3 repeats records already read", "paging"),
    ("recap file rekap-januari.xlsx not found", "file"),
    ("something the hub has never seen", "other"),
])
def test_each_family_of_errors_has_a_cause(text, cause):
    assert cause_of(text) == cause


def test_the_connector_page_explains_its_errors_and_keeps_the_raw_text_behind(
        app, officer):
    circuit = f"paused after 5 failed run(s) in a row; last error: {SQL_PERMISSION}"
    _connector(app, "simda", "kab-sleman", paused=True, failure_streak=5,
               last_error=SQL_PERMISSION, paused_reason=circuit)
    with app.app_context():
        db.session.add(SyncRun(connector_id="simda", trigger="schedule", status="failed",
                               started_at=utcnow(), ended_at=utcnow(), counts={},
                               error=SQL_PERMISSION))
        db.session.commit()
    html = _html(officer, "/ui/connectors/simda")
    shown = _outside_details(html)
    assert "tidak mengizinkan akun hub membaca tabel" in shown
    assert "hak SELECT (hanya baca)" in shown  # what to do, for the last error
    assert "setelah 5 kali gagal berturut-turut" in shown  # the circuit, in words
    assert "terjadwal" in shown and ">schedule<" not in html  # the run's trigger
    # The English, technical text is there for the operator, only behind the disclosure.
    assert SQL_PERMISSION.replace("'", "&#39;") not in shown
    details = re.findall(r"<details.*?</details>", html, re.S)
    assert len(details) >= 3 and all("Rincian teknis" in d for d in details)
    assert all(SQL_PERMISSION.replace("'", "&#39;") in d for d in details)


def test_in_english_and_a_person_pause(app, client, make_user):
    _connector(app, "simda", "kab-sleman", paused=True,
               paused_reason="paused by user:7 (admin@slemankab.go.id)")
    make_user("officer@slemankab.go.id", "kab-sleman")
    assert login(client, "officer@slemankab.go.id", lang="en").status_code == 302
    shown = _outside_details(_html(client, "/ui/connectors/simda"))
    assert "Paused by user:7 (admin@slemankab.go.id)." in shown
    assert "paused by user:7" not in shown


def test_pause_reasons_are_told_apart():
    class Row:
        def __init__(self, reason):
            self.paused_reason = reason
    circuit = pause_of(Row("paused after 3 failed run(s) in a row; last error: boom"))
    assert (circuit.kind, circuit.failures, circuit.error) == ("circuit", 3, "boom")
    assert pause_of(Row("paused by ops-client")).who == "ops-client"
    assert pause_of(Row("Server aplikasi lokal sedang dipindah")).kind == "words"
    assert pause_of(Row(None)).kind == "words"


def test_held_records_are_explained_with_the_engine_words_behind(app, officer, client,
                                                                 make_user):
    from hub.models import HeldRecord
    _connector(app, "simda", "kab-sleman")
    refused = "Invalid report. title: Shorter than minimum length 1."
    with app.app_context():
        for n, (stream, reason, detail) in enumerate((
                ("responses", "waiting", "its report has not reached the hub yet"),
                ("reports", "error", refused),
                ("reports", "unmapped", None))):
            db.session.add(HeldRecord(connector_id="simda", stream=stream,
                                      external_id=f"H-{n}", record={"fields": {}},
                                      reason=reason, missing=[], detail=detail))
        db.session.commit()
    html = _html(officer, "/ui/connectors/simda")
    held = re.search(r'<table id="held">.*?</table>', html, re.S).group(0)
    shown = _outside_details(held)
    assert "Laporannya belum masuk ke hub" in shown
    assert "Hub menolak catatan ini" in shown and refused not in shown
    assert refused in held  # behind Rincian teknis
    assert "has not reached the hub" not in shown
    make_user("officer@slemankab.go.id", "kab-sleman")
    assert login(client, "officer@slemankab.go.id", lang="en").status_code == 302
    english = _outside_details(_html(client, "/ui/connectors/simda"))
    assert "Its report has not reached the hub yet; this response comes in" in english


def test_a_runs_failed_records_say_which_side_must_fix_them(app, officer):
    from hub.models import SyncRecordError
    _connector(app, "simda", "kab-sleman")
    with app.app_context():
        run = SyncRun(connector_id="simda", trigger="manual", status="succeeded",
                      started_at=utcnow(), ended_at=utcnow(), counts={"failed": 2})
        db.session.add(run)
        db.session.flush()
        for ext, reason in (("A-1", "unreadable record: tanggal '31/02/2026' is no date"),
                            (None, "Invalid report. body: Length must be between 1 and "
                                   "20000.")):
            db.session.add(SyncRecordError(run_id=run.id, connector_id="simda",
                                           stream="reports", external_id=ext,
                                           reason=reason, payload={}))
        db.session.commit()
    html = _html(officer, "/ui/connectors/simda")
    failed = re.search(r'<tr class="record-errors">.*?</tr>', html, re.S).group(0)
    shown = _outside_details(failed)
    assert "A-1: tidak dapat dibaca dari aplikasi lokal" in shown
    assert "ditolak hub karena isinya tidak memenuhi aturan laporan" in shown
    assert "unreadable record" not in shown and "Invalid report" not in shown
    assert "is no date" in failed and "Length must be between" in failed
