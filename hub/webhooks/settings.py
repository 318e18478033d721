"""Webhook settings: the app's config first, then the environment, then a default (the
relay also runs in RQ workers whose app config knows nothing of these names)."""
import os

from flask import current_app, has_app_context

DEFAULTS = {
    "HUB_WEBHOOK_QUEUE": "webhooks",
    "HUB_WEBHOOK_TIMEOUT_SECONDS": 15.0,
    "HUB_WEBHOOK_RETRY_HOURS": 24.0,  # retries go on at least this long, then dead
    "HUB_WEBHOOK_RETRY_BASE_SECONDS": 5.0,  # first backoff; doubles per attempt
    "HUB_WEBHOOK_RETRY_MAX_SECONDS": 7200.0,  # longest gap between two attempts
    # A claim's lease, renewed while its request runs: a worker that died gives its
    # claims back after at most this.
    "HUB_WEBHOOK_CLAIM_SECONDS": 10.0,
    "HUB_WEBHOOK_CONCURRENCY": 32,  # parallel requests per relay job
    "HUB_WEBHOOK_SUBSCRIPTION_CONCURRENCY": 4,  # of them, at most this many per subscription
    "HUB_WEBHOOK_HOST_CONCURRENCY": 8,  # and per destination host (host:port)
    "HUB_WEBHOOK_CIRCUIT_FAILURES": 5,  # failed attempts in a row that open the circuit
    "HUB_WEBHOOK_CIRCUIT_SECONDS": 30.0,  # how long it stays open before one probe
    "HUB_WEBHOOK_SECRET_OVERLAP_HOURS": 24.0,  # the old secret keeps signing after rotation
    "HUB_WEBHOOK_RELAY_LINGER_SECONDS": 2.0,  # a relay job waits this long for new events
}


def get(name: str):
    default = DEFAULTS[name]
    value = current_app.config.get(name) if has_app_context() else None
    if value is None:
        value = os.environ.get(name)
    if value is None:
        return default
    return type(default)(value)
