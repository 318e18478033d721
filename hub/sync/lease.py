"""The per-connector lock and a stream's cursor: the state a sync run keeps between pages.

The lease is taken with a conditional UPDATE, renewed after every page, released at the
end: two workers cannot both hold it, and a worker killed mid-run blocks its connector
only until the lease expires. The cursor is saved in the transaction of the page's records,
never earlier, so a rerun after any crash starts exactly where the last commit left off.
"""
import os
import socket
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from hub.extensions import db
from hub.models import Connector, StreamState, utcnow


class LeaseLost(Exception):
    """Another worker holds this connector now; stop without writing more."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config.get("HUB_SYNC_LEASE_SECONDS", 120))


def acquire_lease(connector_id: str, owner: str) -> bool:
    now = utcnow()
    lease = _lease()
    taken = db.session.execute(
        sa.update(Connector).where(
            Connector.id == connector_id,
            sa.or_(Connector.lease_until.is_(None), Connector.lease_until < now,
                   Connector.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + lease)).rowcount
    db.session.commit()
    return taken == 1


def renew_lease(connector_id: str, owner: str, session=None) -> None:
    lease = _lease()
    kept = (session or db.session).execute(
        sa.update(Connector).where(Connector.id == connector_id,
                                   Connector.lease_owner == owner)
        .values(lease_until=utcnow() + lease)).rowcount
    if kept != 1:
        raise LeaseLost(connector_id)


def release_lease(connector_id: str, owner: str) -> None:
    db.session.execute(sa.update(Connector).where(
        Connector.id == connector_id, Connector.lease_owner == owner)
        .values(lease_owner=None, lease_until=None))
    db.session.commit()


def save_cursor(session, connector_id: str, stream: str, cursor) -> None:
    """The stream's state after a page, in the transaction of the page's records."""
    state = session.get(StreamState, (connector_id, stream))
    if state is None:
        state = StreamState(connector_id=connector_id, stream=stream)
        session.add(state)
    state.cursor, state.updated_at = cursor, utcnow()
