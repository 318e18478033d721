"""Fixtures: the app on a real database (one per xdist worker) and real Redis.

`--backend=postgresql` (the default): HUB_TEST_DATABASE_URL names a server database we may
connect to for CREATE DATABASE (default: CI's `test` database, trust auth); each worker
gets its own `hub_test_<worker>` database. `--backend=sqlite`: the embedded default, a
SQLite file per worker. Either way the database is migrated once with Alembic and seeded
once, then emptied between tests. Tests marked `postgresql_only` are skipped on SQLite.
"""
import os

import psycopg
import pytest
import sqlalchemy as sa

from hub import create_app
from hub.extensions import db
from hub.models import ApiClient, hash_secret
from tests.helpers import Caller

ADMIN_URL = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Master data (agencies, categories, holidays) and counters stay between tests; every
# other table holds per-test data and is emptied (new tables are included by themselves).
KEPT_TABLES = {"agencies", "categories", "holidays", "counters", "alembic_version"}


def data_tables() -> list[str]:
    return sorted(t for t in db.metadata.tables if t not in KEPT_TABLES)


def pytest_addoption(parser):
    parser.addoption("--backend", choices=("postgresql", "sqlite"), default="postgresql",
                     help="the database the app fixtures run on (default: postgresql)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--backend") != "sqlite":
        return
    skip = pytest.mark.skip(reason="PostgreSQL only (--backend=sqlite)")
    for item in items:
        if item.get_closest_marker("postgresql_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--backend")


def _worker_db_url(worker_id: str) -> str:
    # The pid keeps two test runs on one machine (or one PostgreSQL) out of each other's way.
    name = f"hub_test_{worker_id}_{os.getpid()}".replace("-", "_")
    admin = sa.make_url(ADMIN_URL)
    with psycopg.connect(admin.set(drivername="postgresql").render_as_string(False),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin.set(drivername="postgresql+psycopg", database=name).render_as_string(False)


@pytest.fixture(scope="session")
def database_url(worker_id, backend, tmp_path_factory):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/hub_{worker_id}.sqlite3"
        return
    url = _worker_db_url(worker_id)
    yield url
    name = sa.make_url(url).database
    admin = sa.make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id(request):
    # pytest-xdist provides this fixture; this fallback serves plain `pytest` runs.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture(scope="session")
def _migrated_app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "HUB_REDIS_URL": None,
        # Off for the suite (it logs in and takes tokens far more often than any person);
        # tests/security/test_rate_limits.py builds apps with the limits on.
        "HUB_RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "HUB_ATTACHMENT_DIR": str(tmp_path_factory.mktemp("attachments")),
        # The simulators the tests talk to listen on 127.0.0.1: the operator's allow-list
        # opens that range to connectors, as a deployment would open its local systems'.
        "HUB_CONNECTOR_ALLOW_NETWORKS": "127.0.0.0/8",
        "HUB_INBOX_ROOT": str(tmp_path_factory.getbasetemp() / "recap-inbox"),
    })
    with app.app_context():
        from flask_migrate import upgrade
        upgrade(revision="heads")
        from hub.seed import seed_all
        seed_all(db.session)
        db.session.commit()
    return app


@pytest.fixture
def app(_migrated_app):
    with _migrated_app.app_context():
        if db.engine.dialect.name == "sqlite":
            _empty_sqlite(db.engine)
        else:
            db.session.execute(sa.text(f"TRUNCATE {', '.join(data_tables())} CASCADE"))
            db.session.commit()
    # The app is built once per worker: what a test changes in its config (allow-lists,
    # limits) must not leak into the next test, even when the test fails half-way.
    config = dict(_migrated_app.config)
    yield _migrated_app
    _migrated_app.config.clear()
    _migrated_app.config.update(config)
    with _migrated_app.app_context():
        db.session.remove()


def _empty_sqlite(engine):
    # SQLite has no TRUNCATE ... CASCADE; foreign keys are switched off for the emptying,
    # a PRAGMA that only takes effect outside a transaction (hence the driver connection,
    # which hub.sqlite leaves without transactions of its own).
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("BEGIN IMMEDIATE")
        for table in data_tables():
            cur.execute(f'DELETE FROM "{table}"')
        cur.execute("COMMIT")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        raw.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_caller(app, client):
    """make_caller(agency, scopes) -> Caller with a real token from POST /auth/token."""
    counter = {"n": 0}

    def make(agency: str = "kab-sleman", scopes: str = "reports:read reports:write"):
        counter["n"] += 1
        client_id, secret = f"test-{agency}-{counter['n']}", f"secret-{counter['n']}"
        with app.app_context():
            db.session.add(ApiClient(id=client_id, name=client_id, agency_code=agency,
                                     scopes=scopes, secret_hash=hash_secret(secret)))
            db.session.commit()
        resp = client.post("/api/v1/auth/token",
                           json={"client_id": client_id, "client_secret": secret})
        assert resp.status_code == 200, resp.get_json()
        return Caller(client, resp.get_json()["access_token"], agency)

    return make


@pytest.fixture
def sleman(make_caller):
    return make_caller("kab-sleman")


@pytest.fixture
def bantul(make_caller):
    return make_caller("kab-bantul")


@pytest.fixture
def national(make_caller):
    return make_caller("*", "reports:read reports:write")


@pytest.fixture
def admin(make_caller):
    return make_caller("*", "admin")
