"""Bearer JWT auth for the API: token issue, verification, scopes and the caller's tenant."""
import functools
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask import current_app, g, request

from hub import client_state, keys
from hub.errors import Problem
from hub.models import NATIONAL, utcnow

ALGORITHMS = ["HS256"]  # fixed list: a token naming any other algorithm (or none) fails
ISSUER = "lapor-hub"
AUDIENCE = "report-exchange-v1"


@dataclass(frozen=True)
class Principal:
    client_id: str
    agency: str
    scopes: frozenset

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes

    @property
    def is_national(self) -> bool:
        return self.agency == NATIONAL

    def has(self, scope: str) -> bool:
        return scope in self.scopes or self.is_admin


def issue_token(client) -> tuple[str, int]:
    ttl = current_app.config["HUB_TOKEN_TTL_SECONDS"]
    now = utcnow()
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": client.id, "agency": client.agency_code,
        "scope": client.scopes, "iat": now, "exp": now + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex, "gen": client.secret_generation or 1,
    }
    key = current_app.config["SECRET_KEY"]
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": keys.kid(key)}), ttl


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, slug="unauthorized",
                   headers={"WWW-Authenticate": 'Bearer realm="lapor-hub"'})


def principal_from_request() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send 'Authorization: Bearer <token>'; get a token from "
                            "POST /api/v1/auth/token.")
    try:
        claims = _verified_claims(token.strip())
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired; request a new one.") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _unauthorized("The token is invalid.") from None
    if not client_state.still_valid(claims["sub"], claims["gen"]):
        raise _unauthorized("The token's client was deactivated, deleted or given a new "
                            "secret; request a new token with the current credentials.")
    return Principal(claims["sub"], claims["agency"], frozenset(claims["scope"].split()))


def _verified_claims(token: str) -> dict:
    """The token's claims once its signature and claims check out.

    A client sends the same token for up to its lifetime, and verifying it was a tenth of
    a read by key. The answer for a (token, key) pair never changes, except that the token
    expires, so a verified token is remembered and only its expiry checked again (whether
    its client still holds is checked on every request, by the caller). Nothing here can
    differ between workers: it is derived from the token and the configured keys alone.
    """
    kid = jwt.get_unverified_header(token).get("kid")
    by_kid = _keys_by_kid(tuple(keys.all_keys(current_app.config)))
    if not isinstance(kid, str) or kid not in by_kid:
        raise jwt.InvalidKeyError("unknown key id")
    claims = _verify(token, by_kid[kid])
    if claims["exp"] <= time.time():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


@functools.lru_cache(maxsize=8)
def _keys_by_kid(all_keys: tuple) -> dict:
    """The current and previous keys by the key id a token names."""
    return {keys.kid(k): k for k in all_keys}


# What each claim must be; anything else (a string "exp", a list "sub") is an invalid
# token, not an error deep in a view.
_CLAIM_TYPES = {"exp": (int, float), "iat": (int, float), "sub": str, "jti": str,
                "agency": str, "scope": str, "gen": int}


@functools.lru_cache(maxsize=4096)
def _verify(token: str, key: str) -> dict:
    # Raising is never cached: a bad token is checked afresh each time.
    claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=AUDIENCE,
                        issuer=ISSUER, options={"require": list(_CLAIM_TYPES)})
    for name, kind in _CLAIM_TYPES.items():
        if isinstance(claims[name], bool) or not isinstance(claims[name], kind):
            raise jwt.InvalidTokenError(f"claim {name} has the wrong type")
    return claims


def current_principal() -> Principal:
    return g.principal


def require(scope: str):
    """View decorator: a valid token carrying `scope` (or `admin`)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = principal_from_request()
            if not principal.has(scope):
                raise Problem(403, "Forbidden", f"This call needs the '{scope}' scope; "
                              "ask the hub administrator to grant it to your client.",
                              slug="missing-scope")
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper
    return decorate
