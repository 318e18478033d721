"""What needs an officer's action (hub.services.needs_action), on the real database: the
connectors' failures come from real syncs against the Sleman simulator over HTTP (a
refused key, a closed port, a failing server, a destination the operator does not allow),
so the officer's sentence is chosen from the words the sync engine really writes."""
import copy
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.auth import Principal
from hub.extensions import db
from hub.models import Connector, HeldRecord, Report, utcnow
from hub.services import needs_action
from hub.sync import files
from hub.sync.runner import officer_message, run_connector
from simulators.sleman.testing import run_simulator
from tests.helpers import free_port

SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"


def _principal(agency):
    return Principal(f"user:{agency}", agency, frozenset({"reports:read"}))


SLEMAN, BANTUL, NATIONAL = _principal("kab-sleman"), _principal("kab-bantul"), \
    _principal("*")


@pytest.fixture
def sim():
    with run_simulator() as handle:
        yield handle


@pytest.fixture
def add_connector(app, sim):
    """add_connector(id, agency, base_url=sim, api_key=sim's) -> connector id."""
    def add(connector_id="lapor-sleman", agency="kab-sleman", base_url=None, api_key=None):
        doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
        doc["connector"].update(id=connector_id, agency=agency, system=connector_id,
                                name=f"LAPOR {connector_id}")
        doc["connector"]["config"]["base_url"] = base_url or sim.url
        doc["connector"]["config"]["timeout_seconds"] = 3
        with app.app_context():
            conn = files.import_document(db.session, doc,
                                         secrets={"api_key": api_key or sim.api_key})
            db.session.commit()
            return conn.id
    return add


def _sync(app, connector_id):
    with app.app_context():
        assert run_connector(connector_id, "manual") is not None


def _problems(app, principal):
    with app.app_context():
        return {p.connector.id: (p.state, p.cause)
                for p in needs_action.connector_problems(db.session, principal)}


# -- connectors: the state and the cause, from real runs -----------------------------------

def test_a_refused_key_stops_the_connector_at_once_and_says_so(app, add_connector):
    cid = add_connector(api_key="not-the-key")
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {cid: ("circuit_open", "auth")}


def test_an_unreachable_system_is_retried_and_named_unreachable(app, add_connector):
    cid = add_connector(base_url=f"http://127.0.0.1:{free_port()}")
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {cid: ("failing", "unreachable")}
    # After as many failures as the circuit allows, the hub stops it: still unreachable.
    app.config["HUB_SYNC_CIRCUIT_THRESHOLD"] = 2
    with app.app_context():
        db.session.get(Connector, cid).next_run_at = None
        db.session.commit()
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {cid: ("circuit_open", "unreachable")}


def test_a_failing_server_is_a_server_error(app, sim, add_connector):
    cid = add_connector()
    sim.fault("error503", count=None)
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {cid: ("failing", "server_error")}


def test_a_destination_the_operator_does_not_allow(app, add_connector):
    cid = add_connector()
    with app.app_context():
        conn = db.session.get(Connector, cid)
        conn.config = {**conn.config, "base_url": "http://10.255.255.1:8080"}
        db.session.commit()
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {cid: ("circuit_open", "destination")}


def test_a_healthy_connector_needs_nothing_and_a_paused_one_needs_a_person(
        app, add_connector):
    cid = add_connector()
    _sync(app, cid)
    assert _problems(app, SLEMAN) == {}
    with app.app_context():
        conn = db.session.get(Connector, cid)
        conn.paused, conn.paused_reason = True, "paused by user:1 (petugas@slemankab.go.id)"
        db.session.commit()
    assert _problems(app, SLEMAN) == {cid: ("paused", None)}


@pytest.mark.parametrize("text,cause", [
    ("not everything was read: reports: page 51 and after (max_pages 50)", "unseen"),
    (officer_message(RuntimeError("x"), 7), "hub"),
    ("another worker took over this connector's lease (this run was too slow)", "hub"),
    ("GET /api/aduan: lapor-sleman rejected the request (HTTP 404)", "rejected"),
    ("something nobody foresaw", "other"),
    (None, None), ("", None),
])
def test_the_other_words_of_the_sync_engine(text, cause):
    assert needs_action.cause_of(text) == cause


def test_another_agencys_connectors_are_never_listed(app, add_connector):
    ours = add_connector(api_key="wrong")
    theirs = add_connector("lapor-bantul", "kab-bantul", api_key="wrong")
    _sync(app, ours)
    _sync(app, theirs)
    assert set(_problems(app, SLEMAN)) == {ours}
    assert set(_problems(app, BANTUL)) == {theirs}
    assert set(_problems(app, NATIONAL)) == {ours, theirs}
    with app.app_context():
        assert needs_action.counts(db.session, SLEMAN, utcnow()).connectors == 1
        assert needs_action.counts(db.session, NATIONAL, utcnow()).connectors == 2


# -- held records --------------------------------------------------------------------------

def test_held_records_per_connector_with_their_unmapped_values(app, sim, add_connector):
    cid = add_connector()
    bantul = add_connector("lapor-bantul", "kab-bantul")
    for title, kategori in (("Izin usaha belum terbit", "IZIN"), ("Izin lagi", "IZIN"),
                            ("Pungutan", "PUNGUTAN"), ("Lampu mati", "PJU")):
        sim.control("aduan", {"judul": title, "kategori": kategori, "opd": "DPUPKP"})
    _sync(app, cid)
    with app.app_context():
        db.session.add(HeldRecord(connector_id=bantul, stream="reports", external_id="9",
                                  reason="unmapped", record={"fields": {}},
                                  missing=[{"field": "unit", "value": "X"}]))
        db.session.commit()
        found = needs_action.held_summaries(db.session, SLEMAN)
        assert [(s.connector.id, s.values, s.records, s.by_reason) for s in found] == \
            [(cid, 2, 3, {"unmapped": 3})]
        assert {s.connector.id for s in needs_action.held_summaries(db.session, BANTUL)} \
            == {bantul}
        assert needs_action.counts(db.session, SLEMAN, utcnow()).connectors == 1
        # Mapped, they arrive: nothing is held any more.
        db.session.execute(sa.delete(HeldRecord).where(HeldRecord.connector_id == cid))
        db.session.commit()
        assert needs_action.held_summaries(db.session, SLEMAN) == []
        assert needs_action.counts(db.session, SLEMAN, utcnow()).total == 0


# -- deadlines -----------------------------------------------------------------------------

def _due(app, report_id, when, status=None):
    with app.app_context():
        report = db.session.get(Report, report_id)
        report.due_at = when
        if status:
            report.status = status
        db.session.commit()


def test_overdue_and_due_soon_reports_of_the_agency_responsible_now(
        app, sleman, bantul, national):
    now = utcnow()
    late = sleman.create_report(title="Lewat tenggat")
    later = sleman.create_report(title="Lebih lama lewat")
    soon = sleman.create_report(title="Segera jatuh tempo")
    far = sleman.create_report(title="Masih lama")
    done = sleman.create_report(title="Sudah selesai")
    theirs = bantul.create_report(title="Milik Bantul")
    moved = sleman.create_report(title="Diteruskan ke Bantul")
    _due(app, late["id"], now - timedelta(hours=2))
    _due(app, later["id"], now - timedelta(days=3))
    _due(app, soon["id"], now + timedelta(hours=5))
    _due(app, far["id"], now + timedelta(days=3))
    _due(app, done["id"], now - timedelta(days=1), status="resolved")
    _due(app, theirs["id"], now - timedelta(days=1))
    assert national.status(moved["id"], "verified").status_code == 200
    assert national.post(f"/reports/{moved['id']}/dispositions",
                         json={"to_agency": "kab-bantul"}).status_code == 200
    _due(app, moved["id"], now - timedelta(days=1))
    with app.app_context():
        found = needs_action.deadlines(db.session, SLEMAN, now)
        assert (found.overdue, found.due_soon) == (2, 1)
        assert [r.title for r in found.first] == ["Lebih lama lewat", "Lewat tenggat",
                                                  "Segera jatuh tempo"]
        bantul_found = needs_action.deadlines(db.session, BANTUL, now)
        assert sorted(r.title for r in bantul_found.first) == ["Diteruskan ke Bantul",
                                                               "Milik Bantul"]
        assert needs_action.deadlines(db.session, NATIONAL, now).overdue == 4
        assert needs_action.counts(db.session, SLEMAN, now).reports == 3
        assert len(needs_action.deadlines(db.session, SLEMAN, now, limit=1).first) == 1
        # A day later the one due soon is overdue too, and nothing is due soon.
        tomorrow = needs_action.deadlines(db.session, SLEMAN, now + timedelta(days=1))
        assert (tomorrow.overdue, tomorrow.due_soon) == (3, 0)
