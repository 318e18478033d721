"""The `hub` CLI: API clients, connector files, a sync from the command line."""
import pytest
import sqlalchemy as sa
import yaml

from hub.extensions import db
from hub.models import ApiClient, Connector


def test_create_client_prints_secret_once_and_it_works(app, runner, client):
    result = runner.invoke(args=["hub", "create-client", "--name", "LAPOR Sleman",
                                 "--agency", "kab-sleman"])
    assert result.exit_code == 0, result.output
    fields = dict(line.split("=", 1) for line in result.output.strip().splitlines())
    with app.app_context():
        stored = db.session.get(ApiClient, fields["client_id"])
        assert stored.secret_hash != fields["client_secret"]  # only a hash is kept
    token = client.post("/api/v1/auth/token", json=fields)
    assert token.status_code == 200


def test_create_client_refuses_unknown_agency_and_scope(runner):
    bad_agency = runner.invoke(args=["hub", "create-client", "--name", "x", "--agency",
                                     "kab-atlantis"])
    assert bad_agency.exit_code != 0 and "unknown agency" in bad_agency.output
    bad_scope = runner.invoke(args=["hub", "create-client", "--name", "x", "--agency",
                                    "kab-sleman", "--scopes", "reports:everything"])
    assert bad_scope.exit_code != 0 and "unknown scopes" in bad_scope.output


def test_connector_import_export_round_trip(app, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SLEMAN_API_KEY", "from-the-environment")
    result = runner.invoke(args=["hub", "connector", "import",
                                 "mappings/kab-sleman/lapor-sleman.yaml"])
    assert result.exit_code == 0, result.output
    exported = runner.invoke(args=["hub", "connector", "export", "lapor-sleman"])
    doc = yaml.safe_load(exported.output)
    original = yaml.safe_load(open("mappings/kab-sleman/lapor-sleman.yaml"))
    assert doc["mappings"] == original["mappings"]
    assert doc["connector"]["config"] == original["connector"]["config"]
    assert "from-the-environment" not in exported.output
    from hub.services.secrets import unseal
    with app.app_context():
        assert unseal(db.session.get(Connector, "lapor-sleman").secrets) == {
            "api_key": "from-the-environment"}
    broken = tmp_path / "broken.yaml"
    broken.write_text("connector: {id: x, kind: telepathy, agency: kab-sleman}\n")
    refused = runner.invoke(args=["hub", "connector", "import", str(broken)])
    assert refused.exit_code != 0 and "unknown connector kind" in refused.output


def test_connector_reconcile_prints_what_it_found(app, runner, tmp_path):
    import os

    from tests.sync import ukk
    name = f"ukk_cli_{os.getpid()}"
    source = ukk.create_source(name)
    try:
        cid = ukk.connect(app, source, "ukk-cli")
        first = runner.invoke(args=["hub", "connector", "reconcile", cid])
        assert first.exit_code == 0, first.output
        assert "succeeded; 1 read, 1 missing, 0 changed, 0 no longer in the source" in \
            first.output
        ukk.execute(source, "UPDATE pengaduan SET status = 'selesai'")
        second = runner.invoke(args=["hub", "connector", "reconcile", cid])
        assert "1 read, 0 missing, 1 changed" in second.output, second.output
        with app.app_context():
            from hub.models import SyncRun
            kinds = [r.kind for r in db.session.query(SyncRun).filter_by(connector_id=cid)]
        assert kinds == ["reconcile", "reconcile"]
    finally:
        ukk.drop_source(name)
    unknown = runner.invoke(args=["hub", "connector", "reconcile", "no-such-connector"])
    assert unknown.exit_code != 0 and "no connector 'no-such-connector'" in unknown.output


def test_a_write_command_waits_for_another_writer_on_sqlite(app, runner, backend,
                                                            database_url):
    """The embedded default: a command that reads, then writes must not fail 'database is
    locked' because another process committed meanwhile; it waits for the write lock."""
    if backend != "sqlite":
        pytest.skip("SQLite's single writer; PostgreSQL lets both go ahead")
    import sqlite3
    import threading
    import time
    path = sa.make_url(database_url).database
    holding = threading.Event()

    def other_writer():
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO source_systems (name, agency_code, created_at) "
                     "VALUES ('other-app', 'kab-bantul', '2026-12-03 00:00:00')")
        holding.set()
        time.sleep(1.0)  # the command starts while this transaction holds the lock
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    holding.wait(10)
    result = runner.invoke(args=["hub", "source-system", "claim", "sleman-app",
                                 "--agency", "kab-sleman"])
    thread.join()
    assert result.exit_code == 0, result.output
    assert "sleman-app: claimed for kab-sleman" in result.output
    with app.app_context():
        names = set(db.session.execute(sa.text("SELECT name FROM source_systems")).scalars())
    assert {"sleman-app", "other-app"} <= names
