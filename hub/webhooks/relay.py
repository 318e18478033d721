"""Fan events out to subscriptions as delivery rows.

Report events come from `report_events` behind one global cursor: their seq is assigned
in commit order, so a cursor never skips an event that was still committing. Outbox
events (sync.failed) are taken while unrelayed. Delivery rows are inserted with ON
CONFLICT DO NOTHING on (subscription, event), so a relay that dies after inserting but
before moving the cursor repeats harmlessly.
"""
import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa

from hub.models import (
    EVENT_TYPES,
    ApiClient,
    ReportAgency,
    ReportEvent,
    WebhookDelivery,
    WebhookOutboxEvent,
    WebhookRelayCursor,
    WebhookSubscription,
    utcnow,
)
from hub.services import access, changes, storage
from hub.webhooks import payloads, settings

log = logging.getLogger(__name__)

CURSOR = "report_events"
REPORT_TYPES = tuple(t for t in EVENT_TYPES if t != "sync.failed")




def active_subscriptions(session) -> list:
    """(subscription, owner principal) for every active subscription of an active client."""
    rows = session.execute(
        sa.select(WebhookSubscription, ApiClient)
        .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
        .where(WebhookSubscription.active.is_(True), ApiClient.active.is_(True))
        .order_by(WebhookSubscription.created_at)).all()
    return [(sub, payloads.principal_of(client)) for sub, client in rows]


def new_delivery(sub, type_, body, event_at, now, *, event_seq=None, outbox_id=None,
                 report_id=None) -> dict:
    return {"subscription_id": sub.id, "message_id": f"msg_{uuid.uuid4().hex}",
            "type": type_, "event_seq": event_seq, "outbox_id": outbox_id,
            "report_id": report_id, "body": body, "status": "pending", "attempts": 0,
            "last_error": None,
            "next_attempt_at": now, "event_at": event_at, "created_at": now,
            "retry_until": now + timedelta(hours=settings.get("HUB_WEBHOOK_RETRY_HOURS"))}


def _lock_cursor(session):
    # One fan-out at a time; another relay skips it and goes on delivering.
    stmt = storage.claim(session, sa.select(WebhookRelayCursor).where(
        WebhookRelayCursor.name == CURSOR))
    cursor = session.execute(stmt).scalar_one_or_none()
    if cursor is not None:
        return cursor
    # The first relay starts where the oldest subscription started, not at seq 0.
    start = session.execute(sa.select(sa.func.min(WebhookSubscription.start_seq))).scalar()
    if start is None:
        start = current_seq(session)
    session.execute(storage.insert(session, WebhookRelayCursor)
                    .values(name=CURSOR, last_seq=start, updated_at=utcnow())
                    .on_conflict_do_nothing())
    session.commit()
    return session.execute(stmt).scalar_one_or_none()


def current_seq(session) -> int:
    return session.execute(sa.select(sa.func.coalesce(sa.func.max(ReportEvent.seq), 0))
                           ).scalar_one()


class Coverage:
    """Which agency codes a subscription's agency filter covers: each listed agency and
    every unit below it (a filter on a regency covers its OPDs). Asked once per agency
    per relay pass."""

    def __init__(self, session):
        self.session, self.memo = session, {}

    def __call__(self, sub) -> frozenset:
        key = tuple(sub.agencies or ())
        if key not in self.memo:
            codes = set()
            for code in key:
                codes.update(self.session.execute(
                    access.subtree_of(sa.literal(code))).scalars())
            self.memo[key] = frozenset(codes)
        return self.memo[key]


def _responsible_by(session, events) -> dict:
    """report id -> [(agency, first seq it was responsible at)] from the agencies
    recorded on the report's events: who could read it at a given event."""
    found: dict = {}
    rows = session.execute(
        sa.select(ReportEvent.report_id, ReportEvent.agency_code, sa.func.min(ReportEvent.seq))
        .where(ReportEvent.report_id.in_({e.report_id for e in events}),
               ReportEvent.agency_code.is_not(None))
        .group_by(ReportEvent.report_id, ReportEvent.agency_code))
    for report_id, code, first in rows:
        found.setdefault(report_id, []).append((code, first))
    return found


def _failed_delivery(sub, event, now, reason: str, **keys) -> dict:
    """A poison event: its payload could not be built. The subscriber's log shows it
    with the reason; the relay goes on with the next event."""
    body = payloads.encode(event.type, event.occurred_at,
                           {"seq": keys.get("event_seq"), "outbox_id": keys.get("outbox_id"),
                            "report_id": str(keys["report_id"]) if keys.get("report_id")
                            else None})
    row = new_delivery(sub, event.type, body, event.occurred_at, now, **keys)
    row.update(status="failed", next_attempt_at=None,
               last_error=f"the payload could not be built: {reason}"[:1000])
    return row


def _report_deliveries(session, events, subs, now, from_start=True) -> list[dict]:
    """Delivery rows for report events, each built with its owner's rights. Who gets an
    event is decided on the event as it happened (the agency responsible then, and the
    agencies responsible up to then), so it does not depend on when the relay runs."""
    wanted = [e for e in events if e.type in REPORT_TYPES]
    if not wanted or not subs:
        return []
    feed = changes.Feed(session, wanted)
    legacy: dict = {}  # events recorded before agencies were: the report's agencies now
    for rid, code in session.execute(sa.select(ReportAgency.report_id, ReportAgency.agency_code)
                                     .where(ReportAgency.report_id.in_(feed.reports))):
        legacy.setdefault(rid, set()).add(code)
    responsible = _responsible_by(session, wanted)
    coverage = Coverage(session)
    rows, bodies = [], {}
    for event in wanted:
        report = feed.report(event)
        if report is None:
            continue
        agency = feed.agency(event)
        readers = {code for code, first in responsible.get(event.report_id, ())
                   if first <= event.seq} or legacy.get(event.report_id, set())
        keys = {"event_seq": event.seq, "report_id": report.id}
        for sub, principal in subs:
            if (from_start and event.seq <= sub.start_seq) or \
                    not payloads.matches(sub, event.type, agency, coverage) or \
                    not payloads.may_read(principal, readers):
                continue
            # Owners differ only in how much of the reporter they may see, which
            # depends on their agency and scopes alone.
            key = (event.seq, principal.agency, principal.scopes)
            try:
                body = bodies.get(key)
                if body is None:
                    body = bodies[key] = payloads.report_event_body(feed, event, principal)
            except Exception as exc:
                log.exception("webhook payload of event %s failed", event.seq)
                rows.append(_failed_delivery(sub, event, now,
                                             f"{exc.__class__.__name__}: {exc}", **keys))
                continue
            rows.append(new_delivery(sub, event.type, body, event.occurred_at, now, **keys))
    return rows


def _outbox_deliveries(session, events, subs, now, from_start=True) -> list[dict]:
    from hub.services.access import in_scope
    coverage = Coverage(session)
    rows = []
    for event in events:
        for sub, principal in subs:
            if (from_start and sub.created_at > event.occurred_at) or \
                    not payloads.matches(sub, event.type, event.agency_code, coverage) or \
                    not in_scope(principal, event.agency_code):
                continue
            try:
                body = payloads.outbox_body(event)
            except Exception as exc:
                log.exception("webhook payload of outbox event %s failed", event.id)
                rows.append(_failed_delivery(sub, event, now,
                                             f"{exc.__class__.__name__}: {exc}",
                                             outbox_id=event.id))
                continue
            rows.append(new_delivery(sub, event.type, body, event.occurred_at, now,
                                     outbox_id=event.id))
    return rows


def _save(session, rows) -> int:
    if not rows:
        return 0
    saved = 0
    for start in range(0, len(rows), 1000):  # well under PostgreSQL's 65535 parameters
        # RETURNING to count: the driver's rowcount of a multi-row insert may be -1.
        saved += len(session.execute(storage.insert(session, WebhookDelivery)
                                     .values(rows[start:start + 1000])
                                     .on_conflict_do_nothing()
                                     .returning(WebhookDelivery.id)).all())
    return saved


def _anything_new(session) -> bool:
    """Whether an event is past the cursor or an outbox event unrelayed: one indexed read,
    so a relay busy delivering does not lock the cursor on every turn for nothing. No
    cursor yet counts as new (the locked path creates it)."""
    last = sa.select(WebhookRelayCursor.last_seq).where(
        WebhookRelayCursor.name == CURSOR).scalar_subquery()
    newer = sa.exists().where(ReportEvent.seq > sa.func.coalesce(last, -1))
    unrelayed = sa.exists().where(WebhookOutboxEvent.relayed_at.is_(None))
    found = session.execute(sa.select(sa.or_(newer, unrelayed))).scalar()
    session.commit()
    return bool(found)


def fan_out(session, limit: int = 500) -> int:
    """Turn the next events into delivery rows and commit; returns events consumed."""
    if not _anything_new(session):
        return 0
    consumed = 0
    cursor = _lock_cursor(session)
    subs = None
    if cursor is not None:
        events = session.execute(sa.select(ReportEvent).where(ReportEvent.seq > cursor.last_seq)
                                 .order_by(ReportEvent.seq).limit(limit)).scalars().all()
        if events:
            subs = active_subscriptions(session)
            _save(session, _report_deliveries(session, events, subs, utcnow()))
            cursor.last_seq, cursor.updated_at = events[-1].seq, utcnow()
            consumed += len(events)
    session.commit()
    stmt = (sa.select(WebhookOutboxEvent).where(WebhookOutboxEvent.relayed_at.is_(None))
            .order_by(WebhookOutboxEvent.id).limit(limit))
    outbox = session.execute(storage.claim(session, stmt)).scalars().all()
    if outbox:
        subs = subs if subs is not None else active_subscriptions(session)
        _save(session, _outbox_deliveries(session, outbox, subs, utcnow()))
        now = utcnow()
        for event in outbox:
            event.relayed_at = now
        consumed += len(outbox)
    session.commit()
    return consumed


def replay(session, sub, principal, since, until, limit: int = 10_000,
           undelivered_only: bool = False) -> int:
    """Deliver again every event of [since, until) this subscription may receive: events
    already delivered go out again under their old webhook-id (receivers dedupe), the
    others get new deliveries. With undelivered_only, only dead deliveries and events
    that have none (the gap while it was disabled) are queued. Returns how many were
    queued. Per-report order holds: a report's later deliveries wait for its earlier."""
    now = utcnow()
    events = session.execute(
        sa.select(ReportEvent).where(ReportEvent.occurred_at >= since,
                                     ReportEvent.occurred_at < until)
        .order_by(ReportEvent.seq).limit(limit)).scalars().all()
    # The range may reach back before the subscription existed.
    rows = _report_deliveries(session, events, [(sub, principal)], now, from_start=False)
    outbox = session.execute(
        sa.select(WebhookOutboxEvent).where(WebhookOutboxEvent.occurred_at >= since,
                                            WebhookOutboxEvent.occurred_at < until)
        .order_by(WebhookOutboxEvent.id).limit(limit)).scalars().all()
    rows += _outbox_deliveries(session, outbox, [(sub, principal)], now, from_start=False)
    if not rows:
        return 0
    seqs = [r["event_seq"] for r in rows if r["event_seq"] is not None]
    outbox_ids = [r["outbox_id"] for r in rows if r["outbox_id"] is not None]
    again = {"status": "pending", "next_attempt_at": now, "retry_until": rows[0]["retry_until"],
             "lease_owner": None}
    requeued = ("dead",) if undelivered_only else ("dead", "succeeded", "pending")
    result = session.execute(sa.update(WebhookDelivery).where(
        WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status.in_(requeued),
        sa.or_(WebhookDelivery.event_seq.in_(seqs), WebhookDelivery.outbox_id.in_(outbox_ids)))
        .values(**again))
    saved = _save(session, rows)
    return (result.rowcount or 0) + saved if undelivered_only else len(rows)


def gap(session, sub) -> tuple | None:
    """(since, until) of what a disabled subscription missed: from its first dead
    delivery or, a little before, from when it was disabled (an event may commit just
    after), never before it existed; None when there is nothing to make up."""
    first_dead = session.execute(sa.select(sa.func.min(WebhookDelivery.event_at)).where(
        WebhookDelivery.subscription_id == sub.id,
        WebhookDelivery.status == "dead")).scalar()
    starts = [t for t in (first_dead, sub.disabled_at) if t is not None]
    if not starts:
        return None
    since = max(sub.created_at, min(starts) - timedelta(minutes=10))
    return since, utcnow() + timedelta(seconds=1)
