"""POST /sync/batches answers replays (unchanged, stale) together: the same results and
the same state as the per-item path, which answered them one by one."""
import pytest
import sqlalchemy as sa

from hub.api import sync
from hub.extensions import db
from hub.models import ReportExternalRef
from hub.services import ingest_plan
from hub.services import reports as report_service
from tests.api.test_batches import batch, count
from tests.helpers import report_payload

EARLY, LATE = "2026-11-20T01:00:00Z", "2026-11-21T01:00:00Z"


def held_payloads():
    """The records a source system already pushed: external id -> payload."""
    return {f"R-{i}": report_payload(title=f"Laporan {i}", source_updated_at=LATE)
            for i in range(8)}


def upsert(system, external_id, payload):
    return {"op": "upsert_report", "system": system, "external_id": external_id,
            "report": payload}


def second_ref(app, system, of, external_id, payload):
    """A second record of the same report (a source that split one complaint in two),
    holding the same payload."""
    with app.app_context():
        ref = db.session.execute(sa.select(ReportExternalRef).where(
            ReportExternalRef.system == system,
            ReportExternalRef.external_id == of)).scalar_one()
        db.session.add(ReportExternalRef(
            report_id=ref.report_id, system=system, external_id=external_id,
            source_updated_at=ref.source_updated_at,
            payload_hash=report_service.payload_fingerprint(payload)))
        db.session.commit()


def replay_batch(system, held):
    changed = dict(held["R-2"], title="Judul baru")
    return [
        upsert(system, "R-0", held["R-0"]),                                # unchanged
        upsert(system, "R-1", dict(held["R-1"], title="Lama",
                                   source_updated_at=EARLY)),              # stale
        upsert(system, "R-2", changed),                                    # updated
        upsert(system, "R-3", dict(held["R-3"], title="Kedua")),           # named twice:
        upsert(system, "R-3", held["R-3"]),                                # in order
        upsert(system, "R-4", dict(held["R-4"], title="")),                # 422
        upsert(system, "R-5", dict(held["R-5"], body="Isi baru")),         # updated, and
        upsert(system, "R-5-bis", held["R-5"]),                            # its report's 2nd ref
        upsert(system, "R-6", dict(held["R-6"], occurred_at="2026-11-20T08:00:00")),  # 400
        upsert(system, "N-1", report_payload(title="Baru")),               # created
        upsert("bantul-app", "R-0", held["R-0"]),                          # 403
        upsert(system, "R-7", dict(held["R-7"], unknown=1)),               # 422
        upsert(system, "R-7-bis", held["R-7"]),                            # unknown record
        "junk",
    ]


def comparable(results, names):
    """Results with report ids and tracking ids replaced by the record they belong to."""
    out = []
    for r in results:
        r = dict(r)
        if r.get("id"):
            r["id"] = names[r["id"]]
            r["tracking_id"] = "tracking of " + r["id"]
        out.append(r)
    return out


def state(app, system):
    """Per record of the system: its report's title, version and event count."""
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT x.external_id, r.title, r.version, x.payload_hash, "
            "(SELECT count(*) FROM report_events e WHERE e.report_id = r.id) "
            "FROM report_external_refs x JOIN reports r ON r.id = x.report_id "
            "WHERE x.system = :s"), {"s": system}).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def push_held(app, caller, system):
    held = held_payloads()
    first = batch(caller, [upsert(system, k, p) for k, p in held.items()]).get_json()
    assert first["failed"] == 0
    second_ref(app, system, "R-5", "R-5-bis", held["R-5"])
    names = {r["id"]: f"R-{i}" for i, r in enumerate(first["results"])}
    return held, names


@pytest.mark.parametrize("with_status_change", [False, True])
def test_replays_answer_as_the_per_item_path(app, sleman, bantul, monkeypatch,
                                             with_status_change):
    bantul.put("/sources/bantul-app/reports/B-1", json=report_payload())
    outcomes = {}
    for system, together in (("sleman-fast", True), ("sleman-slow", False)):
        held, names = push_held(app, sleman, system)
        if not together:
            monkeypatch.setattr(sync, "_together", lambda *args: {})
        ops = replay_batch(system, held)
        if with_status_change:  # before the replay of R-0: the version it answers moves
            ops.insert(0, {"op": "change_status",
                           "report_ref": {"system": system, "external_id": "R-0"},
                           "status": "verified"})
        resp = batch(sleman, ops)
        assert resp.status_code == 207
        results = resp.get_json()["results"]
        for r in results:  # the new report's name
            if r.get("result") == "created":
                names[r["id"]] = "N-1"
        outcomes[system] = (comparable(results, names), state(app, system))
        monkeypatch.undo()
    fast, slow = outcomes["sleman-fast"], outcomes["sleman-slow"]
    assert fast[0] == slow[0]
    assert {k: v[:3] for k, v in fast[1].items()} == {k: v[:3] for k, v in slow[1].items()}
    results = fast[0][1:] if with_status_change else fast[0]
    assert [r["result"] for r in results][:3] == ["unchanged", "stale", "updated"]
    assert [r["result"] for r in results][3:5] == ["updated", "updated"]
    assert results[7]["id"] == "R-5"  # the second record answers with the first's report
    assert results[0]["version"] == (2 if with_status_change else 1)


def test_a_replay_takes_no_per_item_step(app, sleman, monkeypatch):
    held, _ = push_held(app, sleman, "sleman-app")
    events = count(app, "report_events")

    def per_item(*args, **kwargs):
        raise AssertionError("a replay went through the one-record writer")

    monkeypatch.setattr(ingest_plan, "upsert_one", per_item)
    ops = [upsert("sleman-app", k, held[k]) for k in ("R-0", "R-2", "R-3", "R-4", "R-6")]
    ops.append(upsert("sleman-app", "R-9", report_payload()))  # new: created
    ops.append(upsert("sleman-app", "R-1", dict(held["R-1"], source_updated_at=EARLY,
                                                 title="Lama")))
    body = batch(sleman, ops).get_json()
    assert body["failed"] == 0
    assert [r["result"] for r in body["results"]] == ["unchanged"] * 5 + ["created", "stale"]
    assert count(app, "report_events") == events + 1  # the created one's


def test_replays_on_sqlite(tmp_path):
    """The embedded default answers replays together too (no FOR UPDATE there)."""
    from tests.helpers import sqlite_app, sqlite_caller
    app = sqlite_app(tmp_path)
    caller = sqlite_caller(app)
    held = held_payloads()
    ops = [upsert("lite-app", k, p) for k, p in held.items()]
    assert [r["result"] for r in batch(caller, ops).get_json()["results"]] == \
        ["created"] * len(ops)
    ops[1] = upsert("lite-app", "R-1", dict(held["R-1"], source_updated_at=EARLY))
    assert [r["result"] for r in batch(caller, ops).get_json()["results"]] == \
        ["unchanged", "stale"] + ["unchanged"] * (len(ops) - 2)
