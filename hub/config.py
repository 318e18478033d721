"""Configuration from environment variables, with defaults a newcomer can run.

With no HUB_DATABASE_URL the hub uses a SQLite file under ./var; with no HUB_REDIS_URL
jobs run in-process. Production sets both (PostgreSQL via psycopg 3, Redis + RQ).
"""
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A checkout keeps its state in <checkout>/var; an installed hub in ./var of where it runs.
CHECKOUT = (ROOT / "setup.cfg").is_file() and (ROOT / "hub").is_dir()


def migrations_dir() -> Path:
    """The Alembic scripts: migrations/ of a checkout, or hub/migrations of a wheel."""
    installed = Path(__file__).resolve().parent / "migrations"
    if (installed / "env.py").is_file():
        return installed
    return ROOT / "migrations"


def _normalise_db_url(url: str) -> str:
    # Accept the usual postgres:// and postgresql:// spellings but always drive psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def from_env() -> dict:
    default_var = ROOT / "var" if CHECKOUT else Path.cwd() / "var"
    var = Path(os.environ.get("HUB_VAR_DIR") or default_var)
    db_url = os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{var / 'hub.sqlite3'}"
    return {
        "SQLALCHEMY_DATABASE_URI": _normalise_db_url(db_url),
        "HUB_REDIS_URL": os.environ.get("HUB_REDIS_URL") or None,
        # No fallback key: outside development the hub refuses to start without one
        # (hub.keys.settle); in development it makes its own under HUB_VAR_DIR.
        "HUB_ENV": os.environ.get("HUB_ENV", "production").strip().lower(),
        "SECRET_KEY": os.environ.get("HUB_SECRET_KEY") or None,
        # Keys retired by a rotation, still accepted (tokens, sealed secrets, UI cookies)
        # until the operator removes them: whitespace- or comma-separated.
        "HUB_SECRET_KEY_PREVIOUS": os.environ.get("HUB_SECRET_KEY_PREVIOUS", "")
        .replace(",", " ").split(),
        "HUB_UI_SESSION_HOURS": _int("HUB_UI_SESSION_HOURS", 8),
        # How long a worker may trust what it last read of an API client's row (active,
        # secret generation): a revoked client is refused by every worker within this.
        "HUB_CLIENT_STATE_CACHE_SECONDS": float(
            os.environ.get("HUB_CLIENT_STATE_CACHE_SECONDS", 1.0)),
        "HUB_VAR_DIR": str(var),
        "HUB_ATTACHMENT_DIR": os.environ.get("HUB_ATTACHMENT_DIR", str(var / "attachments")),
        "HUB_ATTACHMENT_MAX_BYTES": _int("HUB_ATTACHMENT_MAX_BYTES", 2 * 1024 * 1024),
        "HUB_TOKEN_TTL_SECONDS": _int("HUB_TOKEN_TTL_SECONDS", 900),
        "HUB_DEFAULT_TZ": os.environ.get("HUB_DEFAULT_TZ", "Asia/Jakarta"),
        # The per-connector lock: renewed after every page; a dead worker's expires.
        "HUB_SYNC_LEASE_SECONDS": _int("HUB_SYNC_LEASE_SECONDS", 120),
        # Failed runs in a row before a connector's circuit opens (it is paused).
        "HUB_SYNC_CIRCUIT_THRESHOLD": _int("HUB_SYNC_CIRCUIT_THRESHOLD", 5),
        # Rate limits ("N/second|minute|hour|day", several joined by ";") per client
        # address on the doors anyone may knock on; see hub.ratelimit.
        "HUB_RATELIMIT_ENABLED": os.environ.get("HUB_RATELIMIT_ENABLED", "true").lower()
        not in ("0", "false", "no", "off"),
        "HUB_RATELIMIT_TOKEN": os.environ.get("HUB_RATELIMIT_TOKEN", "30/minute;300/hour"),
        "HUB_RATELIMIT_LOGIN": os.environ.get("HUB_RATELIMIT_LOGIN", "10/minute;100/hour"),
        "HUB_RATELIMIT_OPEN311": os.environ.get("HUB_RATELIMIT_OPEN311", "120/minute"),
        # Reverse proxies in front of the hub whose X-Forwarded-For is trusted: without
        # it every caller behind a proxy shares the proxy's address (and its limits).
        "HUB_PROXY_HOPS": _int("HUB_PROXY_HOPS", 0),
        # How often each `hub scheduler` enqueues the SLA scan (overdue flags, auto-close).
        "HUB_SLA_SCAN_SECONDS": float(os.environ.get("HUB_SLA_SCAN_SECONDS", 60)),
        # Request bodies above this are refused with 413 before they are parsed.
        "MAX_CONTENT_LENGTH": _int("HUB_MAX_REQUEST_BYTES", 16 * 1024 * 1024),
        # Seconds from a request's start for its body to arrive (under gunicorn), else 408:
        # a client trickling its body holds a server thread no longer (hub.body_deadline).
        "HUB_REQUEST_BODY_SECONDS": float(os.environ.get("HUB_REQUEST_BODY_SECONDS", 30)),
    }


DEFAULTS = {
    "API_TITLE": "SP4N-LAPOR! integration hub: report-exchange API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_REDOC_PATH": "/docs",
    "OPENAPI_REDOC_URL": None,  # set in create_app to a locally served bundle
    # No pool_pre_ping: hub.liveness checks a pooled connection without a round trip.
    # Recycling bounds how long a connection a firewall dropped silently can linger.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
}


def new_secret() -> str:
    return secrets.token_urlsafe(32)
