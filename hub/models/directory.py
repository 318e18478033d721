"""Master data: agencies, the hub category tree, holidays."""
import sqlalchemy as sa

from hub.extensions import db

AGENCY_LEVELS = ("ministry", "institution", "province", "regency", "city", "unit")


class Agency(db.Model):
    __tablename__ = "agencies"
    code = sa.Column(sa.String(64), primary_key=True)
    name = sa.Column(sa.String(300), nullable=False)
    level = sa.Column(sa.String(20), nullable=False)
    parent_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=True,
                            index=True)  # the tenant subtree walks down by parent
    region_code = sa.Column(sa.String(20), nullable=True)


class Category(db.Model):
    __tablename__ = "categories"
    code = sa.Column(sa.String(100), primary_key=True)
    name = sa.Column(sa.String(200), nullable=False)
    name_en = sa.Column(sa.String(200), nullable=True)
    parent_code = sa.Column(sa.String(100), sa.ForeignKey("categories.code"), nullable=True)


class Holiday(db.Model):
    """A non-working day. agency_code NULL means national (applies to every agency)."""

    __tablename__ = "holidays"
    id = sa.Column(sa.Integer, primary_key=True)
    date = sa.Column(sa.Date, nullable=False)
    name = sa.Column(sa.String(200), nullable=False)
    kind = sa.Column(sa.String(20), nullable=False, default="national")
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=True)
    __table_args__ = (sa.UniqueConstraint("date", "agency_code", name="uq_holidays_date_agency"),)
