"""Webhook subscriptions, their deliveries and attempts, and the relay's bookkeeping.

Report events are relayed from `report_events` (already the transactional outbox);
`webhook_outbox` holds the few events that are not about a report (`sync.failed`).
"""
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import relationship

from hub.extensions import db
from hub.models.types import JSONType, UTCDateTime, Uuid, utcnow

EVENT_TYPES = ("report.created", "report.updated", "report.status_changed",
               "report.dispositioned", "response.created", "report.overdue", "sync.failed")
TEST_EVENT = "webhook.test"
# failed: the payload could not be built (its reason in last_error); never sent.
DELIVERY_STATUSES = ("pending", "succeeded", "dead", "failed")


class WebhookSubscription(db.Model):
    __tablename__ = "webhook_subscriptions"
    id = sa.Column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id = sa.Column(sa.String(64), sa.ForeignKey("api_clients.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    url = sa.Column(sa.String(2000), nullable=False)
    description = sa.Column(sa.String(500), nullable=True)
    event_types = sa.Column(JSONType, nullable=True)  # null: every type
    agencies = sa.Column(JSONType, nullable=True)  # null: every agency the owner may read
    # Fernet tokens (hub.services.secrets); the plain whsec_ value is shown once.
    secret_sealed = sa.Column(sa.Text, nullable=False)
    previous_secret_sealed = sa.Column(sa.Text, nullable=True)
    previous_secret_expires_at = sa.Column(UTCDateTime, nullable=True)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    disabled_reason = sa.Column(sa.Text, nullable=True)
    disabled_at = sa.Column(UTCDateTime, nullable=True)
    # Events up to this seq were committed before the subscription existed: the relay
    # starts after it (a replay can still reach back).
    start_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
    # Circuit breaker: after several failed attempts in a row nothing of this
    # subscription is claimed until circuit_open_until (it slows only itself).
    consecutive_failures = sa.Column(sa.Integer, nullable=False, default=0,
                                     server_default="0")
    circuit_open_until = sa.Column(UTCDateTime, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class WebhookOutboxEvent(db.Model):
    """An event that is not a report event, written in the transaction that caused it."""

    __tablename__ = "webhook_outbox"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                   autoincrement=True)
    type = sa.Column(sa.String(40), nullable=False)
    agency_code = sa.Column(sa.String(64), nullable=True)
    data = sa.Column(JSONType, nullable=False)
    occurred_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # Ids are not commit-ordered, so no cursor: the relay takes unrelayed rows.
    relayed_at = sa.Column(UTCDateTime, nullable=True)
    __table_args__ = (sa.Index("ix_webhook_outbox_unrelayed", "id",
                               postgresql_where=sa.text("relayed_at IS NULL"),
                               sqlite_where=sa.text("relayed_at IS NULL")),)


class WebhookRelayCursor(db.Model):
    """How far the relay has fanned out report_events (seq is commit-ordered)."""

    __tablename__ = "webhook_relay_cursors"
    name = sa.Column(sa.String(40), primary_key=True)
    last_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one subscription: the payload is fixed when it is created, so every
    retry sends the same body under the same webhook-id."""

    __tablename__ = "webhook_deliveries"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                   autoincrement=True)
    subscription_id = sa.Column(Uuid, sa.ForeignKey("webhook_subscriptions.id",
                                                       ondelete="CASCADE"), nullable=False)
    message_id = sa.Column(sa.String(64), nullable=False, unique=True)  # webhook-id
    type = sa.Column(sa.String(40), nullable=False)
    event_seq = sa.Column(sa.BigInteger, nullable=True)  # report events
    outbox_id = sa.Column(sa.BigInteger, nullable=True)  # other events
    report_id = sa.Column(Uuid, nullable=True)  # per-report ordering
    body = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(20), nullable=False, default="pending")
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    # Due time. While claimed it is the end of the claim's lease, renewed every few
    # seconds by the worker named in lease_owner: a worker that dies stops renewing and
    # its claims come due again within one lease.
    next_attempt_at = sa.Column(UTCDateTime, nullable=True)
    lease_owner = sa.Column(sa.String(64), nullable=True)
    last_status_code = sa.Column(sa.Integer, nullable=True)
    last_error = sa.Column(sa.Text, nullable=True)
    event_at = sa.Column(UTCDateTime, nullable=False)  # when the change was committed
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    retry_until = sa.Column(UTCDateTime, nullable=False)  # then it is dead
    delivered_at = sa.Column(UTCDateTime, nullable=True)

    attempt_log = relationship("WebhookAttempt", lazy="selectin",
                               order_by="WebhookAttempt.attempt", viewonly=True)

    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_seq", name="uq_webhook_deliveries_sub_seq"),
        sa.UniqueConstraint("subscription_id", "outbox_id",
                            name="uq_webhook_deliveries_sub_outbox"),
        sa.Index("ix_webhook_deliveries_due", "next_attempt_at",
                 postgresql_where=sa.text("status = 'pending'"),
                 sqlite_where=sa.text("status = 'pending'")),
        sa.Index("ix_webhook_deliveries_sub_report", "subscription_id", "report_id",
                 "event_seq"),
        sa.Index("ix_webhook_deliveries_sub_id", "subscription_id", "id"),
        # The claim's order within each subscription (hub.webhooks.dispatch.claimable).
        sa.Index("ix_webhook_deliveries_sub_due", "subscription_id", "next_attempt_at", "id",
                 postgresql_where=sa.text("status = 'pending'"),
                 sqlite_where=sa.text("status = 'pending'")),
    )


class WebhookAttempt(db.Model):
    """The delivery log: what was sent, what came back, how long it took."""

    __tablename__ = "webhook_attempts"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                   autoincrement=True)
    delivery_id = sa.Column(sa.BigInteger, sa.ForeignKey("webhook_deliveries.id",
                                                         ondelete="CASCADE"),
                            nullable=False, index=True)
    attempt = sa.Column(sa.Integer, nullable=False)
    started_at = sa.Column(UTCDateTime, nullable=False)
    url = sa.Column(sa.String(2000), nullable=False)
    request_headers = sa.Column(JSONType, nullable=False)
    status_code = sa.Column(sa.Integer, nullable=True)
    response_headers = sa.Column(JSONType, nullable=True)
    response_body = sa.Column(sa.Text, nullable=True)  # the first KB
    latency_ms = sa.Column(sa.Integer, nullable=True)
    error = sa.Column(sa.Text, nullable=True)
