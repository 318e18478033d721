"""The declarative REST connector's parts over real HTTP: e-Lapor Kupang (comments as a
sub-resource, cookie login, a capped page size, newest first, naive UTC) and a
"pengaduan" app (follow-ups inside each complaint, its own changed-since format)."""
import copy
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportExternalRef, Response, ResponseExternalRef
from hub.sync import files
from simulators.kupang.testing import run_simulator as run_kupang
from simulators.pengaduan.testing import run_simulator as run_pengaduan

KUPANG_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-kupang/elapor-kupang.yaml"


def _count(app, model, *where):
    with app.app_context():
        return db.session.execute(sa.select(sa.func.count()).select_from(model)
                                  .where(*where)).scalar()


def _runner(app, doc, secrets):
    from hub.models import SyncRun
    from hub.sync.runner import run_connector
    with app.app_context():
        conn_id = files.import_document(db.session, doc, secrets=secrets).id
        db.session.commit()

    def run():
        with app.app_context():
            run_id = run_connector(conn_id, "manual")
            run = db.session.get(SyncRun, run_id)
            return {"status": run.status, "counts": dict(run.counts), "error": run.error,
                    "cursor_after": run.cursor_after}
    return run


def _refs(app, model, system):
    return _count(app, model, model.system == system)


# --- e-Lapor Kabupaten Kupang ----------------------------------------------------------

@pytest.fixture
def kupang():
    with run_kupang() as sim:
        sim.control("generate", {"count": 300, "comments": 292})
        yield sim


def _kupang_doc(sim):
    doc = copy.deepcopy(files.load_file(KUPANG_FILE))
    doc["connector"]["config"]["base_url"] = sim.url
    doc["connector"]["config"]["timeout_seconds"] = 5
    return doc


def test_kupang_shipped_file_reads_every_report_and_comment_once(app, kupang):
    run = _runner(app, _kupang_doc(kupang), {"password": kupang.password})
    first = run()
    assert first["status"] == "succeeded", first
    assert _refs(app, ReportExternalRef, "elapor-kupang") == 300
    assert _count(app, Report) == 300
    assert _refs(app, ResponseExternalRef, "elapor-kupang") == 292
    assert _count(app, Response) == 292
    assert first["counts"]["created"] == 592 and first["counts"]["held"] == 0
    # Asked at the size the server allows, page after page; comments per report.
    asked = [args for path, args in kupang.requests_to("/api/reports")
             if path == "/api/reports"]
    assert {a["limit"] for a in asked} == {"50"} and len(asked) == 12  # 6 pages x 2
    assert len([p for p, _ in kupang.requests_to("/api/reports/")
                if p.endswith("/comments")]) == 300
    with app.app_context():
        # Naive stamps read as UTC; two statuses read as one.
        some = kupang.state["reports"][0]
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.external_id == some["id"])).scalar_one()
        served = some["createdAt"].replace(microsecond=some["createdAt"].microsecond
                                           // 1000 * 1000)
        assert ref.report.submitted_at == served  # not 8 hours off (WITA)
        assert ref.report.agency_code == "kab-kupang"
    second = run()
    assert second["status"] == "succeeded", second
    assert second["counts"]["created"] == 0 and second["counts"]["updated"] == 0
    assert _count(app, Report) == 300 and _count(app, Response) == 292
    # A comment added later arrives once; a status change of the unit is taken.
    target = next(r for r in kupang.state["reports"]
                  if (r["bupatiStatus"], r["opdStatus"]) == ("PENDING", "PENDING"))
    kupang.control(f"reports/{target['id']}/comments", {"comment": "Tim sudah ke lokasi"})
    kupang.control(f"reports/{target['id']}/status",
                   {"bupatiStatus": "PROSES", "opdStatus": "PROSES"})
    third = run()
    assert third["status"] == "succeeded", third
    assert third["counts"]["created"] == 1 and third["counts"]["updated"] == 1, third
    assert _count(app, Response) == 293
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.external_id == target["id"])).scalar_one()
        assert ref.report.status == "in_progress"


def test_kupang_old_config_is_not_succeeded_when_the_page_size_is_capped(app, kupang):
    doc = _kupang_doc(kupang)
    streams = doc["connector"]["config"]["streams"]
    del streams["responses"]
    streams["reports"]["list"]["pagination"] = {"type": "page", "page_param": "page",
                                                "size_param": "limit", "size": 100}
    run = _runner(app, doc, {"password": kupang.password})
    result = run()
    assert result["status"] == "partial", result
    assert "pagination.totalPages = 6" in result["error"]
    assert "50 records where 100 were asked" in result["error"]
    assert _count(app, Report) == 50
    # The cursor did not move past what was not seen.
    assert (result["cursor_after"].get("reports") or {}).get("since") is None


def test_kupang_capped_size_is_adapted_when_the_answer_says_how_far(app, kupang):
    doc = _kupang_doc(kupang)
    doc["connector"]["config"]["streams"]["reports"]["list"]["pagination"]["size"] = 100
    run = _runner(app, doc, {"password": kupang.password})
    result = run()
    assert result["status"] == "succeeded", result
    assert _count(app, Report) == 300 and _count(app, Response) == 292
    asked = [a["limit"] for p, a in kupang.requests_to("/api/reports") if p == "/api/reports"]
    # Each stream's listing asks 100 once, then pages on at the 50 the server serves.
    assert asked.count("100") == 2 and asked.count("50") == 10 and len(asked) == 12


def test_kupang_total_short_of_the_listing_is_reported(app, kupang):
    """The server says 300 but its pages end earlier (records deleted mid-read, a
    broken count): the run says how many it could not see."""
    kupang.app.config["LIMIT_MAX"] = 50
    doc = _kupang_doc(kupang)
    del doc["connector"]["config"]["streams"]["responses"]
    pagination = doc["connector"]["config"]["streams"]["reports"]["list"]["pagination"]
    del pagination["last_page_path"]
    kupang.state["reports"].sort(key=lambda r: r["createdAt"])
    original = kupang.app.view_functions["reports"]

    def lying(*a, **kw):
        resp = original(*a, **kw)
        body = resp.get_json()
        body["pagination"]["total"] = 320
        resp.set_data(__import__("json").dumps(body))
        return resp
    kupang.app.view_functions["reports"] = lying
    result = _runner(app, doc, {"password": kupang.password})()
    assert result["status"] == "partial", result
    assert "20 not read" in result["error"]
    assert _count(app, Report) == 300


def test_kupang_expired_session_logs_in_again(app, kupang):
    run = _runner(app, _kupang_doc(kupang), {"password": kupang.password})
    assert run()["status"] == "succeeded"
    kupang.control("logout_all")  # every session cookie the app gave is void now
    again = run()
    assert again["status"] == "succeeded", again


def test_kupang_wrong_password_fails_with_a_reason(app, kupang):
    result = _runner(app, _kupang_doc(kupang), {"password": "salah"})()
    assert result["status"] == "failed"
    assert "refused the login credentials (HTTP 401" in result["error"]
    assert _count(app, Report) == 0


# --- a pengaduan app: follow-ups inside each complaint ----------------------------------

PENGADUAN_SINCE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0700$")


@pytest.fixture
def pengaduan():
    with run_pengaduan() as sim:
        sim.control("generate", {"count": 300, "responses": 469})
        yield sim


def _pengaduan_doc(sim, responses: dict, since_format="%Y-%m-%d %H:%M:%S%z"):
    listing = {"path": "/api/pengaduan", "records_path": "data",
               "since_param": "updated_since", "since_format": since_format,
               "since_timezone": "Asia/Jakarta",
               "pagination": {"type": "page", "page_param": "page",
                              "size_param": "per_page", "size": 100,
                              "last_page_path": "meta.last_page",
                              "total_path": "meta.total"}}
    return {"connector": {
        "id": "pengaduan-desa", "agency": "kab-sleman", "kind": "rest",
        "system": "pengaduan-desa", "lookback_seconds": 120,
        "config": {"base_url": sim.url, "timezone": "Asia/Jakarta", "timeout_seconds": 5,
                   "auth": {"type": "bearer"},
                   "defaults": {"channel": "web"},
                   "streams": {
                       "reports": {"list": listing, "fields": {
                           "external_id": {"path": "id_pengaduan", "type": "str"},
                           "updated_at": {"path": "updated_at", "type": "datetime"},
                           "title": "isi_laporan", "body": "isi_laporan",
                           "category": "kategori", "status": "status",
                           "reporter.name": "nama",
                           "occurred_at": {"path": "tgl_pengaduan", "type": "datetime"}}},
                       "responses": responses}}},
        "mappings": {"category": {"Infrastruktur": "infrastruktur.jalan",
                                  "Kebersihan": "lingkungan-hidup.sampah",
                                  "Pelayanan": "pelayanan-publik",
                                  "Keamanan": "ketertiban-umum",
                                  "Kesehatan": "kesehatan.puskesmas"},
                     "status": {"0": "received", "proses": "in_progress",
                                "selesai": "resolved"}}}


RESPONSE_FIELDS = {"external_id": {"path": "id_tanggapan", "type": "str"},
                   "updated_at": {"path": "tgl_tanggapan", "type": "datetime"},
                   "created_at": {"path": "tgl_tanggapan", "type": "datetime"},
                   "body": "tanggapan", "author_name": "petugas"}
AS_PARENT = {"parent": {"stream": "reports", "records_path": "tanggapan",
                        "incremental": True}, "fields": RESPONSE_FIELDS}
AS_WILDCARD = {"list": {"path": "/api/pengaduan", "records_path": "data[*].tanggapan[*]",
                        "since_param": "updated_since",
                        "since_format": "%Y-%m-%d %H:%M:%S%z",
                        "since_timezone": "Asia/Jakarta",
                        "pagination": {"type": "page", "page_param": "page",
                                       "size_param": "per_page", "size": 100,
                                       "last_page_path": "meta.last_page"}},
               "fields": {**RESPONSE_FIELDS, "report_external_id":
                          {"parent_path": "id_pengaduan", "type": "str"}}}


@pytest.mark.parametrize("responses", [AS_PARENT, AS_WILDCARD], ids=["parent", "wildcard"])
def test_embedded_responses_arrive_once_with_the_since_format(app, pengaduan, responses):
    run = _runner(app, _pengaduan_doc(pengaduan, responses), {"token": pengaduan.token})
    first = run()
    assert first["status"] == "succeeded", first
    assert _refs(app, ReportExternalRef, "pengaduan-desa") == 300
    assert _refs(app, ResponseExternalRef, "pengaduan-desa") == 469
    assert _count(app, Response) == 469
    second = run()
    assert second["status"] == "succeeded", second
    assert second["counts"]["created"] == 0 and second["counts"]["updated"] == 0
    assert _count(app, Report) == 300 and _count(app, Response) == 469
    # Every incremental read sent the since value in the app's own format.
    sent = pengaduan.since_seen
    assert sent and all(PENGADUAN_SINCE.match(s) for s in sent), sent
    # A follow-up added later arrives exactly once.
    pengaduan.control("pengaduan/7/tanggapan", {"tanggapan": "Sudah diperbaiki"})
    third = run()
    assert third["status"] == "succeeded", third
    assert third["counts"]["created"] == 1, third
    assert _count(app, Response) == 470


def test_iso_since_fails_where_the_app_takes_its_own_format(app, pengaduan):
    """The measured failure, kept as a check of the simulator and of the default."""
    run = _runner(app, _pengaduan_doc(pengaduan, AS_PARENT, since_format=None),
                  {"token": pengaduan.token})
    assert run()["status"] == "succeeded"  # the first read has no since
    again = run()
    assert again["status"] == "failed" and "HTTP 500" in again["error"]
