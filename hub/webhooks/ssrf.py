"""Which destinations the hub may call: public http(s) only, unless allow-listed.

Checked when a subscription is made and again before every attempt (DNS can change in
between). HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS (comma-separated CIDRs, e.g.
"127.0.0.0/8,10.0.0.0/8") opens chosen private ranges, for tests and on-premise receivers.
"""
import ipaddress
import os
import socket
from urllib.parse import urlsplit

from flask import current_app, has_app_context

SETTING = "HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS"


class UnsafeDestination(ValueError):
    pass


def allowed_networks() -> list:
    raw = None
    if has_app_context():
        raw = current_app.config.get(SETTING)
    if raw is None:
        raw = os.environ.get(SETTING, "")
    nets = []
    for part in str(raw).split(","):
        if part.strip():
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
    return nets


def _public(addr) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return not (addr.is_private or addr.is_loopback or addr.is_link_local or
                addr.is_multicast or addr.is_reserved or addr.is_unspecified or
                not addr.is_global)


def check_url(url: str, resolve: bool = True, allow: list | None = None) -> None:
    """Raise UnsafeDestination naming the reason; return quietly when the URL is fine.
    `allow` is allowed_networks(), passed in by threads that have no app context."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeDestination("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeDestination("credentials in the URL are not allowed")
    if not resolve:
        return
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"the host '{host}' does not resolve ({exc})") from None
    allow = allowed_networks() if allow is None else allow
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if _public(addr) or any(addr in net for net in allow):
            continue
        raise UnsafeDestination(f"'{host}' resolves to {addr}, a private, loopback, "
                                "link-local, multicast or reserved address; webhooks go "
                                "to public addresses only")
