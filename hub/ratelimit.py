"""Rate limits (Flask-Limiter) on the doors anyone may knock on: the token endpoint, the
UI's login form and the public Open311 facade.

Counters live in Redis when HUB_REDIS_URL is set (shared by every gunicorn worker), in
memory otherwise (the embedded default). A limiter is made per app, so an app built with
limits off (the test suite's) never shares counters or switches with another. Views take
part by name: `@limited("login")` only marks a view; init_app wraps the marked views of
the app with that name's limit from the configuration.
"""
import logging

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

log = logging.getLogger(__name__)

_MARK = "_hub_rate_limit"
# name -> config key of its limit (a limits string such as "10/minute;100/hour").
LIMITS = {"token": "HUB_RATELIMIT_TOKEN", "login": "HUB_RATELIMIT_LOGIN"}
OPEN311_LIMIT = "HUB_RATELIMIT_OPEN311"
MESSAGE = ("Too many requests from your address. Wait the number of seconds in the "
           "Retry-After header, then try again.")


def limited(name: str):
    """Mark a view for the rate limit `name` (a key of LIMITS)."""
    if name not in LIMITS:
        raise ValueError(f"unknown rate limit {name!r}")

    def mark(view):
        setattr(view, _MARK, name)
        return view
    return mark


def init_app(app) -> Limiter:
    config = app.config
    config.setdefault("RATELIMIT_ENABLED", config.get("HUB_RATELIMIT_ENABLED", True))
    config.setdefault("RATELIMIT_STORAGE_URI", config.get("HUB_REDIS_URL") or "memory://")
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)  # Retry-After on a 429
    config.setdefault("RATELIMIT_KEY_PREFIX", "hub-ratelimit")
    # Redis away: count in this process instead of failing every login with a 500.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter = Limiter(get_remote_address, app=app)
    for endpoint, view in list(app.view_functions.items()):
        name = getattr(view, _MARK, None)
        if name:
            # POST only: showing the login form costs nothing and must not lock anyone out.
            app.view_functions[endpoint] = limiter.limit(
                lambda key=LIMITS[name]: app.config[key], methods=["POST"],
                error_message=MESSAGE)(view)
    open311 = app.blueprints.get("open311")
    if open311 is not None:
        # One budget for the whole facade, not one per endpoint.
        limiter.shared_limit(lambda: app.config[OPEN311_LIMIT], scope="open311",
                             error_message=MESSAGE)(open311)
    app.extensions["hub_limiter"] = limiter
    return limiter
