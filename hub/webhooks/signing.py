"""Subscription secrets (whsec_, sealed at rest) and Standard Webhooks signatures."""
import base64
import secrets as _random
from datetime import datetime, timedelta

from standardwebhooks import Webhook

from hub.models import utcnow
from hub.services.secrets import seal, unseal


def new_secret() -> str:
    # 24 random bytes, as Standard Webhooks' own examples use.
    return "whsec_" + base64.b64encode(_random.token_bytes(24)).decode()


def seal_secret(secret: str) -> str:
    return seal({"whsec": secret})


def unseal_secret(token: str) -> str:
    return unseal(token)["whsec"]


def rotate(subscription, overlap: timedelta) -> str:
    """A new secret; the old one keeps signing alongside it until the overlap ends, so a
    receiver can switch its configuration without rejecting anything."""
    secret = new_secret()
    subscription.previous_secret_sealed = subscription.secret_sealed
    subscription.previous_secret_expires_at = utcnow() + overlap
    subscription.secret_sealed = seal_secret(secret)
    return secret


def signing_secrets(subscription, now: datetime | None = None) -> list[str]:
    now = now or utcnow()
    found = [unseal_secret(subscription.secret_sealed)]
    if subscription.previous_secret_sealed and subscription.previous_secret_expires_at \
            and subscription.previous_secret_expires_at > now:
        found.append(unseal_secret(subscription.previous_secret_sealed))
    return found


def headers(message_id: str, body: str, secrets_: list[str],
            timestamp: datetime | None = None) -> dict:
    """webhook-id (stable across retries), webhook-timestamp (this attempt) and one
    v1 signature per live secret, space-separated as the spec allows."""
    timestamp = timestamp or utcnow()
    signature = " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature, "Content-Type": "application/json",
            "User-Agent": "lapor-hub-webhooks/1"}
