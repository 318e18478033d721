"""Migration 0009: existing source-system names go lower case (unless that would merge two
namespaces), and every connector's system is claimed by its agency."""
import psycopg
import pytest
import sqlalchemy as sa

from hub import create_app
from hub.extensions import db
from tests.conftest import ADMIN_URL


@pytest.fixture
def scratch_url(worker_id):
    name = f"hub_migration_0009_{worker_id}"
    admin = sa.make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg",
                                     database=name).render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    return request.getfixturevalue("scratch_url")


def test_names_lowered_and_connectors_claimed(database):
    from flask_migrate import upgrade
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "HUB_REDIS_URL": None,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256"})
    with app.app_context():
        upgrade(revision="0007")
        run = lambda sql: db.session.execute(sa.text(sql))  # noqa: E731
        run("INSERT INTO agencies (code, name, level) VALUES ('kab-a', 'A', 'regency'), "
            "('kab-b', 'B', 'regency')")
        run("INSERT INTO source_systems (name, agency_code, created_at) VALUES "
            "('SLEMAN-APP', 'kab-a', CURRENT_TIMESTAMP), "
            "('Dup', 'kab-a', CURRENT_TIMESTAMP), ('dup', 'kab-b', CURRENT_TIMESTAMP)")
        for cid, system, agency in (("c1", "LAPOR-A", "kab-a"), ("c2", "sleman-app", "kab-a"),
                                    ("c3", "rekap-b", "kab-b")):
            run("INSERT INTO connectors (id, agency_code, kind, name, system, config, "
                "interval_seconds, lookback_seconds, paused, failure_streak, outbound_seq, "
                f"created_at) VALUES ('{cid}', '{agency}', 'rest', '{cid}', '{system}', "
                "'{}', 60, 300, false, 0, 0, CURRENT_TIMESTAMP)")
        db.session.commit()
        upgrade()
        claims = dict(run("SELECT name, agency_code FROM source_systems").all())
        systems = dict(run("SELECT id, system FROM connectors").all())
        db.session.remove()
        db.engine.dispose()
    assert claims == {"sleman-app": "kab-a", "Dup": "kab-a", "dup": "kab-b",
                      "lapor-a": "kab-a", "rekap-b": "kab-b"}
    assert systems == {"c1": "lapor-a", "c2": "sleman-app", "c3": "rekap-b"}
