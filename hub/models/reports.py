"""Reports, their responses, attachments, external refs and the event timeline."""
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import deferred, relationship

from hub.extensions import db
from hub.models.types import JSONType, UTCDateTime, Uuid, utcnow

STATUSES = ("received", "verified", "dispositioned", "in_progress", "resolved", "closed",
            "rejected")
CLASSIFICATIONS = ("complaint", "aspiration", "information_request")
CHANNELS = ("web", "sms", "android", "ios", "twitter", "facebook", "instagram", "whatsapp",
            "email", "phone", "walk_in", "letter", "local_app", "open311")
VISIBILITIES = ("public", "internal")

# Tracking numbers come from a PostgreSQL sequence (no lock between concurrent writers);
# SQLite ignores sequences and the hub falls back to a counter row there.
tracking_number_seq = sa.Sequence("tracking_number_seq", start=1_000_000, metadata=db.metadata)


class Report(db.Model):
    __tablename__ = "reports"
    id = sa.Column(Uuid, primary_key=True, default=uuid.uuid4)
    tracking_id = sa.Column(sa.String(20), nullable=False, unique=True)
    title = sa.Column(sa.String(200), nullable=False)
    body = sa.Column(sa.Text, nullable=False)
    category_code = sa.Column(sa.String(100), sa.ForeignKey("categories.code"), nullable=True)
    classification = sa.Column(sa.String(30), nullable=False, default="complaint")
    channel = sa.Column(sa.String(20), nullable=False)
    location_text = sa.Column(sa.String(500), nullable=True)
    region_code = sa.Column(sa.String(20), nullable=True)
    lat = sa.Column(sa.Float, nullable=True)
    lon = sa.Column(sa.Float, nullable=True)
    occurred_at = sa.Column(UTCDateTime, nullable=True)
    submitted_at = sa.Column(UTCDateTime, nullable=False)
    anonymous = sa.Column(sa.Boolean, nullable=False, default=False)
    confidential = sa.Column(sa.Boolean, nullable=False, default=False)
    reporter_name = sa.Column(sa.String(200), nullable=True)
    reporter_phone = sa.Column(sa.String(50), nullable=True)
    reporter_email = sa.Column(sa.String(254), nullable=True)
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=True,
                            index=True)
    status = sa.Column(sa.String(20), nullable=False, default="received")
    due_at = sa.Column(UTCDateTime, nullable=True)
    # Milestones behind the SLA clocks and the stats.
    dispositioned_at = sa.Column(UTCDateTime, nullable=True)
    first_response_at = sa.Column(UTCDateTime, nullable=True)
    resolved_at = sa.Column(UTCDateTime, nullable=True)
    version = sa.Column(sa.Integer, nullable=False, default=1)
    source_system = sa.Column(sa.String(64), nullable=True)  # where it was first logged
    created_by = sa.Column(sa.String(64), nullable=True)  # client id
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    external_refs = relationship("ReportExternalRef", lazy="selectin",
                                 order_by="ReportExternalRef.id", back_populates="report")
    attachments = relationship("Attachment", lazy="selectin", order_by="Attachment.created_at",
                               primaryjoin="and_(Attachment.report_id == Report.id, "
                                           "Attachment.response_id == None)", viewonly=True)

    __table_args__ = (
        sa.Index("ix_reports_updated_at_id", "updated_at", "id"),
        # A status filter reads its page in list order (its prefix serves status lookups).
        sa.Index("ix_reports_status_updated_at_id", "status", "updated_at", "id"),
        sa.Index("ix_reports_category_code", "category_code"),
        sa.Index("ix_reports_channel", "channel"),
    )

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'


class ReportAgency(db.Model):
    """Every agency that is or was responsible for a report: the tenant boundary."""

    __tablename__ = "report_agencies"
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          primary_key=True)
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), primary_key=True,
                            index=True)
    since = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class ReportExternalRef(db.Model):
    """The same report in another system; (system, external_id) is unique.

    source_updated_at is the other system's own last-modified time for the record, so
    that an older copy arriving late never overwrites a newer one.
    """

    __tablename__ = "report_external_refs"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    system = sa.Column(sa.String(64), nullable=False)
    external_id = sa.Column(sa.String(200), nullable=False)
    source_updated_at = sa.Column(UTCDateTime, nullable=True)
    payload_hash = sa.Column(sa.String(64), nullable=True)
    report = relationship("Report", back_populates="external_refs")
    __table_args__ = (sa.UniqueConstraint("system", "external_id",
                                          name="uq_report_external_refs_system_external_id"),
                      # An officer finds a report by its local ticket, whatever the system.
                      sa.Index("ix_report_external_refs_external_id", "external_id",
                               "system"))


class Response(db.Model):
    """A follow-up (tindak lanjut) posted by an agency."""

    __tablename__ = "responses"
    id = sa.Column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=False)
    author_name = sa.Column(sa.String(200), nullable=True)
    body = sa.Column(sa.Text, nullable=False)
    visibility = sa.Column(sa.String(10), nullable=False, default="public")
    source = sa.Column(sa.String(64), nullable=False, default="hub")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = sa.Column(sa.String(64), nullable=True)

    external_refs = relationship("ResponseExternalRef", lazy="selectin",
                                 order_by="ResponseExternalRef.id")
    attachments = relationship("Attachment", lazy="selectin", order_by="Attachment.created_at",
                               viewonly=True)


class ResponseExternalRef(db.Model):
    __tablename__ = "response_external_refs"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    response_id = sa.Column(Uuid, sa.ForeignKey("responses.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    system = sa.Column(sa.String(64), nullable=False)
    external_id = sa.Column(sa.String(200), nullable=False)
    __table_args__ = (sa.UniqueConstraint("system", "external_id",
                                          name="uq_response_external_refs_system_external_id"),)


class Attachment(db.Model):
    __tablename__ = "attachments"
    id = sa.Column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False, index=True)
    response_id = sa.Column(Uuid, sa.ForeignKey("responses.id", ondelete="CASCADE"),
                            nullable=True)
    filename = sa.Column(sa.String(255), nullable=False)
    content_type = sa.Column(sa.String(100), nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    sha256 = sa.Column(sa.String(64), nullable=False)
    storage_key = sa.Column(sa.String(200), nullable=False)  # path under the attachment dir
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = sa.Column(sa.String(64), nullable=True)


class ReportEvent(db.Model):
    """The append-only timeline of a report, and the hub's change feed.

    `seq` is global and assigned at commit time (see hub.services.events), so ordering by
    seq gives every change exactly once in commit order; the same rows are the
    transactional outbox that webhooks and outbound connectors relay from.
    """

    __tablename__ = "report_events"
    seq = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False)
    type = sa.Column(sa.String(40), nullable=False)
    occurred_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    actor = sa.Column(sa.String(64), nullable=True)  # client id, user, or "system"
    actor_agency = sa.Column(sa.String(64), nullable=True)
    source_system = sa.Column(sa.String(64), nullable=True)
    report_version = sa.Column(sa.Integer, nullable=False)
    data = sa.Column(JSONType, nullable=True)
    # The agency responsible when the event happened, and the report's own fields then
    # (hub.services.snapshots): webhook filters and payloads are about the event as it
    # happened, not the report as it is when the relay gets to it. Null on an event that
    # changed nothing (report.overdue): the report's previous event holds its state.
    agency_code = sa.Column(sa.String(64), nullable=True)
    report_state = deferred(sa.Column(JSONType, nullable=True))  # only the feed reads it
    __table_args__ = (sa.Index("ix_report_events_report_id_seq", "report_id", "seq"),)
