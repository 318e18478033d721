"""API clients (machine credentials) and the source systems they own."""
import hashlib
import hmac

import sqlalchemy as sa

from hub.extensions import db
from hub.models.types import UTCDateTime, utcnow

SCOPES = ("reports:read", "reports:write", "mappings:write", "webhooks:manage", "admin")
NATIONAL = "*"


def hash_secret(secret: str) -> str:
    # Client secrets are 256-bit random tokens, not passwords: a slow KDF adds nothing
    # against guessing and would make every token request cost tens of milliseconds.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiClient(db.Model):
    __tablename__ = "api_clients"
    id = sa.Column(sa.String(64), primary_key=True)  # the client_id
    name = sa.Column(sa.String(200), nullable=False)
    secret_hash = sa.Column(sa.String(64), nullable=False)
    agency_code = sa.Column(sa.String(64), nullable=False)  # an agency code or "*"
    scopes = sa.Column(sa.String(500), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    # Bumped when the secret is replaced; a token names the generation it was issued
    # under, so the tokens of the old secret stop working with it (hub.auth).
    secret_generation = sa.Column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    def check_secret(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))


class SourceSystem(db.Model):
    """A system name used in external refs, owned by the first agency that writes to it.

    Ownership stops one agency's client from overwriting another agency's records by
    guessing their (system, external_id).
    """

    __tablename__ = "source_systems"
    name = sa.Column(sa.String(64), primary_key=True)
    agency_code = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
