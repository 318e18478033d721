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


class Hub(Flask):
    """Flask, with a view SQLite refused busy run again (hub.sqlite)."""

    def dispatch_request(self):
        if self.config.get("HUB_SQLITE"):
            from hub import sqlite
            return sqlite.dispatch_retrying(super().dispatch_request)
        return super().dispatch_request()


def create_app(config: dict | None = None) -> Flask:
    app = Hub(__name__, instance_relative_config=False)
    app.config.update(hub_config.DEFAULTS)
    app.config.update(hub_config.from_env())
    if config:
        app.config.update(config)
    from hub import keys
    keys.settle(app.config)  # refuses to start without a strong key outside development
    app.config["HUB_SQLITE"] = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        from pathlib import Path
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True)
    if app.config["HUB_SQLITE"]:
        from hub import sqlite
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite.engine_options()
    logging.basicConfig(level=app.config.get("LOG_LEVEL", logging.INFO))

    db.init_app(app)
    with app.app_context():
        from hub import liveness
        liveness.watch(db.engine)
        if app.config["HUB_SQLITE"]:
            from hub import sqlite
            sqlite.install(db.engine)
        elif db.engine.dialect.name == "postgresql":
            from hub import postgresql
            postgresql.install(db.engine)
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
    from hub import input_guard, ratelimit
    input_guard.init_app(app)  # NUL characters in any input: 400 before any view
    ratelimit.init_app(app)  # token, login and Open311: per-address limits
    if app.config.get("HUB_PROXY_HOPS"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["HUB_PROXY_HOPS"])

    from hub import cli
    cli.init_app(app)
    import hub.services.events  # noqa: F401  (installs the commit hook)
    from hub.services import outbox
    from hub.tasks import webhooks as webhook_tasks
    outbox.set_nudger(webhook_tasks.nudge)  # commits that record events wake the relay
    from hub.tasks import context as task_context
    task_context.use_app_factory(create_app)  # the app a worker's jobs run in
    from hub.body_deadline import BodyDeadline
    app.wsgi_app = BodyDeadline(app.wsgi_app, app.config["HUB_REQUEST_BODY_SECONDS"])
    return app


def _register_docs(app):
    """Swagger UI at /api/v1/docs, served from the pip-installed bundle (no CDN)."""
    from flask_swagger_ui import get_swaggerui_blueprint
    app.register_blueprint(get_swaggerui_blueprint(
        "/api/v1/docs", "/api/v1/openapi.json",
        config={"app_name": "LAPOR! hub report-exchange API v1"}), url_prefix="/api/v1/docs")

