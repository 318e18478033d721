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


class UiSession(db.Model):
    """A signed-in UI session: the cookie names it, so the hub can end it (sign-out,
    deactivation) and a copied cookie dies with it. Only a hash of the id is stored."""

    __tablename__ = "ui_sessions"
    id_hash = sa.Column(sa.String(64), primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                        nullable=False, index=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = sa.Column(UTCDateTime, nullable=False)
    ended_at = sa.Column(UTCDateTime, nullable=True)


class LoginThrottle(db.Model):
    """Failed sign-ins of one email from one client address.

    Keyed by address too, so a stranger's wrong passwords lock out the stranger, not the
    officer signing in from elsewhere. `attempts` is claimed atomically before each
    password check (hub.ui.login_throttle), so parallel tries cannot overshoot it.
    """

    __tablename__ = "login_throttles"
    email = sa.Column(sa.String(254), primary_key=True)
    address = sa.Column(sa.String(64), primary_key=True)
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(UTCDateTime, nullable=True)
