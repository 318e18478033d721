"""Counts of reports kept beside them, so the stats and /metrics read a few rows instead of
counting the reports table (hub.services.rollup keeps them in step)."""
import sqlalchemy as sa

from hub.extensions import db


class ReportDailyCount(db.Model):
    """Reports per responsible agency ('' for none), local (Asia/Jakarta) submission day
    and channel: how many, and how many have reached each milestone."""

    __tablename__ = "report_daily_counts"
    agency_code = sa.Column(sa.String(64), primary_key=True)
    day = sa.Column(sa.Date, primary_key=True)
    channel = sa.Column(sa.String(20), primary_key=True)
    received = sa.Column(sa.Integer, nullable=False, default=0)
    dispositioned = sa.Column(sa.Integer, nullable=False, default=0)
    responded = sa.Column(sa.Integer, nullable=False, default=0)
    resolved = sa.Column(sa.Integer, nullable=False, default=0)

    __table_args__ = (sa.Index("ix_report_daily_counts_day", "day"),)


class ReportStatusCount(db.Model):
    """Reports per responsible agency ('' for none) and status."""

    __tablename__ = "report_status_counts"
    agency_code = sa.Column(sa.String(64), primary_key=True)
    status = sa.Column(sa.String(20), primary_key=True)
    n = sa.Column(sa.Integer, nullable=False, default=0)
