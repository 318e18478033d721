"""The outbox for events that are not report events (report events already are one:
`report_events`), and the after-commit nudge that wakes the relay.

emit() adds a row to the caller's transaction: if the transaction rolls back the event
never existed; if the process dies after COMMIT the row is there for the relay. The
nudge is only a hint ("look now"); the scheduler relays periodically anyway.
"""
import logging

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from hub.models import WebhookOutboxEvent, utcnow
from hub.services import events

log = logging.getLogger(__name__)

_NUDGE = "webhooks_nudge"


def emit(session, type_: str, agency_code, data: dict) -> None:
    session.add(WebhookOutboxEvent(type=type_, agency_code=agency_code, data=data,
                                   occurred_at=utcnow()))
    session.info[_NUDGE] = True


def wake(session) -> None:
    """Have the relay look as soon as this transaction commits (new or re-queued
    deliveries); without a commit nothing is sent."""
    session.info[_NUDGE] = True


def _note_report_events(session):
    # Runs before hub.services.events writes (and forgets) the pending report events.
    if events.pending(session):
        session.info[_NUDGE] = True


# What wakes the relay after a commit: set by the task layer (hub.tasks.webhooks), which
# knows about queues; this layer only says when. Unset, the scheduler's ticks relay.
_nudger = None


def set_nudger(nudge) -> None:
    global _nudger
    _nudger = nudge


def _nudge_after_commit(session):
    if session.info.pop(_NUDGE, False) and _nudger is not None:
        try:
            _nudger()
        except Exception:  # a hint only: the scheduler relays anyway
            log.warning("could not nudge the webhook relay", exc_info=True)


def _forget(session, transaction):
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_NUDGE, None)


sa_event.listen(Session, "before_commit", _note_report_events, insert=True)
sa_event.listen(Session, "after_commit", _nudge_after_commit)
sa_event.listen(Session, "after_transaction_end", _forget)
