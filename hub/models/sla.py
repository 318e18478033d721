"""SLA clocks: per-agency working-day limits, and the deadlines already flagged as missed."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models.reports import Report
from hub.models.types import JSONType, UTCDateTime, Uuid, utcnow

# The limits an agency may set, in working days. NULL in a row means "inherit": from the
# parent agency (an OPD from its regency), and in the end from the national defaults.
SLA_FIELDS = ("verify_and_disposition", "first_response", "resolve",
              "resolve_information_request", "resolve_light", "resolve_normative",
              "resolve_supervision", "auto_close")
# Resolution tiers of the LAPOR! rules -> the limit that applies to them.
TIERS = {
    "light": "resolve_light",              # ringan
    "normative": "resolve_normative",      # normatif
    "standard": "resolve",                 # tidak berkadar pengawasan
    "supervision": "resolve_supervision",  # berkadar pengawasan
}
# The clocks a report can have running; the scan records a missed one once.
CLOCKS = ("verify_and_disposition", "first_response", "resolve", "auto_close")


class AgencySlaSettings(db.Model):
    """One agency's overrides of the SLA limits; absent or NULL fields are inherited."""

    __tablename__ = "agency_sla_settings"
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), primary_key=True)
    verify_and_disposition = sa.Column(sa.Integer, nullable=True)
    first_response = sa.Column(sa.Integer, nullable=True)
    resolve = sa.Column(sa.Integer, nullable=True)
    resolve_information_request = sa.Column(sa.Integer, nullable=True)
    resolve_light = sa.Column(sa.Integer, nullable=True)
    resolve_normative = sa.Column(sa.Integer, nullable=True)
    resolve_supervision = sa.Column(sa.Integer, nullable=True)
    auto_close = sa.Column(sa.Integer, nullable=True)
    # {category code: tier}; a rule covers the category's subcategories too, and a
    # child agency's rule for a category replaces its parent's.
    tier_rules = sa.Column(JSONType, nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_by = sa.Column(sa.String(64), nullable=True)


class SlaBreach(db.Model):
    """A missed deadline, flagged once: the unique key is what makes `report.overdue`
    fire exactly once per (report, clock, deadline) however many scanners run."""

    __tablename__ = "sla_breaches"
    id = sa.Column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          nullable=False)
    clock = sa.Column(sa.String(40), nullable=False)
    due_at = sa.Column(UTCDateTime, nullable=False)
    agency_code = sa.Column(sa.String(64), nullable=True)
    detected_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    __table_args__ = (sa.UniqueConstraint("report_id", "clock", "due_at",
                                          name="uq_sla_breaches_report_clock_due"),)


class ReportSlaTier(db.Model):
    """A tier set on one report by the agency handling it (a supervision case is known
    only once someone has read it); it wins over the category's tier rule."""

    __tablename__ = "report_sla_tiers"
    report_id = sa.Column(Uuid, sa.ForeignKey("reports.id", ondelete="CASCADE"),
                          primary_key=True)
    tier = sa.Column(sa.String(20), nullable=False)
    set_by = sa.Column(sa.String(64), nullable=True)
    set_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


# The scans look for reports past their deadline; declared here (not in reports.py)
# because only the SLA scans need it.
sa.Index("ix_reports_due_at", Report.due_at)
