"""Bookkeeping tables: idempotency records and counters."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models.types import JSONType, UTCDateTime, utcnow


class IdempotencyRecord(db.Model):
    """The first response to a write sent with an Idempotency-Key, replayed for 24 h."""

    __tablename__ = "idempotency_records"
    client_id = sa.Column(sa.String(64), primary_key=True)
    key = sa.Column(sa.String(255), primary_key=True)
    request_fingerprint = sa.Column(sa.String(64), nullable=False)
    status_code = sa.Column(sa.Integer, nullable=False)
    response_body = sa.Column(JSONType, nullable=True)
    response_headers = sa.Column(JSONType, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class Counter(db.Model):
    """Named monotonic counters.

    The `events` counter orders the change feed: it is bumped at the very end of each
    writing transaction, and its row lock is held until commit, so sequence numbers
    become visible in commit order and a reader never skips a late-committing change.
    """

    __tablename__ = "counters"
    name = sa.Column(sa.String(40), primary_key=True)
    value = sa.Column(sa.BigInteger, nullable=False, default=0)
