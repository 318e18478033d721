"""The SP4N-LAPOR! integration hub: application factory (flaskr style)."""
import logging

from flask import Flask
from flask_smorest import Api

from hub import config as hub_config
from hub.extensions import db, migrate

API_SPEC = {
    "components": {"securitySchemes": {"bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "POST /api/v1/auth/token with client credentials"}}},
    "info": {"description": "The standard report-exchange API of the SP4N-LAPOR! integration "
                            "hub. Errors are RFC 9457 application/problem+json."},
}


class HubApi(Api):
    """flask-smorest's Api, but its generated error responses document what the hub
    really sends (problem+json, see hub.errors), not flask-smorest's own error shape."""

    def _register_responses(self):
        from hub.errors import PROBLEM_JSON, problem_schema
        self.ERROR_SCHEMA = problem_schema()
        default_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default_type


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(hub_config.DEFAULTS)
    app.config.update(hub_config.from_env())
    if config:
        app.config.update(config)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        from pathlib import Path
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True)
        # SQLite: one writer at a time anyway; wait for it instead of failing.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    logging.basicConfig(level=app.config.get("LOG_LEVEL", logging.INFO))

    db.init_app(app)
    with app.app_context():
        from hub import liveness
        liveness.watch(db.engine)
    migrate.init_app(app, db, directory=str(hub_config.migrations_dir()))
    api = HubApi(app, spec_kwargs=API_SPEC)

    from hub import api as api_package
    from hub import errors, health
    api_package.register(api)
    errors.register(app, api)
    health.init_app(app)
    _register_docs(app)
    from hub import ui
    ui.init_app(app)  # the officers' web UI at /ui; / redirects there
    from hub import open311
    open311.init_app(app)  # the public Open311 GeoReport v2 facade at /open311/v2

    from hub import cli
    cli.init_app(app)
    import hub.services.events  # noqa: F401  (installs the commit hook)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)
    return app


def _register_docs(app):
    """Swagger UI at /api/v1/docs, served from the pip-installed bundle (no CDN)."""
    from flask_swagger_ui import get_swaggerui_blueprint
    app.register_blueprint(get_swaggerui_blueprint(
        "/api/v1/docs", "/api/v1/openapi.json",
        config={"app_name": "LAPOR! hub report-exchange API v1"}), url_prefix="/api/v1/docs")


def _sqlite_pragmas(app):
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
