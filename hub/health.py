"""Liveness, readiness and Prometheus metrics (outside the versioned API)."""
import os
import time

import sqlalchemy as sa
from flask import Blueprint, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from hub.errors import Problem
from hub.extensions import db
from hub.webhooks.metrics import WebhookCollector

bp = Blueprint("health", __name__)
REGISTRY = CollectorRegistry()
REQUESTS = Counter("hub_http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("hub_http_request_seconds", "HTTP request latency", ["endpoint"],
                    registry=REGISTRY)


class DatabaseCollector:
    """Figures read from the database at scrape time, so every worker reports the same."""

    def collect(self):
        from hub.services import rollup
        gauge = GaugeMetricFamily("hub_reports", "Reports by status", labels=["status"])
        try:
            # The kept counts per agency and status: a scrape reads a few hundred rows.
            rows = rollup.status_counts(db.session).items()
        except Exception:
            rows = []
        for status, count in rows:
            gauge.add_metric([status], count)
        yield gauge


REGISTRY.register(DatabaseCollector())
REGISTRY.register(WebhookCollector())


@bp.before_app_request
def _start_timer():
    g._started = time.perf_counter()


@bp.after_app_request
def _observe(response):
    endpoint = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(request.method, endpoint, response.status_code).inc()
    if hasattr(g, "_started"):
        LATENCY.labels(endpoint).observe(time.perf_counter() - g._started)
    return response


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, do not raise: this endpoint is for probes
        checks["database"] = f"unavailable: {exc.__class__.__name__}"
    from hub.tasks import queue
    checks["queue"] = queue.health()
    if any(v != "ok" and not v.startswith("in-process") for v in checks.values()):
        raise Problem(503, "Not ready", "A dependency is unavailable.", slug="not-ready",
                      checks=checks)
    return {"status": "ok", "checks": checks}


@bp.route("/metrics")
def metrics():
    # content_type, not mimetype: CONTENT_TYPE_LATEST already carries its charset, and
    # mimetype= would append a second one.
    return Response(generate_latest(_scraped()), content_type=CONTENT_TYPE_LATEST)


def _scraped() -> CollectorRegistry:
    """What a scrape reads: under gunicorn (gunicorn.conf.py names a shared directory)
    every worker's counters summed from their files, plus the database figures once;
    otherwise this process's registry."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DatabaseCollector())
    registry.register(WebhookCollector())
    return registry


def init_app(app):
    app.register_blueprint(bp)
