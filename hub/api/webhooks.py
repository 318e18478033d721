"""Webhook subscriptions of the calling API client, their delivery log, retries, replays.

Every subscription belongs to the client that made it: another client's subscription is
404, like a missing one. Deliveries carry only what the owner may read (tenant
isolation and the privacy rules, see hub.webhooks.payloads).
"""
import json
from datetime import timedelta

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.api import paging
from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.errors import Problem, not_found
from hub.extensions import db
from hub.models import EVENT_TYPES, Agency, ApiClient, WebhookDelivery, WebhookSubscription, utcnow
from hub.models.webhooks import DELIVERY_STATUSES, TEST_EVENT
from hub.schemas.fields import Choice, Text, Timestamp
from hub.services import outbox
from hub.services.access import in_scope
from hub.services.idempotency import transactional
from hub.webhooks import delivery as sending
from hub.webhooks import payloads, relay, settings, signing, ssrf

blp = Blueprint("webhooks", __name__, description="Webhook subscriptions (Standard Webhooks)")


class SubscriptionIn(Schema):
    url = Text(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "a public http(s) URL; redirects are not followed"})
    description = Text(validate=validate.Length(max=500), allow_none=True)
    event_types = fields.List(Choice(EVENT_TYPES), allow_none=True,
                              validate=validate.Length(1, len(EVENT_TYPES)), metadata={
                                  "description": "null or absent: every event type"})
    agencies = fields.List(Text(validate=validate.Length(1, 64)), allow_none=True,
                           validate=validate.Length(1, 200), metadata={
                               "description": "only reports now handled by these agencies "
                                              "(and sync failures of their connectors); "
                                              "null: every agency you may read"})


class SubscriptionPatch(SubscriptionIn):
    url = Text(validate=validate.Length(1, 2000))
    active = fields.Boolean(metadata={"description": "true re-enables a subscription "
                                                     "disabled by 410 Gone"})
    replay_gap = fields.Boolean(load_default=False, metadata={
        "description": "with active=true: queue at once what it missed (its dead "
                       "deliveries and the events while it was disabled), in order"})


class SubscriptionOut(Schema):
    id = fields.UUID()
    url = fields.String()
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String(), allow_none=True)
    agencies = fields.List(fields.String(), allow_none=True)
    active = fields.Boolean()
    disabled_reason = fields.String(allow_none=True, metadata={
        "description": "why the hub disabled it (e.g. the endpoint answered 410 Gone)"})
    disabled_at = Timestamp(allow_none=True)
    previous_secret_expires_at = Timestamp(allow_none=True, metadata={
        "description": "after a rotation the old secret also signs until then"})
    created_at = Timestamp()
    updated_at = Timestamp()


class GapOut(Schema):
    since = Timestamp()
    until = Timestamp()


class SubscriptionPatched(SubscriptionOut):
    gap = fields.Nested(GapOut, allow_none=True, metadata={
        "description": "on re-enabling: the range it missed; POST .../replay with it "
                       "(or PATCH with replay_gap=true) to have it sent. Until then the "
                       "later events of a report whose earlier one is undelivered wait"})
    replayed = fields.Integer(allow_none=True, metadata={
        "description": "deliveries queued by replay_gap"})


class SubscriptionWithSecret(SubscriptionOut):
    secret = fields.String(metadata={"description": "the whsec_ signing secret: shown only "
                                                    "now, store it"})


class SubscriptionList(Schema):
    items = fields.List(fields.Nested(SubscriptionOut))
    next_cursor = fields.String(allow_none=True)


class RotateIn(Schema):
    overlap_seconds = fields.Integer(validate=validate.Range(0, 7 * 86400), metadata={
        "description": "how long the old secret keeps signing too (default 24 h)"})


class AttemptOut(Schema):
    attempt = fields.Integer()
    started_at = Timestamp()
    url = fields.String()
    request_headers = fields.Dict()
    status_code = fields.Integer(allow_none=True)
    response_body = fields.String(allow_none=True, metadata={"description": "first KB"})
    latency_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliveryOut(Schema):
    id = fields.Integer()
    subscription_id = fields.UUID()
    webhook_id = fields.String(attribute="message_id", metadata={
        "description": "the webhook-id header: the same on every retry and replay"})
    type = fields.String()
    event_seq = fields.Integer(allow_none=True)
    report_id = fields.UUID(allow_none=True)
    status = fields.String(metadata={"description": "pending | succeeded | dead | failed "
                                                    "(the payload could not be built: "
                                                    "last_error says why; never sent)"})
    attempts = fields.Integer()
    next_attempt_at = Timestamp(allow_none=True)
    retry_until = Timestamp()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Timestamp()
    delivered_at = Timestamp(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptOut), data_key="attempt_log")
    payload = fields.Function(lambda d: json.loads(d.body), metadata={
        "description": "the body sent: {type, timestamp, data}"})


class DeliveryList(Schema):
    items = fields.List(fields.Nested(DeliveryOut))
    next_cursor = fields.String(allow_none=True)


class DeliveryQuery(Schema):
    status = Choice(DELIVERY_STATUSES)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = Text(validate=validate.Length(max=200))


class ReplayIn(Schema):
    since = Timestamp(required=True)
    until = Timestamp(required=True)

    @validates_schema
    def _order(self, data, **kwargs):
        if "since" in data and "until" in data and data["until"] <= data["since"]:
            raise ValidationError("must be after since", "until")


class ReplayOut(Schema):
    queued = fields.Integer(metadata={"description": "deliveries queued (again)"})


def _subscription(sub_id, for_update=False) -> WebhookSubscription:
    sub = db.session.get(WebhookSubscription, sub_id, with_for_update=for_update)
    if sub is None or sub.client_id != current_principal().client_id:
        raise not_found("webhook subscription")
    return sub


def _delivery(delivery_id: str, for_update=False):
    # A string in the route, so a malformed id is a 404 after auth, not a routing 404.
    if not delivery_id.isdigit() or len(delivery_id) > 18:
        raise not_found("webhook delivery")
    d = db.session.get(WebhookDelivery, int(delivery_id), with_for_update=for_update)
    if d is None:
        raise not_found("webhook delivery")
    _subscription(d.subscription_id)
    return d


def _check(body: dict) -> None:
    errors = {}
    if "url" in body:
        try:
            ssrf.check_url(body["url"])
        except ssrf.UnsafeDestination as exc:
            errors["url"] = str(exc)
    agencies = body.get("agencies") or []
    if agencies:
        principal = current_principal()
        known = set(db.session.execute(sa.select(Agency.code).where(
            Agency.code.in_(agencies))).scalars())
        for i, code in enumerate(agencies):
            if code not in known:
                errors[f"agencies.{i}"] = f"unknown agency '{code}'"
            elif not in_scope(principal, code):
                errors[f"agencies.{i}"] = f"'{code}' is outside your agency"
    if errors:
        raise Problem(422, "Validation failed", "Some fields are invalid.",
                      slug="validation", errors=errors)


def _dedupe(values):
    return list(dict.fromkeys(values)) if values else None


@blp.route("/webhooks", methods=["GET"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@blp.response(200, SubscriptionList)
def list_subscriptions():
    """Your webhook subscriptions"""
    rows = db.session.execute(sa.select(WebhookSubscription).where(
        WebhookSubscription.client_id == current_principal().client_id)
        .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
        .limit(1000)).scalars().all()
    return {"items": rows, "next_cursor": None}


@blp.route("/webhooks", methods=["POST"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.arguments(SubscriptionIn)
@blp.response(201, SubscriptionWithSecret)
def create_subscription(body):
    """Subscribe a URL; the signing secret is in this answer only

    Idempotency-Key is not honoured here: a stored replay would keep the secret at rest in
    clear. The destination must be a public http(s) address (checked now and before
    every delivery). Events committed before now are not sent (see /replay)."""
    _check(body)
    principal = current_principal()
    if db.session.get(ApiClient, principal.client_id) is None:
        raise Problem(403, "Forbidden", "Webhooks need an API client.", slug="forbidden")
    secret = signing.new_secret()
    now = utcnow()
    sub = WebhookSubscription(
        client_id=principal.client_id, url=body["url"], description=body.get("description"),
        event_types=_dedupe(body.get("event_types")), agencies=_dedupe(body.get("agencies")),
        secret_sealed=signing.seal_secret(secret), active=True,
        start_seq=relay.current_seq(db.session), created_at=now, updated_at=now)
    db.session.add(sub)
    db.session.flush()
    sub.secret = secret
    return sub


@blp.route("/webhooks/<uuid:sub_id>", methods=["GET"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@blp.response(200, SubscriptionOut)
def get_subscription(sub_id):
    """One subscription (its secret is never shown again)"""
    return _subscription(sub_id)


@blp.route("/webhooks/<uuid:sub_id>", methods=["PATCH"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.arguments(SubscriptionPatch)
@blp.response(200, SubscriptionPatched)
def update_subscription(body, sub_id):
    """Change the URL or filters, or re-enable a disabled subscription

    Re-enabling answers the `gap` it missed and sends nothing of a report ahead of that
    report's earlier undelivered events; `replay_gap: true` queues the gap at once."""
    sub = _subscription(sub_id, for_update=True)
    _check(body)
    for key in ("url", "description"):
        if key in body:
            setattr(sub, key, body[key])
    for key in ("event_types", "agencies"):
        if key in body:
            setattr(sub, key, _dedupe(body[key]))
    sub.gap = sub.replayed = None
    if body.get("active") is True and not sub.active:
        sub.gap = relay.gap(db.session, sub)
        sub.active, sub.disabled_reason, sub.disabled_at = True, None, None
        if sub.gap is not None and body.get("replay_gap"):
            client = db.session.get(ApiClient, sub.client_id)
            sub.replayed = relay.replay(db.session, sub, payloads.principal_of(client),
                                        *sub.gap, undelivered_only=True)
            outbox.wake(db.session)
        if sub.gap is not None:
            sub.gap = {"since": sub.gap[0], "until": sub.gap[1]}
    elif body.get("active") is False and sub.active:
        sub.active, sub.disabled_at = False, utcnow()
        sub.disabled_reason = f"disabled by {current_principal().client_id}"
    sub.updated_at = utcnow()
    return sub


@blp.route("/webhooks/<uuid:sub_id>", methods=["DELETE"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.response(204)
def delete_subscription(sub_id):
    """Unsubscribe; pending deliveries are dropped with it"""
    db.session.delete(_subscription(sub_id, for_update=True))


@blp.route("/webhooks/<uuid:sub_id>/rotate-secret", methods=["POST"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.arguments(RotateIn)
@blp.response(200, SubscriptionWithSecret)
def rotate_secret(body, sub_id):
    """A new signing secret (shown only now); the old one also signs during the overlap"""
    sub = _subscription(sub_id, for_update=True)
    overlap = body.get("overlap_seconds")
    overlap = timedelta(seconds=overlap) if overlap is not None else \
        timedelta(hours=settings.get("HUB_WEBHOOK_SECRET_OVERLAP_HOURS"))
    secret = signing.rotate(sub, overlap)
    sub.updated_at = utcnow()
    sub.secret = secret
    return sub


@blp.route("/webhooks/<uuid:sub_id>/test", methods=["POST"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.response(200, DeliveryOut)
def test_ping(sub_id):
    """Send a signed `webhook.test` event now and answer with the attempt's outcome"""
    sub = _subscription(sub_id)
    now = utcnow()
    body = payloads.encode(TEST_EVENT, now, {"subscription_id": str(sub.id),
                                             "message": "test ping from the LAPOR! hub"})
    row = relay.new_delivery(sub, TEST_EVENT, body, now, now)
    row["retry_until"] = now  # a ping is not retried
    delivery = WebhookDelivery(**row)
    db.session.add(delivery)
    db.session.flush()
    sending.attempt_now(db.session, delivery)
    db.session.flush()
    db.session.refresh(delivery)
    return delivery


@blp.route("/webhooks/<uuid:sub_id>/replay", methods=["POST"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.arguments(ReplayIn)
@blp.response(202, ReplayOut)
def replay(body, sub_id):
    """Deliver again every event of [since, until) (at most 10,000 per call)

    Events delivered before go out again under their first webhook-id, so a receiver
    that dedupes by webhook-id ignores what it already has."""
    sub = _subscription(sub_id)
    if not sub.active:
        raise Problem(409, "Subscription disabled", sub.disabled_reason or
                      "Re-enable it first (PATCH active=true).", slug="subscription-disabled")
    client = db.session.get(ApiClient, sub.client_id)
    queued = relay.replay(db.session, sub, payloads.principal_of(client), body["since"],
                          body["until"])
    outbox.wake(db.session)
    return {"queued": queued}


@blp.route("/webhooks/<uuid:sub_id>/deliveries", methods=["GET"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@blp.arguments(DeliveryQuery, location="query")
@blp.response(200, DeliveryList)
def list_deliveries(args, sub_id):
    """The delivery log, newest first: each attempt's request, status, latency, error"""
    _subscription(sub_id)
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
    if args.get("status"):
        stmt = stmt.where(WebhookDelivery.status == args["status"])
    after = paging.decode(args.get("cursor"), paging.seq)
    if after:
        stmt = stmt.where(WebhookDelivery.id < after[0])
    rows = db.session.execute(stmt.order_by(WebhookDelivery.id.desc())
                              .limit(args["limit"] + 1)).scalars().all()
    more, rows = len(rows) > args["limit"], rows[:args["limit"]]
    return {"items": rows, "next_cursor": paging.encode([rows[-1].id]) if more else None}


@blp.route("/webhooks/deliveries/<string:delivery_id>", methods=["GET"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@blp.response(200, DeliveryOut)
def get_delivery(delivery_id):
    """One delivery with its attempts"""
    return _delivery(delivery_id)


@blp.route("/webhooks/deliveries/<string:delivery_id>/retry", methods=["POST"])
@blp.doc(security=BEARER)
@require("webhooks:manage")
@transactional()
@blp.response(202, DeliveryOut)
def retry_delivery(delivery_id):
    """Send one delivery again (a dead one gets a fresh retry window)"""
    d = _delivery(delivery_id, for_update=True)
    sub = _subscription(d.subscription_id)
    if not sub.active:
        raise Problem(409, "Subscription disabled", sub.disabled_reason or
                      "Re-enable it first (PATCH active=true).", slug="subscription-disabled")
    if d.status == "failed":
        raise Problem(409, "Delivery cannot be sent", d.last_error or
                      "Its payload could not be built.", slug="delivery-failed")
    sending.requeue(db.session, d)
    return d
