"""Whether an API client's token still holds: the client exists, is active, and the
token was issued under its current secret generation.

Checked on every request. What a worker last read of a client is trusted for at most
HUB_CLIENT_STATE_CACHE_SECONDS (1 s): so a client deactivated, deleted or given a new
secret is refused by every worker of every process within that, with no state shared
between processes. The remembered answer can only accept a token that matches it; any
other token is checked against the database afresh, so the cache never refuses a token
the database would accept.
"""
import time

from flask import current_app

from hub.extensions import db


def _cache() -> dict:
    return current_app.extensions.setdefault("hub_client_state", {})


def still_valid(client_id: str, generation: int) -> bool:
    cache = _cache()
    seen = cache.get(client_id)
    now = time.monotonic()
    if (seen is not None and seen[1] == generation
            and now - seen[0] < current_app.config["HUB_CLIENT_STATE_CACHE_SECONDS"]):
        return True
    from hub.models import ApiClient
    row = db.session.execute(
        db.select(ApiClient.active, ApiClient.secret_generation)
        .where(ApiClient.id == client_id)).first()
    if row is None or not row.active:
        cache.pop(client_id, None)
        return False
    cache[client_id] = (now, row.secret_generation)
    return row.secret_generation == generation


def forget(client_id: str) -> None:
    """This process stops trusting what it read of the client (after a change to it)."""
    _cache().pop(client_id, None)
