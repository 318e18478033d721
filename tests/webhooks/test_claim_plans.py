"""The claim's two plans agree: PostgreSQL reads each subscription's share from its index
(LATERAL ... LIMIT), SQLite ranks every due delivery with a window function. Over random
mixes of due, leased, dead and delivered rows, open and half-open circuits, inactive
subscriptions and earlier undelivered events of the same report, both pick the same ids."""
import random
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import WebhookDelivery, WebhookSubscription, utcnow
from hub.webhooks.dispatch import claimable
from tests.webhooks.conftest import subscribe

WH = "reports:read webhooks:manage"


def _mix(rng, subs, now):
    db.session.execute(sa.delete(WebhookDelivery))
    for sub in subs:
        sub.active = rng.random() > 0.15
        sub.consecutive_failures = rng.choice([0, 0, 0, 2, 5, 7])
        sub.circuit_open_until = rng.choice([None, None, now - timedelta(seconds=5),
                                             now + timedelta(seconds=30)])
    reports = [uuid.uuid4() for _ in range(6)]
    seq = 0
    for sub in subs:
        for _ in range(rng.randint(0, 14)):
            seq += 1
            status = rng.choice(["pending"] * 6 + ["dead", "succeeded"])
            leased = status == "pending" and rng.random() < 0.25
            due = now + timedelta(seconds=rng.choice([-30, -5, -1, 20] if not leased else [10]))
            db.session.add(WebhookDelivery(
                subscription_id=sub.id, message_id=f"msg_{uuid.uuid4().hex}",
                type="report.created", event_seq=seq, report_id=rng.choice(reports),
                body="{}", status=status, attempts=0, next_attempt_at=due,
                lease_owner="relay-x" if leased else None, event_at=now, created_at=now,
                retry_until=now + timedelta(hours=1)))
    db.session.flush()


@pytest.mark.postgresql_only  # the per-subscription plan needs LATERAL
def test_the_two_claim_plans_pick_the_same_deliveries(app, make_caller, fast, receiver):
    caller = make_caller("kab-sleman", WH)
    for _ in range(5):
        subscribe(caller, receiver)
    rng = random.Random(20261203)
    with app.app_context():
        subs = db.session.execute(sa.select(WebhookSubscription)).scalars().all()
        assert len(subs) == 5
        picked_any = 0
        for _ in range(40):
            now = utcnow()
            _mix(rng, subs, now)
            exclude = [subs[0].id] if rng.random() < 0.3 else []
            per_sub, probe = rng.choice([1, 2, 4]), rng.choice([3, 5])
            ids = {}
            for per_row in (True, False):
                ids[per_row] = set(db.session.execute(sa.select(WebhookDelivery.id).where(
                    WebhookDelivery.id.in_(claimable(now, per_sub, probe, exclude,
                                                     per_row=per_row)))).scalars())
            assert ids[True] == ids[False]
            picked_any += bool(ids[True])
            db.session.rollback()
        assert picked_any >= 10  # the mixes did leave deliveries to claim
