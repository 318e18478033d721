"""Liveness, readiness (database and Redis) and Prometheus metrics."""
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from hub import create_app
from hub.extensions import db

PROBLEM = "application/problem+json"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_app(app, tmp_path):
    made = []

    def make(**config):
        new = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "HUB_REDIS_URL": None, "SECRET_KEY": app.config["SECRET_KEY"],
            "HUB_ATTACHMENT_DIR": str(tmp_path / "att"), **config})
        made.append(new)
        return new

    yield make
    for new in made:
        with new.app_context():
            db.session.remove()
            db.engine.dispose()


def metrics(client) -> dict:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert resp.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert resp.headers["Content-Type"].count("charset") == 1
    samples = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def requests_total(samples, method, endpoint, status) -> float:
    key = ("hub_http_requests_total", tuple(sorted(
        {"method": method, "endpoint": endpoint, "status": str(status)}.items())))
    return samples.get(key, 0.0)


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_health_endpoints_need_no_token(client):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_readyz_without_redis_runs_jobs_in_process(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"].startswith("in-process")


def test_readyz_with_real_redis(make_app):
    resp = make_app(HUB_REDIS_URL=REDIS_URL).test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


def test_readyz_with_unreachable_redis_is_503(make_app):
    resp = make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0").test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.content_type == PROBLEM
    body = resp.get_json()
    assert body["status"] == 503 and body["type"] == "/problems/not-ready" and body["title"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["queue"].startswith("unavailable")
    # Liveness does not depend on Redis.
    assert make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0").test_client() \
        .get("/healthz").status_code == 200


def test_readyz_with_unreachable_database_is_503(make_app):
    broken = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
                      HUB_REDIS_URL=REDIS_URL)
    resp = broken.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.content_type == PROBLEM
    checks = resp.get_json()["checks"]
    assert checks["database"].startswith("unavailable")
    assert checks["queue"] == "ok"
    assert broken.test_client().get("/healthz").status_code == 200
    # /metrics still answers (the database gauge is just empty).
    assert broken.test_client().get("/metrics").status_code == 200


def test_metrics_count_requests_by_route_template(client, sleman):
    before = metrics(client)
    report = sleman.create_report()
    sleman.get(f"/reports/{report['id']}")
    sleman.get(f"/reports/{report['id']}")
    client.get("/healthz")
    client.get("/no-such-path/12345")
    after = metrics(client)
    route = "/api/v1/reports/<string:report_id>"
    assert requests_total(after, "GET", route, 200) - requests_total(before, "GET", route, 200) \
        == 2
    assert requests_total(after, "POST", "/api/v1/reports", 201) - \
        requests_total(before, "POST", "/api/v1/reports", 201) == 1
    assert requests_total(after, "GET", "/healthz", 200) - \
        requests_total(before, "GET", "/healthz", 200) == 1
    assert requests_total(after, "GET", "unmatched", 404) - \
        requests_total(before, "GET", "unmatched", 404) == 1
    # Label values are route templates, never ids or raw paths (bounded cardinality).
    endpoints = {dict(labels).get("endpoint") for name, labels in after
                 if name == "hub_http_requests_total"}
    assert not any(report["id"] in e or "12345" in e for e in endpoints if e)
    assert ("hub_http_request_seconds_count", (("endpoint", route),)) in after


def test_metrics_report_gauge_by_status(client, sleman):
    samples = metrics(client)
    assert not [k for k in samples if k[0] == "hub_reports"]  # no reports yet
    first, second, third = (sleman.create_report() for _ in range(3))
    sleman.status(first["id"], "verified")
    sleman.status(second["id"], "rejected")
    samples = metrics(client)
    gauge = {dict(labels)["status"]: value for (name, labels), value in samples.items()
             if name == "hub_reports"}
    assert gauge == {"received": 1, "verified": 1, "rejected": 1}
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE hub_reports gauge" in text
    assert "# TYPE hub_http_requests_total counter" in text
