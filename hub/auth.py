"""Bearer JWT auth for the API: token issue, verification, scopes and the caller's tenant."""
import functools
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask import current_app, g, request

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
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm="HS256"), ttl


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
        claims = _verified_claims(token.strip(), current_app.config["SECRET_KEY"])
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired; request a new one.") from None
    except jwt.PyJWTError:
        raise _unauthorized("The token is invalid.") from None
    agency, scope = claims.get("agency"), claims.get("scope")
    if not isinstance(agency, str) or not isinstance(scope, str):
        raise _unauthorized("The token is invalid.")
    return Principal(claims["sub"], agency, frozenset(scope.split()))


def _verified_claims(token: str, key: str) -> dict:
    """The token's claims once its signature and claims check out.

    A client sends the same token for up to its lifetime, and verifying it was a tenth of
    a read by key. The answer for a (token, key) pair never changes, except that the token
    expires, so a verified token is remembered and only its expiry checked again. Nothing
    here can differ between workers: it is derived from the token alone.
    """
    claims = _verify(token, key)
    if claims["exp"] <= time.time():
        raise jwt.ExpiredSignatureError("Signature has expired")
    return claims


@functools.lru_cache(maxsize=4096)
def _verify(token: str, key: str) -> dict:
    # Raising is never cached: a bad token is checked afresh each time.
    return jwt.decode(token, key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=ISSUER,
                      options={"require": ["exp", "iat", "sub", "jti"]})


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
