"""The Alembic migrations are one straight line, build exactly the schema the models
declare (on PostgreSQL), and go down to nothing and up again cleanly."""
import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hub import config as hub_config
from hub import create_app
from hub.extensions import db
from tests.conftest import ADMIN_URL


def test_one_head_and_a_straight_line():
    script = ScriptDirectory(str(hub_config.ROOT / "migrations"))
    assert len(script.get_heads()) == 1, script.get_heads()
    revisions = list(script.walk_revisions())
    assert [r.down_revision for r in revisions][-1] is None
    assert all(not r.is_merge_point and not r.is_branch_point for r in revisions)


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


@pytest.fixture
def scratch_url(worker_id):
    name = f"hub_migrations_{worker_id}"
    admin = sa.make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg",
                                     database=name).render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_down_to_nothing_and_up_again(scratch_url):
    from flask_migrate import downgrade, upgrade
    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "HUB_REDIS_URL": None,
                      "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256"})
    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"reports", "webhook_subscriptions", "agency_sla_settings"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(sa.inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()
