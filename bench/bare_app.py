"""The reference for the read benchmark: a bare Flask + Flask-SQLAlchemy app that serves a
report by primary key from the same table, with none of the hub's auth, tenant checks,
privacy rules or representation. `gunicorn bench.bare_app:app` with HUB_DATABASE_URL set."""
import os
import uuid

import sqlalchemy as sa
from flask import Flask, abort, jsonify
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Report(db.Model):
    __tablename__ = "reports"
    id = sa.Column(sa.Uuid, primary_key=True)
    tracking_id = sa.Column(sa.String(20))
    title = sa.Column(sa.String(200))
    body = sa.Column(sa.Text)
    status = sa.Column(sa.String(20))
    channel = sa.Column(sa.String(20))
    category_code = sa.Column(sa.String(100))
    updated_at = sa.Column(sa.DateTime(timezone=True))


def _dict(report) -> dict:
    return dict(id=str(report.id), tracking_id=report.tracking_id, title=report.title,
                body=report.body, status=report.status, channel=report.channel,
                category=report.category_code, updated_at=report.updated_at.isoformat())


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["HUB_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db.init_app(app)

    @app.get("/reports/<report_id>")
    def get_report(report_id):
        try:
            key = uuid.UUID(report_id)
        except ValueError:
            abort(404)
        report = db.session.get(Report, key)
        if report is None:
            abort(404)
        return jsonify(_dict(report))

    @app.get("/reports")
    def list_reports():
        # The list's reference: 100 rows by the same (updated_at, id) order, no filters.
        rows = db.session.execute(sa.select(Report).order_by(Report.updated_at, Report.id)
                                  .limit(100)).scalars()
        return jsonify(items=[_dict(r) for r in rows], next_cursor=None)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


app = create_app() if "HUB_DATABASE_URL" in os.environ else None
