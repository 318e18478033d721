"""Server-side UI sessions: the signed cookie carries a random session id, the row says
whose it is and whether it still holds (not signed out, not past its 8 hours, user
still active). Ending the row ends the session wherever the cookie was copied to."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from hub.extensions import db
from hub.models import UiSession, User
from hub.models import types as model_types


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(user) -> str:
    """A new session for `user`; returns the id to put in the cookie."""
    session_id = secrets.token_urlsafe(32)
    now = model_types.utcnow()
    lifetime = timedelta(hours=current_app.config.get("HUB_UI_SESSION_HOURS", 8))
    db.session.add(UiSession(id_hash=_hash(session_id), user_id=user.id, created_at=now,
                             expires_at=now + lifetime))
    return session_id


def user_of(session_id) -> User | None:
    """The signed-in user of a live session, or None."""
    if not isinstance(session_id, str):
        return None
    row = db.session.get(UiSession, _hash(session_id))
    if row is None or row.ended_at is not None or row.expires_at <= model_types.utcnow():
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.active else None


def end(session_id) -> None:
    if isinstance(session_id, str):
        db.session.execute(sa.update(UiSession)
                           .where(UiSession.id_hash == _hash(session_id),
                                  UiSession.ended_at.is_(None))
                           .values(ended_at=model_types.utcnow()))


def end_all_of(user_id: int, keep=None) -> None:
    """Sign the user out everywhere (deactivation, a new role or password), except the
    session `keep` (the one that changed its own password)."""
    stmt = sa.update(UiSession).where(UiSession.user_id == user_id,
                                      UiSession.ended_at.is_(None))
    if isinstance(keep, str):
        stmt = stmt.where(UiSession.id_hash != _hash(keep))
    db.session.execute(stmt.values(ended_at=model_types.utcnow()))
