"""Claim due deliveries and send them: only 2xx succeeds, redirects are not followed.

Isolation: a relay job keeps up to HUB_WEBHOOK_CONCURRENCY requests in flight, at most
HUB_WEBHOOK_SUBSCRIPTION_CONCURRENCY of one subscription and HUB_WEBHOOK_HOST_CONCURRENCY
to one destination host, and records each outcome as soon as it arrives, so a receiver
that hangs holds only its own slots while every other subscription goes on. Several
failed attempts in a row open the subscription's circuit: nothing of it is claimed for a
while, then one probe at a time until an attempt succeeds.

Claims: a claim is a short lease (next_attempt_at, lease_owner) that the sending job
renews every few seconds while the request runs, and commits before any request goes
out; a job killed mid-send stops renewing, and its deliveries come due again within one
lease (at-least-once; webhook-id lets receivers dedupe). Claims use FOR UPDATE SKIP
LOCKED, so several workers share the work without waiting.

Per-report order: a delivery is claimable only while no earlier delivery of the same
subscription and report is undelivered (pending, or dead until retried or replayed), so a
subscriber never sees a report's events out of order, whatever happened in between.
"""
import email.utils
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import requests
import sqlalchemy as sa

from hub.models import WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from hub.webhooks import settings, signing, ssrf

log = logging.getLogger(__name__)

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass
class Outcome:
    started_at: datetime
    headers: dict
    url: str
    status_code: int | None = None
    response_headers: dict = field(default_factory=dict)
    response_body: str | None = None
    latency_ms: int | None = None
    error: str | None = None


def _http(allow: list) -> requests.Session:
    # One keep-alive session per sending thread (requests.Session is not thread-safe),
    # connecting only to addresses vetted under the allow-list it was made for.
    key = tuple(allow)
    if getattr(_local, "session", None) is None or _local.allow != key:
        _local.session, _local.allow = ssrf.session(allow), key
    return _local.session


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, settings.get("HUB_WEBHOOK_CONCURRENCY")),
                                       thread_name_prefix="webhook-send")
        return _pool


@dataclass(frozen=True)
class Limits:
    """Settings read in the app context, for the sending threads that have none."""
    timeout: float
    allow: list

    @classmethod
    def current(cls) -> "Limits":
        return cls(settings.get("HUB_WEBHOOK_TIMEOUT_SECONDS"), ssrf.allowed_networks())


def send(url: str, message_id: str, body: str, secrets_: list[str], limits: Limits) -> Outcome:
    """One HTTP attempt; never raises."""
    started = utcnow()
    headers = signing.headers(message_id, body, secrets_, started)
    outcome = Outcome(started_at=started, headers=headers, url=url)
    clock = time.perf_counter()
    try:
        # Again now: DNS may have changed since subscribing.
        ssrf.check_url(url, allow=limits.allow)
        timeout = limits.timeout
        with _http(limits.allow).post(url, data=body.encode(), headers=headers, allow_redirects=False,  # noqa: E501
                          timeout=(min(5.0, timeout), timeout), stream=True) as resp:
            outcome.status_code = resp.status_code
            outcome.response_headers = {k: v for k, v in list(resp.headers.items())[:30]}
            raw = resp.raw.read(1024, decode_content=True) or b""
            outcome.response_body = raw.decode("utf-8", "replace")
    except ssrf.UnsafeDestination as exc:
        outcome.error = f"refused: {exc}"
    except requests.RequestException as exc:
        outcome.error = f"{exc.__class__.__name__}: {exc}"[:1000]
    except Exception as exc:  # a bug in a library must not kill the batch
        log.exception("webhook send to %s failed", url)
        outcome.error = f"{exc.__class__.__name__}: {exc}"[:1000]
    outcome.latency_ms = int((time.perf_counter() - clock) * 1000)
    return outcome


def retry_after(outcome: Outcome) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if outcome.status_code not in (429, 503):
        return None
    value = next((v for k, v in outcome.response_headers.items()
                  if k.lower() == "retry-after"), None)
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - utcnow()).total_seconds())


def backoff(attempts: int) -> float:
    base = settings.get("HUB_WEBHOOK_RETRY_BASE_SECONDS")
    cap = settings.get("HUB_WEBHOOK_RETRY_MAX_SECONDS")
    delay = min(cap, base * 2 ** max(0, min(attempts - 1, 30)))
    return delay * random.uniform(0.75, 1.25)  # jitter: receivers coming back see no herd


def record(session, delivery, sub, outcome: Outcome) -> None:
    """Log the attempt and decide what happens next."""
    now = utcnow()
    session.add(WebhookAttempt(
        delivery_id=delivery.id, attempt=delivery.attempts, started_at=outcome.started_at,
        url=outcome.url, request_headers=outcome.headers, status_code=outcome.status_code,
        response_headers=outcome.response_headers or None,
        response_body=outcome.response_body, latency_ms=outcome.latency_ms,
        error=outcome.error))
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    delivery.lease_owner = None
    code = outcome.status_code
    _circuit(session, sub, ok=code is not None and code < 500 and code != 429, now=now)
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = \
            "succeeded", now, None
        return
    if code is not None and 300 <= code < 400:
        delivery.last_error = (f"redirect ({code}) to {outcome.response_headers.get('Location')}"
                               " not followed; subscribe the final URL")
    if code == 410:
        delivery.status, delivery.next_attempt_at = "dead", None
        delivery.last_error = "the endpoint answered 410 Gone"
        if sub.active:
            sub.active, sub.disabled_at = False, now
            sub.disabled_reason = (f"disabled at {now.isoformat()}: {outcome.url} answered "
                                   f"410 Gone to delivery {delivery.id}")
        return
    if now >= delivery.retry_until:
        delivery.status, delivery.next_attempt_at = "dead", None
        return
    wait = retry_after(outcome)
    delay = wait if wait is not None else backoff(delivery.attempts)
    delivery.next_attempt_at = min(now + timedelta(seconds=delay), delivery.retry_until)


def _circuit(session, sub, ok: bool, now) -> None:
    """Count failed attempts in a row (no answer, 5xx, 429: the receiver is struggling;
    a 4xx is about the request); past the threshold the circuit opens for a while."""
    if ok:
        if sub.consecutive_failures or sub.circuit_open_until is not None:
            sub.consecutive_failures, sub.circuit_open_until = 0, None
        return
    failures = session.execute(
        sa.update(WebhookSubscription).where(WebhookSubscription.id == sub.id)
        .values(consecutive_failures=WebhookSubscription.consecutive_failures + 1)
        .returning(WebhookSubscription.consecutive_failures)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    if failures is None:
        return
    sub.consecutive_failures = failures
    if failures >= settings.get("HUB_WEBHOOK_CIRCUIT_FAILURES"):
        sub.circuit_open_until = now + timedelta(
            seconds=settings.get("HUB_WEBHOOK_CIRCUIT_SECONDS"))


def requeue(session, delivery) -> None:
    """Send a delivery again (by hand): due now, with a fresh retry window."""
    from hub.services import outbox
    now = utcnow()
    window = now + timedelta(hours=settings.get("HUB_WEBHOOK_RETRY_HOURS"))
    delivery.status, delivery.next_attempt_at, delivery.lease_owner = "pending", now, None
    delivery.retry_until = window
    if delivery.report_id is not None:
        # The report's later deliveries waited behind this one: a fresh window for them.
        session.execute(sa.update(WebhookDelivery).where(
            WebhookDelivery.subscription_id == delivery.subscription_id,
            WebhookDelivery.report_id == delivery.report_id,
            WebhookDelivery.event_seq > delivery.event_seq,
            WebhookDelivery.status == "pending").values(retry_until=window)
            .execution_options(synchronize_session=False))
    outbox.wake(session)


def attempt_now(session, delivery) -> Outcome:
    """Send one delivery immediately (the test ping), recording it like any attempt."""
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    delivery.attempts += 1
    outcome = send(sub.url, delivery.message_id, delivery.body, signing.signing_secrets(sub),
                   Limits.current())
    record(session, delivery, sub, outcome)
    return outcome
