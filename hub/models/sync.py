"""Connectors, their stream cursors, sync runs, held records, mappings and pushes."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models.types import JSONType, UTCDateTime, Uuid, utcnow

MAPPED_FIELDS = ("category", "status", "unit", "channel")
# Outbound status words: hub status -> local status, kept apart from the inbound table
# because several local words may mean one hub status.
STATUS_OUT = "status_out"


class Connector(db.Model):
    """One agency's link to one local system, configured by data (YAML or the UI)."""

    __tablename__ = "connectors"
    id = sa.Column(sa.String(64), primary_key=True)
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=False,
                            index=True)
    kind = sa.Column(sa.String(20), nullable=False)
    name = sa.Column(sa.String(200), nullable=False)
    system = sa.Column(sa.String(64), nullable=False, unique=True)  # external ref namespace
    config = sa.Column(JSONType, nullable=False, default=dict)
    secrets = sa.Column(sa.Text, nullable=True)  # Fernet-encrypted JSON, never returned
    interval_seconds = sa.Column(sa.Integer, nullable=False, default=60)
    lookback_seconds = sa.Column(sa.Integer, nullable=False, default=300)
    paused = sa.Column(sa.Boolean, nullable=False, default=False)
    paused_reason = sa.Column(sa.String(500), nullable=True)
    failure_streak = sa.Column(sa.Integer, nullable=False, default=0)
    last_error = sa.Column(sa.Text, nullable=True)
    last_success_at = sa.Column(UTCDateTime, nullable=True)
    last_run_at = sa.Column(UTCDateTime, nullable=True)
    next_run_at = sa.Column(UTCDateTime, nullable=True, index=True)
    # The per-connector lock: a lease any worker may take once it has expired, so a
    # worker that dies mid-run blocks its connector for one lease at most.
    lease_owner = sa.Column(sa.String(100), nullable=True)
    lease_until = sa.Column(UTCDateTime, nullable=True)
    outbound_seq = sa.Column(sa.BigInteger, nullable=False, default=0)
    # Reconciliation (hub/sync/reconcile.py): how often the whole source is read and
    # compared, for sources that cannot say what changed; None: never on a schedule.
    reconcile_seconds = sa.Column(sa.Integer, nullable=True)
    next_reconcile_at = sa.Column(UTCDateTime, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class StreamState(db.Model):
    """A stream's cursor, written in the same transaction as the records it covers."""

    __tablename__ = "connector_stream_states"
    connector_id = sa.Column(sa.String(64), sa.ForeignKey("connectors.id", ondelete="CASCADE"),
                             primary_key=True)
    stream = sa.Column(sa.String(20), primary_key=True)
    cursor = sa.Column(JSONType, nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    connector_id = sa.Column(sa.String(64), sa.ForeignKey("connectors.id", ondelete="CASCADE"),
                             nullable=False)
    trigger = sa.Column(sa.String(20), nullable=False, default="schedule")
    # "sync" (read what changed since the cursor) or "reconcile" (read everything, compare)
    kind = sa.Column(sa.String(20), nullable=False, default="sync", server_default="sync")
    worker = sa.Column(sa.String(100), nullable=True)
    status = sa.Column(sa.String(20), nullable=False, default="running")
    started_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = sa.Column(UTCDateTime, nullable=True)
    counts = sa.Column(JSONType, nullable=False, default=dict)
    error = sa.Column(sa.Text, nullable=True)
    cursor_before = sa.Column(JSONType, nullable=True)
    cursor_after = sa.Column(JSONType, nullable=True)
    __table_args__ = (sa.Index("ix_sync_runs_connector_id_started_at", "connector_id",
                               "started_at"),)


class SyncRecordError(db.Model):
    """A record a run could not take, with the reason an officer can act on."""

    __tablename__ = "sync_record_errors"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    run_id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                       sa.ForeignKey("sync_runs.id", ondelete="CASCADE"), nullable=False,
                       index=True)
    connector_id = sa.Column(sa.String(64), nullable=False)
    stream = sa.Column(sa.String(20), nullable=False)
    external_id = sa.Column(sa.String(200), nullable=True)
    reason = sa.Column(sa.Text, nullable=False)
    payload = sa.Column(JSONType, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class HeldRecord(db.Model):
    """A local record waiting for a mapping; replayed once its values are mapped."""

    __tablename__ = "held_records"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    connector_id = sa.Column(sa.String(64), sa.ForeignKey("connectors.id", ondelete="CASCADE"),
                             nullable=False)
    stream = sa.Column(sa.String(20), nullable=False)
    external_id = sa.Column(sa.String(200), nullable=False)
    record = sa.Column(JSONType, nullable=False)
    # "unmapped": waits for an officer's mapping; "waiting": its report has not arrived
    # yet; "error": the hub refused it (retried every run, shown with its reason).
    reason = sa.Column(sa.String(20), nullable=False, default="unmapped")
    missing = sa.Column(JSONType, nullable=False)  # [{"field": ..., "value": ...}]
    detail = sa.Column(sa.Text, nullable=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=1)
    source_updated_at = sa.Column(UTCDateTime, nullable=True)
    first_held_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.UniqueConstraint("connector_id", "stream", "external_id",
                                          name="uq_held_records_connector_stream_external"),)


class Mapping(db.Model):
    """local value -> hub value, per connector and field (category, status, unit,
    channel, status_out)."""

    __tablename__ = "mappings"
    connector_id = sa.Column(sa.String(64), sa.ForeignKey("connectors.id", ondelete="CASCADE"),
                             primary_key=True)
    field = sa.Column(sa.String(20), primary_key=True)
    local_value = sa.Column(sa.String(200), primary_key=True)
    hub_value = sa.Column(sa.String(200), nullable=False)
    updated_by = sa.Column(sa.String(100), nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class OutboundPush(db.Model):
    """One hub event pushed (or to be pushed) to a connector's local system.

    The row is the exactly-once ledger: a push is `done` only after the local system
    accepted it, and a retry first asks the local system whether it already has it.
    """

    __tablename__ = "outbound_pushes"
    connector_id = sa.Column(sa.String(64), sa.ForeignKey("connectors.id", ondelete="CASCADE"),
                             primary_key=True)
    event_seq = sa.Column(sa.BigInteger, primary_key=True)
    report_id = sa.Column(Uuid, nullable=False, index=True)
    action = sa.Column(sa.String(20), nullable=False)
    status = sa.Column(sa.String(20), nullable=False, default="pending")
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    last_error = sa.Column(sa.Text, nullable=True)
    next_attempt_at = sa.Column(UTCDateTime, nullable=True)
    external_id = sa.Column(sa.String(200), nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
