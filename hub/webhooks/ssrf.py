"""Which destinations webhooks may call: public http(s) only, unless allow-listed.

Checked when a subscription is made and again before every attempt (DNS can change in
between), and the attempt itself connects only to an address vetted then (the pinned
session of hub.egress, the one guard webhooks and connectors share).
HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS (comma-separated CIDRs, e.g.
"127.0.0.0/8,10.0.0.0/8") opens chosen private ranges, for tests and on-premise receivers.
"""
from hub import egress

SETTING = egress.WEBHOOK_NETWORKS
UnsafeDestination = egress.UnsafeDestination


def allowed_networks() -> list:
    return list(egress.webhook_policy().networks)


def check_url(url: str, resolve: bool = True, allow: list | None = None) -> None:
    """Raise UnsafeDestination naming the reason; return quietly when the URL is fine.
    `allow` is allowed_networks(), passed in by threads that have no app context."""
    if not resolve:
        egress.check_form(url, "webhooks")
        return
    egress.vet(url, egress.webhook_policy(allow))


def session(allow: list | None = None):
    """A requests session that connects only to addresses vetted under `allow`."""
    return egress.session(egress.webhook_policy(allow))
