"""Where a tenant's connector may reach: the operator's decision, checked at save and at
every build of a connector.

An agency admin configures connectors, and everything they type is untrusted. So:

  HTTP kinds   (rest, open311, lapor) call only destinations hub.egress allows
               (HUB_CONNECTOR_ALLOW_NETWORKS, HUB_CONNECTOR_ALLOW_HOSTS), through its
               pinned session, which re-checks every request
  sql          reads only a source the operator named in HUB_SQL_SOURCES for that agency,
               with the operator's credentials; never the hub's own database
  spreadsheet  reads only files in the agency's inbox, <HUB_INBOX_ROOT>/<agency code>/

Refusals are ConnectorErrors that need a person (retryable=False): a run built from a
refused configuration fails with the reason, a save shows it next to the form.
"""
import ipaddress
import json
import os
import socket
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_app_context

from connectors.base import ConnectorError
from hub import egress

HTTP_KINDS = ("rest", "open311", "lapor")
SQL_SOURCES = "HUB_SQL_SOURCES"
INBOX_ROOT = "HUB_INBOX_ROOT"
SQL_MAX_TIMEOUT = 60  # seconds a source's statements may run unless the operator says


def _refuse(message: str) -> ConnectorError:
    return ConnectorError(message, retryable=False)


def setting(name: str):
    value = current_app.config.get(name) if has_app_context() else None
    return os.environ.get(name) if value is None else value


# --- HTTP ---------------------------------------------------------------------------------

def _urls(kind: str, config: dict) -> list[tuple[str, str]]:
    urls = [("base_url", config.get("base_url"))]
    auth = config.get("auth") if isinstance(config.get("auth"), dict) else {}
    token_url = auth.get("token_url")
    if isinstance(token_url, str) and token_url.startswith("http"):  # else a path
        urls.append(("auth.token_url", token_url))
    return urls


def _http(kind: str, config: dict, secrets: dict, resolve: bool):
    policy = egress.connector_policy()
    for key, url in _urls(kind, config):
        if not isinstance(url, str) or not url:
            raise _refuse(f"`{key}` is required")
        try:
            if resolve:
                egress.vet(url, policy)
            else:
                _, host, _ = egress.check_form(url)
                if not policy.host_allowed(host):
                    egress.vet(url, policy)  # raises the host refusal
        except egress.UnsafeDestination as exc:
            raise _refuse(f"`{key}`: {exc}") from None
    return config, secrets, {"session": egress.session(policy)}


# --- SQL ----------------------------------------------------------------------------------

def sql_sources() -> dict:
    """{name: {url, agencies, password_env?, timeout_seconds?}} from HUB_SQL_SOURCES (a
    JSON object, or a dict in the app config)."""
    raw = setting(SQL_SOURCES) or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise _refuse(f"{SQL_SOURCES} is not valid JSON; ask the operator") from None
    return raw if isinstance(raw, dict) else {}


def _local_names() -> set:
    return {"", "localhost", "localhost.localdomain", socket.gethostname().lower()}


def _addresses(host: str | None) -> set:
    """What a database host means: 'local' for the machine itself (no host, a Unix
    socket, a loopback name or address), else its addresses."""
    host = (host or "").strip("[]").lower()
    if host.startswith("/") or host in _local_names():
        return {"local"}
    try:
        found = {info[4][0].split("%")[0] for info in
                 socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return {host}
    out = set()
    for addr in found:
        ip = ipaddress.ip_address(addr)
        out.add("local" if ip.is_loopback or ip.is_unspecified else addr)
    return out | {host}


def _database(url) -> tuple:
    backend = url.get_backend_name()
    family = {"postgres": "postgresql", "mariadb": "mysql"}.get(backend, backend)
    if family == "sqlite":
        db_file = url.database or ""
        return family, None, None, str(Path(db_file).resolve()) if db_file and \
            db_file != ":memory:" else db_file
    port = url.port or {"postgresql": 5432, "mysql": 3306}.get(family)
    host = url.host or url.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    name = url.database or (url.username if family == "postgresql" else None)
    return family, host, port, name


def _hub_url():
    hub_uri = current_app.config["SQLALCHEMY_DATABASE_URI"] if has_app_context() else \
        os.environ.get("HUB_DATABASE_URL")
    return sa.make_url(hub_uri) if hub_uri else None


def _same_server(mine: tuple, theirs: tuple) -> bool:
    return mine[0] == theirs[0] and mine[2] == theirs[2] and \
        bool(_addresses(mine[1]) & _addresses(theirs[1]))


def is_hub_database(url) -> bool:
    """Does `url` lead to the hub's own database (same server and database name, or the
    same SQLite file)?"""
    hub = _hub_url()
    if hub is None:
        return False
    mine, theirs = _database(hub), _database(url)
    if mine[0] != theirs[0]:
        return False
    if mine[0] == "sqlite":
        return mine[3] == theirs[3]
    return mine[3] == theirs[3] and _same_server(mine, theirs)


def uses_hub_credentials(url) -> bool:
    """Does `url` log in as the hub's own database user on the hub's server (whatever
    the database): the source must use the reader role the operator made for it."""
    hub = _hub_url()
    if hub is None or hub.get_backend_name() == "sqlite":
        return False
    return (url.username or None) == (hub.username or None) and \
        _same_server(_database(hub), _database(url))


def _sql(agency: str, config: dict):
    # The tenant's own secrets are never used: the credentials are the operator's.
    if "url" in config:
        raise _refuse("a SQL connector names a database `source` the operator configured "
                      "for your agency, not a database URL")
    name = config.get("source")
    sources = sql_sources()
    source = sources.get(name) if isinstance(name, str) else None
    agencies = (source or {}).get("agencies") or []
    if not isinstance(source, dict) or not (agency in agencies or "*" in agencies):
        mine = sorted(n for n, s in sources.items() if isinstance(s, dict) and
                      (agency in (s.get("agencies") or []) or "*" in (s.get("agencies") or [])))
        raise _refuse(f"`source`: '{name}' is not a database source the operator "
                      f"configured for agency {agency} (available: "
                      f"{', '.join(mine) or 'none; ask the operator to add one'})")
    try:
        url = sa.make_url(source["url"])
    except (KeyError, TypeError, sa.exc.ArgumentError):
        raise _refuse(f"database source '{name}' has no valid url; ask the operator") \
            from None
    if is_hub_database(url):
        raise _refuse(f"database source '{name}' is the hub's own database, which a "
                      "connector can never read; ask the operator")
    if not url.username or uses_hub_credentials(url):
        raise _refuse(f"database source '{name}' must log in as its own read-only user, "
                      "not the hub's; ask the operator")
    secrets = {}
    if source.get("password_env"):
        secrets["password"] = os.environ.get(source["password_env"], "")
    ceiling = float(source.get("timeout_seconds") or SQL_MAX_TIMEOUT)
    timeout = min(float(config.get("timeout_seconds") or ceiling), ceiling)
    built = {**config, "url": url.render_as_string(hide_password=False),
             "timeout_seconds": timeout}
    return built, secrets, {}


# --- spreadsheets -------------------------------------------------------------------------

def inbox_root() -> Path:
    root = setting(INBOX_ROOT)
    if not root:
        var = setting("HUB_VAR_DIR") or "var"
        root = Path(var) / "inbox"
    return Path(root)


def agency_inbox(agency: str) -> Path:
    if not agency or "/" in agency or agency.startswith("."):
        raise _refuse("the connector's agency code cannot name an inbox folder")
    return inbox_root() / agency


def _spreadsheet(agency: str, config: dict, secrets: dict):
    from connectors.spreadsheet import Inbox, Limits
    inbox = Inbox(agency_inbox(agency))
    try:
        inbox.root.mkdir(parents=True, exist_ok=True)  # where officers' uploads land
    except OSError:
        pass  # a read-only deployment: the run says the folder is missing
    for key in ("path", "inbox_dir"):
        if config.get(key) is not None:
            try:
                inbox.relative(config[key])
            except ValueError as exc:
                raise _refuse(f"`{key}`: {exc}") from None
    return config, secrets, {"inbox": inbox, "limits": Limits.from_settings(setting)}


# --- the one entry point ------------------------------------------------------------------

def prepare(kind: str, agency: str, config: dict, secrets: dict | None = None, *,
            resolve: bool = False):
    """(config, secrets, extra constructor arguments) for a connector of `kind` owned by `agency`,
    or a ConnectorError saying what the operator does not allow. `resolve` also checks
    where HTTP hosts resolve now (at save time; runs check every request anyway)."""
    if not isinstance(config, dict):
        raise _refuse("the connector's configuration must be an object")
    secrets = dict(secrets or {})
    if kind in HTTP_KINDS:
        return _http(kind, config, secrets, resolve)
    if kind == "sql":
        return _sql(agency, config)
    if kind == "spreadsheet":
        return _spreadsheet(agency, config, secrets)
    return config, secrets, {}
