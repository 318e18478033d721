"""One relay job's sending: claims within each subscription's and host's share, sends in
a thread pool, records each outcome when it arrives and renews the leases of the claims
still in flight (see hub.webhooks.delivery for the rules)."""
import time
import uuid
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, wait
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from hub.models import WebhookDelivery, WebhookSubscription, utcnow
from hub.models.types import UTCDateTime
from hub.services import storage
from hub.webhooks import delivery, settings, signing

UNDELIVERED = ("pending", "dead")
# After the first answer, how long to wait for the answers close behind it: recording and
# claiming once for several keeps a saturated destination from costing a round of
# queries per delivery.
GATHER_SECONDS = 0.01
# A claim that found nothing is not repeated sooner than this unless something changed
# (an outcome recorded, new deliveries fanned out).
RECLAIM_SECONDS = 0.05


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def _filters(now):
    """What makes a due delivery claimable, whatever the plan: pending and due, its
    subscription active with its circuit not open, no undelivered earlier delivery of the
    same report (per-report order)."""
    earlier = aliased(WebhookDelivery)
    return (WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            ~sa.exists().where(earlier.subscription_id == WebhookDelivery.subscription_id,
                               earlier.report_id == WebhookDelivery.report_id,
                               earlier.status.in_(UNDELIVERED),
                               earlier.event_seq < WebhookDelivery.event_seq))


def _open(now):
    return (WebhookSubscription.active.is_(True),
            sa.or_(WebhookSubscription.circuit_open_until.is_(None),
                   WebhookSubscription.circuit_open_until <= now))


def _share(per_subscription, probe_after, leased_n):
    return sa.case((WebhookSubscription.consecutive_failures >= probe_after, 1),
                   else_=per_subscription) - sa.func.coalesce(leased_n, 0)


def claimable(now, per_subscription: int, probe_after: int, exclude=None, per_row=False):
    """The ids of due deliveries within each subscription's share: not more in flight
    (leased by any worker) than per_subscription, one at a time while its circuit is
    half-open (probe_after failures in a row), none while it is open, none behind an
    undelivered earlier delivery of the same report.

    Two plans for one rule. PostgreSQL: per subscription, the first deliveries of its
    share straight from the (subscription, due time) index (LATERAL ... LIMIT), so a
    claim costs the subscriptions' shares, not every pending delivery. SQLite (no
    LATERAL), or per_row: rank every due delivery with a window function."""
    if not per_row:
        return _claimable_per_subscription(now, per_subscription, probe_after, exclude)
    leased = (sa.select(WebhookDelivery.subscription_id.label("sid"),
                        sa.func.count().label("n"))
              .where(WebhookDelivery.status == "pending",
                     WebhookDelivery.lease_owner.is_not(None),
                     WebhookDelivery.next_attempt_at > now)
              .group_by(WebhookDelivery.subscription_id).subquery("leased"))
    ranked = (sa.select(WebhookDelivery.id.label("id"),
                        _share(per_subscription, probe_after, leased.c.n).label("share"),
                        sa.func.row_number().over(
                            partition_by=WebhookDelivery.subscription_id,
                            order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id))
                        .label("rank"))
              .join(WebhookSubscription,
                    WebhookSubscription.id == WebhookDelivery.subscription_id)
              .outerjoin(leased, leased.c.sid == WebhookDelivery.subscription_id)
              .where(*_filters(now), *_open(now)))
    if exclude is not None:  # ids, or an expanding bind parameter
        ranked = ranked.where(WebhookDelivery.subscription_id.not_in(exclude))
    ranked = ranked.subquery("ranked")
    return sa.select(ranked.c.id).where(ranked.c.rank <= ranked.c.share)


def _claimable_per_subscription(now, per_subscription, probe_after, exclude):
    in_flight = aliased(WebhookDelivery)
    leased = (sa.select(sa.func.count().label("n"))
              .where(in_flight.subscription_id == WebhookSubscription.id,
                     in_flight.status == "pending", in_flight.lease_owner.is_not(None),
                     in_flight.next_attempt_at > now)
              .lateral("leased"))
    share = sa.func.greatest(_share(per_subscription, probe_after, leased.c.n), 0)
    first = (sa.select(WebhookDelivery.id.label("id"))
             .where(WebhookDelivery.subscription_id == WebhookSubscription.id,
                    *_filters(now))
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
             .limit(share).lateral("first"))
    stmt = (sa.select(first.c.id).select_from(WebhookSubscription)
            .join(leased, sa.true()).join(first, sa.true()).where(*_open(now)))
    if exclude is not None:  # ids, or an expanding bind parameter
        stmt = stmt.where(WebhookSubscription.id.not_in(exclude))
    return stmt


class Dispatcher:
    """Keeps up to HUB_WEBHOOK_CONCURRENCY requests in flight for one relay job."""

    def __init__(self):
        self.owner = f"relay-{uuid.uuid4().hex[:16]}"
        self.size = max(1, settings.get("HUB_WEBHOOK_CONCURRENCY"))
        self.per_subscription = max(1, settings.get("HUB_WEBHOOK_SUBSCRIPTION_CONCURRENCY"))
        self.per_host = max(1, settings.get("HUB_WEBHOOK_HOST_CONCURRENCY"))
        self.probe_after = max(1, settings.get("HUB_WEBHOOK_CIRCUIT_FAILURES"))
        self.lease = settings.get("HUB_WEBHOOK_CLAIM_SECONDS")
        self.inflight: dict = {}  # future -> (delivery id, host)
        self.hosts: dict = {}  # host -> requests in flight
        self.host_of_sub: dict = {}
        self.renewed = time.monotonic()
        self.sent = 0
        self.found_nothing_at = None  # monotonic time of the last claim that found nothing
        # The last claim left due deliveries behind (every slot or a host's share taken):
        # another worker's relay would send them sooner.
        self.saturated = False
        self._statements: dict = {}

    @property
    def busy(self) -> bool:
        return bool(self.inflight)

    def pump(self, session, wait_seconds: float = 0.2, fresh: bool = True) -> int:
        """Record what finished, renew leases, claim and send more. Waits up to
        wait_seconds for a request to finish when nothing else happened. Returns how
        many deliveries were claimed or recorded. `fresh`: new deliveries may have been
        fanned out since the last pump."""
        done = self._record(session)
        self._renew(session)
        claimed = self._claim(session) if done or fresh or self._may_find_more() else 0
        if not done and not claimed and self.inflight:
            finished, pending = wait(list(self.inflight), timeout=wait_seconds,
                                     return_when=FIRST_COMPLETED)
            if finished and pending:
                wait(pending, timeout=GATHER_SECONDS, return_when=ALL_COMPLETED)
            done = self._record(session)
        return done + claimed

    def _may_find_more(self) -> bool:
        # Nothing recorded and nothing fanned out while requests are in flight: only time
        # (a retry falling due, a circuit half-opening) can have made a delivery
        # claimable since the last claim found none. An idle dispatcher always looks.
        return not self.inflight or self.found_nothing_at is None or \
            time.monotonic() - self.found_nothing_at >= RECLAIM_SECONDS

    def drain(self, session) -> None:
        """Wait for every request in flight (each ends by its timeout) and record it."""
        while self.inflight:
            wait(list(self.inflight), timeout=min(1.0, self.lease / 3),
                 return_when=FIRST_COMPLETED)
            self._record(session)
            self._renew(session)

    def _record(self, session) -> int:
        finished = [f for f in self.inflight if f.done()]
        if not finished:
            return 0
        outcomes = {}
        for future in finished:
            delivery_id, host = self.inflight.pop(future)
            self.hosts[host] -= 1
            outcomes[delivery_id] = future.result()
        rows = session.execute(sa.select(WebhookDelivery).where(
            WebhookDelivery.id.in_(outcomes)).order_by(WebhookDelivery.id)).scalars().all()
        subs = {s.id: s for s in session.execute(sa.select(WebhookSubscription).where(
            WebhookSubscription.id.in_({d.subscription_id for d in rows}))).scalars()}
        for row in rows:  # a subscription deleted meanwhile took its rows along
            if row.status == "pending":
                delivery.record(session, row, subs[row.subscription_id], outcomes[row.id])
        session.commit()
        return len(finished)

    def _renew(self, session) -> None:
        if not self.inflight or time.monotonic() - self.renewed < self.lease / 3:
            return
        ids = [delivery_id for delivery_id, _ in self.inflight.values()]
        session.execute(sa.update(WebhookDelivery).where(
            WebhookDelivery.id.in_(ids), WebhookDelivery.lease_owner == self.owner,
            WebhookDelivery.status == "pending")
            .values(next_attempt_at=utcnow() + timedelta(seconds=self.lease))
            .execution_options(synchronize_session=False))
        session.commit()
        self.renewed = time.monotonic()

    def _claim_statement(self, postgresql: bool):
        """Built once per dispatcher with bound parameters (now, exclude, free): a relay
        claims many times a second, and building the statement cost more than running it."""
        if postgresql not in self._statements:
            ids = claimable(sa.bindparam("now", type_=UTCDateTime), self.per_subscription,
                            self.probe_after, sa.bindparam("exclude", expanding=True),
                            per_row=not postgresql)
            stmt = (sa.select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(sa.bindparam("free", type_=sa.Integer)))
            if postgresql:
                stmt = stmt.with_for_update(skip_locked=True, of=WebhookDelivery)
            self._statements[postgresql] = stmt
        return self._statements[postgresql]

    def _claim(self, session) -> int:
        free = self.size - len(self.inflight)
        if free <= 0:
            return 0
        now = utcnow()
        full = [sid for sid, host in self.host_of_sub.items()
                if self.hosts.get(host, 0) >= self.per_host]
        stmt = self._claim_statement(storage.is_postgresql(session))
        params = {"now": now, "exclude": full, "free": free}
        rows = session.execute(stmt, params).scalars().all()
        if not rows:
            session.commit()
            self.found_nothing_at = time.monotonic()
            return 0
        self.found_nothing_at = None
        subs = {s.id: s for s in session.execute(sa.select(WebhookSubscription).where(
            WebhookSubscription.id.in_({d.subscription_id for d in rows}))).scalars()}
        taken, lease = [], now + timedelta(seconds=self.lease)
        self.saturated = len(rows) >= free
        for row in rows:
            sub = subs[row.subscription_id]
            host = self.host_of_sub.setdefault(sub.id, host_of(sub.url))
            if self.hosts.get(host, 0) + sum(1 for _, h in taken if h == host) >= self.per_host:
                self.saturated = True
                continue  # that host has its share in flight: left for the next claim
            row.next_attempt_at, row.lease_owner = lease, self.owner
            row.attempts += 1
            taken.append((row, host))
        secrets_of = {sid: signing.signing_secrets(sub) for sid, sub in subs.items()}
        work = [(row.id, host, subs[row.subscription_id].url, row.message_id, row.body,
                 secrets_of[row.subscription_id]) for row, host in taken]
        session.commit()  # the claims stand before any request goes out
        limits = delivery.Limits.current()
        pool = delivery._executor()
        for delivery_id, host, url, message_id, body, secrets_ in work:
            future = pool.submit(delivery.send, url, message_id, body, secrets_, limits)
            self.inflight[future] = (delivery_id, host)
            self.hosts[host] = self.hosts.get(host, 0) + 1
        self.sent += len(work)
        return len(work)
