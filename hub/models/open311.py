"""The Open311 facade's own rows: API keys of clients, and request tokens."""
import hashlib
import hmac

import sqlalchemy as sa

from hub.extensions import db
from hub.models.reports import Report, Response
from hub.models.types import UTCDateTime, Uuid, utcnow

# The public listings' orders: requests newest first by requested (submitted) time,
# updates oldest first by their time. Declared here, beside the facade that needs them.
sa.Index("ix_reports_submitted_at", Report.submitted_at)
sa.Index("ix_responses_created_at", Response.created_at)


def hash_open311_key(key: str) -> str:
    # Keys are 256-bit random tokens (see `hub open311-key`), so a plain SHA-256 is as
    # safe as a slow KDF here and lets a key be found by its hash in one index lookup.
    return hashlib.sha256(key.encode()).hexdigest()


class Open311Key(db.Model):
    """The Open311 `api_key` of an API client: one per client, only its hash is kept.

    Open311 has no bearer tokens: a POST carries the key itself, so the key maps the
    caller onto an ApiClient and from there onto its agency and scopes.
    """

    __tablename__ = "open311_keys"
    client_id = sa.Column(sa.String(64), sa.ForeignKey("api_clients.id", ondelete="CASCADE"),
                          primary_key=True)
    key_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_open311_key(key))


class Open311Token(db.Model):
    """A token answered by POST requests.json. Creation is synchronous, so the token
    resolves at once; it exists for clients written to follow tokens/{token}."""

    __tablename__ = "open311_tokens"
    token = sa.Column(sa.String(64), primary_key=True)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
