"""Webhook subscriptions in the officers' UI: the agency's subscriptions and their
delivery log. Agency admins (and national admins) make, rotate, pause, delete and ping
them; officers only look.

A subscription belongs to an API client (deliveries carry what that client may read);
it is in a user's scope when the client's agency is. Another agency's subscription or
delivery is 404, like a missing one. The whsec_ secret is sealed at rest and shown only
in the answer to the POST that made it (never in the session cookie, never on a GET).
"""
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for

from hub.extensions import db
from hub.models import EVENT_TYPES, Agency, ApiClient, WebhookDelivery, WebhookSubscription
from hub.models.types import utcnow
from hub.models.webhooks import TEST_EVENT
from hub.services import access, outbox
from hub.ui import i18n
from hub.ui.base import bp
from hub.ui.connector_forms import can_edit, require_editor
from hub.webhooks import delivery as sending
from hub.webhooks import payloads, relay, settings, signing, ssrf

MAX_AGENCIES = 200
LOG_PAGE = 100


# -- scope ------------------------------------------------------------------------------

def _client_in_scope(client) -> bool:
    if client is None:
        return False
    if g.principal.is_national:
        return True
    # A national client ("*") is never inside one agency's scope.
    return client.agency_code != "*" and access.in_scope(g.principal, client.agency_code)


def _subscription(sub_id, for_update=False) -> tuple[WebhookSubscription, ApiClient]:
    sub = db.session.get(WebhookSubscription, sub_id, with_for_update=for_update)
    client = db.session.get(ApiClient, sub.client_id) if sub is not None else None
    if sub is None or not _client_in_scope(client):
        abort(404)
    return sub, client


def _clients() -> list[ApiClient]:
    """The API clients a subscription may be made for: active ones in the user's scope."""
    rows = db.session.execute(sa.select(ApiClient).where(ApiClient.active.is_(True))
                              .order_by(ApiClient.agency_code, ApiClient.id)).scalars()
    return [c for c in rows if _client_in_scope(c)]


# -- the list and the form --------------------------------------------------------------

def _last_deliveries(sub_ids) -> dict:
    if not sub_ids:
        return {}
    latest = (sa.select(sa.func.max(WebhookDelivery.id))
              .where(WebhookDelivery.subscription_id.in_(sub_ids))
              .group_by(WebhookDelivery.subscription_id))
    rows = db.session.execute(sa.select(WebhookDelivery).where(
        WebhookDelivery.id.in_(latest))).scalars()
    return {d.subscription_id: d for d in rows}


def _visible_subscriptions() -> list[tuple[WebhookSubscription, ApiClient]]:
    stmt = (sa.select(WebhookSubscription, ApiClient)
            .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id))
    covered = access.scope(g.principal)
    if covered is not None:
        stmt = stmt.where(ApiClient.agency_code.in_(covered))
    return [tuple(row) for row in db.session.execute(stmt)]


def _list_page(form=None, errors=None, status=200, secret=None, secret_sub=None):
    subs = _visible_subscriptions()
    return render_template(
        "ui/webhooks.html", subs=subs, last=_last_deliveries([s.id for s, _ in subs]),
        clients=_clients() if can_edit() else [], event_types=EVENT_TYPES,
        form=form or {"event_types": []}, errors=errors or {}, secret=secret,
        secret_sub=secret_sub, disabled_text=disabled_text), status


def disabled_text(sub) -> str:
    """Why a subscription is off, in the reader's language (the stored reason is the
    hub's English log line and is shown beside it)."""
    at = i18n.datetime_text(sub.disabled_at)
    if sub.disabled_reason and "410 Gone" in sub.disabled_reason:
        return i18n.t("webhooks.disabled_410", at=at)
    return i18n.t("webhooks.disabled_manual", at=at)


def _url_error(url: str) -> str | None:
    """None when the URL may receive webhooks; else a translated reason."""
    if not url:
        return i18n.t("form.err_required")
    if len(url) > 2000:
        return i18n.t("webhooks.err_url_long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return i18n.t("webhooks.err_url_invalid")
    if parts.scheme not in ("http", "https"):
        return i18n.t("webhooks.err_url_scheme")
    if not parts.hostname:
        return i18n.t("webhooks.err_url_invalid")
    if parts.username or parts.password:
        return i18n.t("webhooks.err_url_credentials")
    try:
        ssrf.check_url(url)
    except ssrf.UnsafeDestination:
        # One message whether the name is unknown or points inside: telling them apart
        # would let a tenant map the internal DNS.
        return i18n.t("webhooks.err_url_private", host=parts.hostname)
    return None


def _agency_codes(raw: str, client, errors: dict) -> list | None:
    codes = list(dict.fromkeys(c.strip() for c in raw.replace("\n", ",").split(",")
                               if c.strip()))
    if not codes:
        return None  # every agency the client may read
    if len(codes) > MAX_AGENCIES:
        errors["agencies"] = i18n.tn("webhooks.err_agencies_many", MAX_AGENCIES)
        return None
    known = set(db.session.execute(sa.select(Agency.code).where(Agency.code.in_(codes)))
                .scalars())
    owner = payloads.principal_of(client) if client is not None else None
    for code in codes:
        if code not in known:
            errors["agencies"] = i18n.t("webhooks.err_agency_unknown", code=code)
            break
        if owner is not None and not access.in_scope(owner, code):
            errors["agencies"] = i18n.t("webhooks.err_agency_scope", code=code)
            break
    return codes


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks():
    if request.method == "GET":
        return _list_page()
    require_editor()
    form = {"client": (request.form.get("client") or "").strip(),
            "url": (request.form.get("url") or "").strip(),
            "description": (request.form.get("description") or "").strip(),
            "agencies": (request.form.get("agencies") or "").strip(),
            "event_types": request.form.getlist("event_types")}
    errors = {}
    client = db.session.get(ApiClient, form["client"]) if form["client"] else None
    if client is None or not client.active or not _client_in_scope(client):
        errors["client"] = i18n.t("webhooks.err_client")
        client = None
    url_error = _url_error(form["url"])
    if url_error:
        errors["url"] = url_error
    if len(form["description"]) > 500:
        errors["description"] = i18n.t("webhooks.err_description")
    types = list(dict.fromkeys(form["event_types"]))
    if any(t not in EVENT_TYPES for t in types):
        errors["event_types"] = i18n.t("form.err_enum")
    agencies = _agency_codes(form["agencies"], client, errors)
    if errors:
        return _list_page(form, errors, 422)
    secret = signing.new_secret()
    now = utcnow()
    sub = WebhookSubscription(
        client_id=client.id, url=form["url"], description=form["description"] or None,
        event_types=types or None, agencies=agencies, secret_sealed=signing.seal_secret(secret),
        active=True, start_seq=relay.current_seq(db.session), created_at=now, updated_at=now)
    db.session.add(sub)
    db.session.commit()
    # The answer to this POST is the only place the secret ever appears.
    return _list_page(secret=secret, secret_sub=sub, status=201)


@bp.route("/webhooks/<uuid:sub_id>/rotate", methods=["POST"])
def webhook_rotate(sub_id):
    require_editor()
    sub, _ = _subscription(sub_id, for_update=True)
    overlap = timedelta(hours=settings.get("HUB_WEBHOOK_SECRET_OVERLAP_HOURS"))
    secret = signing.rotate(sub, overlap)
    sub.updated_at = utcnow()
    db.session.commit()
    return _list_page(secret=secret, secret_sub=sub)


@bp.route("/webhooks/<uuid:sub_id>/<any(enable, disable):action>", methods=["POST"])
def webhook_toggle(sub_id, action):
    require_editor()
    sub, _ = _subscription(sub_id, for_update=True)
    if action == "enable" and not sub.active:
        sub.active, sub.disabled_reason, sub.disabled_at = True, None, None
    elif action == "disable" and sub.active:
        sub.active, sub.disabled_at = False, utcnow()
        sub.disabled_reason = f"disabled by {g.principal.client_id} ({g.user.email})"
    sub.updated_at = utcnow()
    db.session.commit()
    flash(i18n.t("webhooks." + ("enabled" if action == "enable" else "disabled")), "ok")
    return redirect(request.form.get("back") == "log" and
                    url_for("ui.webhook", sub_id=sub.id) or url_for("ui.webhooks"))


@bp.route("/webhooks/<uuid:sub_id>/delete", methods=["POST"])
def webhook_delete(sub_id):
    require_editor()
    sub, _ = _subscription(sub_id, for_update=True)
    db.session.delete(sub)  # its deliveries go with it (ON DELETE CASCADE)
    db.session.commit()
    flash(i18n.t("webhooks.deleted"), "ok")
    return redirect(url_for("ui.webhooks"))


@bp.route("/webhooks/<uuid:sub_id>/test", methods=["POST"])
def webhook_test(sub_id):
    """A signed webhook.test sent now; its attempt lands in the delivery log."""
    require_editor()
    sub, _ = _subscription(sub_id)
    if not sub.active:
        flash(i18n.t("webhooks.err_inactive"), "error")
        return redirect(url_for("ui.webhook", sub_id=sub.id))
    now = utcnow()
    body = payloads.encode(TEST_EVENT, now, {"subscription_id": str(sub.id),
                                             "message": "test ping from the LAPOR! hub"})
    row = relay.new_delivery(sub, TEST_EVENT, body, now, now)
    row["retry_until"] = now  # a ping is not retried by itself
    ping = WebhookDelivery(**row)
    db.session.add(ping)
    db.session.flush()
    outcome = sending.attempt_now(db.session, ping)
    db.session.commit()
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        flash(i18n.t("webhooks.ping_ok", code=code, ms=outcome.latency_ms or 0), "ok")
    else:
        flash(i18n.t("webhooks.ping_failed", code=code if code is not None else "–"), "error")
    return redirect(url_for("ui.webhook", sub_id=sub.id))


# -- the delivery log -------------------------------------------------------------------

def _log_page(sub, client, errors=None, form=None, status=200):
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub.id)
    before = request.args.get("before", "")
    if before.isdigit() and len(before) < 19:
        stmt = stmt.where(WebhookDelivery.id < int(before))
    rows = db.session.execute(stmt.order_by(WebhookDelivery.id.desc())
                              .limit(LOG_PAGE + 1)).scalars().all()
    more, rows = len(rows) > LOG_PAGE, rows[:LOG_PAGE]
    return render_template("ui/webhook.html", sub=sub, client=client, deliveries=rows,
                           more=more, errors=errors or {}, form=form or {},
                           disabled_text=disabled_text, can_retry=can_retry), status


def can_retry(d) -> bool:
    """Dead, or pending after a failed attempt."""
    return d.status == "dead" or (d.status == "pending" and d.attempts > 0)


@bp.route("/webhooks/<uuid:sub_id>")
def webhook(sub_id):
    sub, client = _subscription(sub_id)
    return _log_page(sub, client)


@bp.route("/webhooks/deliveries/<int:delivery_id>/retry", methods=["POST"])
def webhook_retry(delivery_id):
    require_editor()
    d = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if d is None:
        abort(404)
    sub, _ = _subscription(d.subscription_id)
    if not sub.active:
        flash(i18n.t("webhooks.err_inactive"), "error")
    elif d.status == "succeeded":
        flash(i18n.t("webhooks.err_delivered"), "error")
    else:
        sending.requeue(db.session, d)
        db.session.commit()
        flash(i18n.t("webhooks.retry_queued", id=d.message_id), "ok")
    return redirect(url_for("ui.webhook", sub_id=sub.id))


def _parse_local(raw: str):
    """A datetime-local input ("2026-11-23T09:30"), read in the hub's time zone."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=i18n.local_zone())
    return value


@bp.route("/webhooks/<uuid:sub_id>/replay", methods=["POST"])
def webhook_replay(sub_id):
    require_editor()
    sub, client = _subscription(sub_id)
    form = {k: (request.form.get(k) or "").strip()[:40] for k in ("since", "until")}
    errors = {}
    since, until = _parse_local(form["since"]), _parse_local(form["until"])
    if since is None:
        errors["since"] = i18n.t("webhooks.err_time")
    if until is None:
        errors["until"] = i18n.t("webhooks.err_time")
    elif since is not None and until <= since:
        errors["until"] = i18n.t("webhooks.err_until")
    if not sub.active:
        errors["replay"] = i18n.t("webhooks.err_inactive")
    if errors:
        return _log_page(sub, client, errors, form, 422)
    queued = relay.replay(db.session, sub, payloads.principal_of(client), since, until)
    outbox.wake(db.session)
    db.session.commit()
    flash(i18n.tn("webhooks.replay_queued", queued), "ok")
    return redirect(url_for("ui.webhook", sub_id=sub.id))
