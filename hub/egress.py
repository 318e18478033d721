"""Which network destinations the hub may call, and HTTP that connects only to them.

Webhooks and connectors both call URLs a tenant typed. Where those URLs may lead is the
operator's decision: public addresses are fine, private, loopback, link-local, reserved
and cloud metadata addresses only when the operator opened their range
(HUB_CONNECTOR_ALLOW_NETWORKS, HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS), and
HUB_CONNECTOR_ALLOW_HOSTS, when set, names the only hosts connectors may call.

Checking a name and then letting the HTTP library resolve it again leaves a window in
which DNS can answer differently (rebinding). `session()` closes it: every request
resolves its host once, vets every address, and connects to a vetted address itself,
while the Host header, TLS SNI and certificate check still use the host name. Redirects
followed by the session go through the same check.

Refusals name only what the tenant typed: never a resolved address, never whether an
internal name exists.
"""
import ipaddress
import os
import socket
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import SSL_KEYWORDS
from urllib3.util import connection as urllib3_connection

CONNECTOR_NETWORKS = "HUB_CONNECTOR_ALLOW_NETWORKS"
CONNECTOR_HOSTS = "HUB_CONNECTOR_ALLOW_HOSTS"
WEBHOOK_NETWORKS = "HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS"

# Cloud metadata services: refused unless an allowed range names them, even where they
# sit in public space (Azure's 168.63.129.16).
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200",
    "168.63.129.16"))


class UnsafeDestination(requests.exceptions.InvalidURL):
    """A destination the policy refuses. A ValueError (bad input at save time) and a
    requests exception (a request that never left), whichever the caller catches."""


def setting(name: str) -> str:
    """The app's config first (tests, `create_app(config)`), then the environment (RQ
    workers and threads without an app context)."""
    raw = current_app.config.get(name) if has_app_context() else None
    if raw is None:
        raw = os.environ.get(name, "")
    return str(raw or "")


def _items(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def parse_networks(raw: str, name: str) -> tuple:
    try:
        return tuple(ipaddress.ip_network(p, strict=False) for p in _items(raw))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class Policy:
    """Where one kind of caller may go. Frozen and plain, so it crosses into threads and
    child processes that have no app context."""
    networks: tuple = ()
    hosts: tuple = ()          # empty: any host whose addresses pass
    settings: str = CONNECTOR_NETWORKS
    purpose: str = "connectors"

    def host_allowed(self, host: str) -> bool:
        if not self.hosts:
            return True
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith("*.") and host.endswith(h[1:]))
                   for h in self.hosts)

    def address_allowed(self, addr) -> bool:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        if any(addr in net for net in self.networks):
            return True
        if addr in METADATA:
            return False
        return addr.is_global and not (addr.is_multicast or addr.is_reserved or
                                       addr.is_unspecified)

    def refusal(self, host: str) -> UnsafeDestination:
        return UnsafeDestination(
            f"'{host}' is not a destination {self.purpose} may reach: it must resolve to "
            f"public addresses or to networks the operator allows ({self.settings})")


def connector_policy() -> Policy:
    hosts = tuple(h.lower().rstrip(".") for h in _items(setting(CONNECTOR_HOSTS)))
    return Policy(parse_networks(setting(CONNECTOR_NETWORKS), CONNECTOR_NETWORKS), hosts,
                  f"{CONNECTOR_NETWORKS} / {CONNECTOR_HOSTS}", "connectors")


def webhook_policy(networks=None) -> Policy:
    if networks is None:
        networks = parse_networks(setting(WEBHOOK_NETWORKS), WEBHOOK_NETWORKS)
    return Policy(tuple(networks), (), WEBHOOK_NETWORKS, "webhooks")


def check_form(url: str, what: str = "connectors") -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without credentials in it; otherwise
    UnsafeDestination."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError):
        raise UnsafeDestination("not a valid URL") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeDestination(f"only http and https URLs can be used by {what}")
    if not parts.hostname:
        raise UnsafeDestination("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeDestination("credentials in the URL are not allowed")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def vet(url: str, policy: Policy) -> list[str]:
    """The addresses `url` may be connected to (resolved once, every one allowed), or
    UnsafeDestination. A name that does not resolve is refused like a private one, so a
    refusal never tells whether an internal name exists."""
    _, host, port = check_form(url, policy.purpose)
    if not policy.host_allowed(host):
        raise UnsafeDestination(f"'{host}' is not among the hosts the operator allows "
                                f"{policy.purpose} to reach ({policy.settings})")
    try:
        literal = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        literal = None
    if literal is not None:
        if not policy.address_allowed(literal):
            raise policy.refusal(host)
        return [str(literal)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise policy.refusal(host) from None
    addresses = []
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not policy.address_allowed(addr):
            raise policy.refusal(host)
        if str(addr) not in addresses:
            addresses.append(str(addr))
    if not addresses:
        raise policy.refusal(host)
    return addresses


# --- the pinned transport ----------------------------------------------------------------

class _Pinned:
    """A urllib3 connection that opens its socket to vetted addresses; `host` stays the
    name, so the Host header, SNI and certificate matching are those of the name."""

    def __init__(self, *args, pinned_addresses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.pinned_addresses = tuple(pinned_addresses)

    def _new_conn(self):
        last = None
        for address in self.pinned_addresses:
            try:
                return urllib3_connection.create_connection(
                    (address, self.port), self.timeout, source_address=self.source_address,
                    socket_options=self.socket_options)
            except socket.timeout:
                last = ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                                 f"(connect timeout={self.timeout})")
            except OSError:
                last = NewConnectionError(self, f"Failed to establish a new connection "
                                                f"to {self.host}")
        raise last or NewConnectionError(self, f"no address to connect to {self.host}")


class PinnedHTTPConnection(_Pinned, HTTPConnection):
    pass


class PinnedHTTPSConnection(_Pinned, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """Vets every request's destination under `policy` and sends it through a pool
    bound to the vetted addresses (one pool per host and address set)."""

    MAX_POOLS = 16

    def __init__(self, policy: Policy, **kwargs):
        self.policy = policy
        self._pools: OrderedDict = OrderedDict()
        self._lock = Lock()
        super().__init__(**kwargs)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None,
             proxies=None):
        # Never through a proxy: the connection must go to the vetted address itself.
        return super().send(request, stream=stream, timeout=timeout, verify=verify,
                            cert=cert, proxies={})

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        addresses = tuple(vet(request.url, self.policy))
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(
            request, verify, cert)
        scheme = host_params["scheme"]
        if scheme != "https":
            pool_kwargs = {k: v for k, v in pool_kwargs.items() if k not in SSL_KEYWORDS}
        port = host_params["port"] or (443 if scheme == "https" else 80)
        key = (scheme, host_params["host"], port, addresses,
               tuple(sorted((k, id(v) if k == "ssl_context" else v)
                            for k, v in pool_kwargs.items())))
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            cls = _PinnedHTTPSPool if scheme == "https" else _PinnedHTTPPool
            pool = cls(host_params["host"], port, maxsize=self._pool_maxsize,
                       block=self._pool_block, pinned_addresses=addresses, **pool_kwargs)
            self._pools[key] = pool
            while len(self._pools) > self.MAX_POOLS:
                self._pools.popitem(last=False)[1].close()
            return pool

    def get_connection(self, url, proxies=None):  # pragma: no cover - older requests
        raise NotImplementedError("PinnedAdapter needs requests >= 2.32.2")

    def close(self):
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
        super().close()


def session(policy: Policy) -> requests.Session:
    """A requests session whose every request (and every redirect it follows) goes only
    to addresses `policy` allows."""
    http = requests.Session()
    http.trust_env = False  # no proxies or .netrc from the environment
    adapter = PinnedAdapter(policy)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
