"""A batch item that the hub or its database refuses fails alone: the good items of the
same batch still land, and nothing of the failing item is written."""
import sqlalchemy as sa

from hub.extensions import db
from tests.helpers import report_payload

SYS = "sleman-app"


def upsert(external_id, report=None, **fields):
    return {"op": "upsert_report", "system": SYS, "external_id": external_id,
            "report": report if report is not None else report_payload(**fields)}


def external_ids(app):
    with app.app_context():
        return set(db.session.execute(sa.text(
            "SELECT external_id FROM report_external_refs")).scalars())


def test_items_with_nul_fail_alone(app, sleman):
    with_nul_key = dict(report_payload(), **{"extra\x00": "x"})
    ops = [
        upsert("GOOD-1"),
        upsert("BAD-TITLE", title="Jalan\x00rusak"),
        upsert("BAD-KEY", report=with_nul_key),
        {"op": "upsert_report", "system": SYS, "external_id": "BAD\x00ID",
         "report": report_payload()},
        {"op": "add_response", "report_ref": {"system": SYS, "external_id": "GOOD-1"},
         "response": {"body": "Sudah\x00ditangani."}},
        {"op": "change_status", "report_ref": {"system": SYS, "external_id": "GOOD-1"},
         "status": "verified", "note": "ok\x00"},
        upsert("GOOD-2"),
    ]
    resp = sleman.post("/sync/batches", json={"operations": ops})
    assert resp.status_code == 207, resp.get_data(as_text=True)
    body = resp.get_json()
    results = body["results"]
    assert [r["result"] for r in results] == ["created", "failed", "failed", "failed",
                                               "failed", "failed", "created"]
    assert body["succeeded"] == 2 and body["failed"] == 5
    for result in results[1:6]:
        assert 400 <= result["status"] < 500, result
        assert "NUL" in result["error"]["detail"], result
    assert list(results[1]["error"]["errors"]) == ["report.title"]
    assert list(results[2]["error"]["errors"]) == ["report.extra\\u0000"]
    assert list(results[3]["error"]["errors"]) == ["external_id"]
    assert list(results[4]["error"]["errors"]) == ["response.body"]
    assert list(results[5]["error"]["errors"]) == ["note"]
    assert external_ids(app) == {"GOOD-1", "GOOD-2"}


def test_an_item_the_database_refuses_fails_alone(app, sleman, monkeypatch):
    """A value only the database refuses (here: a column made shorter than the schema
    allows) fails its item, on the bulk path and the per-item path alike."""
    sqlite = app.config["HUB_SQLITE"]
    with app.app_context():
        if sqlite:  # no ALTER COLUMN, and no length limits: triggers refuse instead
            for when in ("INSERT", "UPDATE"):
                db.session.execute(sa.text(
                    f"CREATE TRIGGER short_title_{when.lower()} BEFORE {when} ON reports "
                    "WHEN length(NEW.title) > 20 "
                    "BEGIN SELECT RAISE(ABORT, 'value too long for title'); END"))
        else:
            db.session.execute(sa.text(
                "ALTER TABLE reports ALTER COLUMN title TYPE varchar(20)"))
        db.session.commit()
    try:
        ops = [upsert("OK-1", title="Pendek"), upsert("LONG-1", title="x" * 100),
               upsert("OK-2", title="Juga pendek")]
        resp = sleman.post("/sync/batches", json={"operations": ops})
        assert resp.status_code == 207, resp.get_data(as_text=True)
        results = resp.get_json()["results"]
        assert [r["result"] for r in results] == ["created", "failed", "created"]
        assert results[1]["status"] == 422, results[1]
        assert "database" in results[1]["error"]["detail"]
        assert external_ids(app) == {"OK-1", "OK-2"}
        # An update (the per-item path) that the database refuses changes nothing.
        again = [upsert("OK-1", title="y" * 100), upsert("OK-2", title="Baru")]
        resp = sleman.post("/sync/batches", json={"operations": again})
        assert [r["result"] for r in resp.get_json()["results"]] == ["failed", "updated"]
        titles = {r["title"] for r in sleman.get("/reports").get_json()["items"]}
        assert titles == {"Pendek", "Baru"}
    finally:
        with app.app_context():
            if sqlite:
                for when in ("insert", "update"):
                    db.session.execute(sa.text(f"DROP TRIGGER short_title_{when}"))
            else:
                db.session.execute(sa.text(
                    "ALTER TABLE reports ALTER COLUMN title TYPE varchar(200)"))
            db.session.commit()
