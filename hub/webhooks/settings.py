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
    # A claimed delivery is retried after at least this if the worker sending it died
    # (longer when a batch could take longer: see delivery.claim_seconds).
    "HUB_WEBHOOK_CLAIM_SECONDS": 60.0,
    "HUB_WEBHOOK_CONCURRENCY": 16,  # parallel requests per relay job
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
