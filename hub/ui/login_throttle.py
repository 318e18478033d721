"""Sign-in lockout per (email, client address).

Each try first claims an attempt with one atomic upsert (attempts = attempts + 1 ...
RETURNING), committed before the password is checked: parallel tries each get their own
number, so no more than MAX_FAILED_LOGINS passwords are ever checked per lockout. The
claim that reaches the limit sets the lock at once (a crash after it cannot leave the
counter stuck). A success clears the address's count. Keyed by address, a stranger's
wrong passwords lock the stranger out, not the officer signing in from elsewhere.
"""
from datetime import datetime

import sqlalchemy as sa

from hub.extensions import db
from hub.models import LoginThrottle
from hub.models import types as model_types
from hub.services import storage


def claim(email: str, address: str, limit: int, lockout) -> tuple[int, datetime | None]:
    """Claim one try; returns (its number, locked_until). Over `limit`: do not check."""
    now = model_types.utcnow()
    t = LoginThrottle.__table__
    expired = sa.and_(t.c.locked_until.is_not(None), t.c.locked_until <= now)
    until = sa.literal(now + lockout, type_=t.c.locked_until.type)
    stmt = storage.insert(db.session, t).values(email=email[:254], address=address[:64], attempts=1,
                            locked_until=now + lockout if limit <= 1 else None)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.email, t.c.address],
        set_={
            "attempts": sa.case((expired, 1), else_=t.c.attempts + 1),
            "locked_until": sa.case(
                (expired, sa.null()),
                (t.c.attempts + 1 >= limit, sa.func.coalesce(t.c.locked_until, until)),
                else_=t.c.locked_until),
        }).returning(t.c.attempts, t.c.locked_until)
    attempts, locked_until = db.session.execute(stmt).one()
    db.session.commit()
    return attempts, locked_until


def clear(email: str, address: str) -> None:
    db.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.email == email[:254], LoginThrottle.address == address[:64]))


def clear_all(email: str) -> None:
    """Forget every address's failed tries for the account (its password was reset)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.email == email[:254]))
