"""People who sign in to the web UI: liaison officers and admins, one agency each."""
import sqlalchemy as sa

from hub.extensions import db
from hub.models.types import UTCDateTime, utcnow

ROLES = ("officer", "agency_admin", "national_admin")


class User(db.Model):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(254), nullable=False, unique=True)
    name = sa.Column(sa.String(200), nullable=False)
    # NULL only for national admins, who act for every agency.
    agency_code = sa.Column(sa.String(64), sa.ForeignKey("agencies.code"), nullable=True)
    role = sa.Column(sa.String(20), nullable=False, default="officer")
    password_hash = sa.Column(sa.String(300), nullable=False)  # werkzeug scrypt
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(UTCDateTime, nullable=True)
    last_login_at = sa.Column(UTCDateTime, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
