"""Connector and mapping files (mappings/<agency>/<connector>.yaml): import and export.

A file holds one connector's configuration and its mapping tables, so a mapping can be
reviewed in git and moved between environments. Secrets never go in the file: it names
the environment variables that hold them (`secrets_env`).
"""
import os

import sqlalchemy as sa
import yaml

from hub.errors import Problem
from hub.models import MAPPED_FIELDS, STATUS_OUT, Agency, Connector, Mapping, utcnow
from hub.services import source_systems
from hub.services.secrets import seal, unseal
from hub.sync import registry

FIELDS = MAPPED_FIELDS + (STATUS_OUT,)


class FileError(ValueError):
    pass


def load_file(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def connector_spec(doc) -> tuple[dict, str, str, str]:
    """(the file's connector section, its id, kind and agency), or a FileError."""
    try:
        spec = doc["connector"]
        return spec, spec["id"], spec["kind"], spec["agency"]
    except (KeyError, TypeError):
        raise FileError(
            "the file needs connector.id, connector.kind and connector.agency") from None


def secrets_from_env(spec: dict) -> dict:
    """The credentials the file names by environment variable (`secrets_env`) and the
    environment holds."""
    return {name: os.environ[env] for name, env in (spec.get("secrets_env") or {}).items()
            if os.environ.get(env)}


def import_document(session, doc: dict, *, secrets: dict | None = None, who="import") -> Connector:
    spec, cid, kind, agency = connector_spec(doc)
    if kind not in registry.kinds():
        raise FileError(f"unknown connector kind '{kind}' (known: "
                        f"{', '.join(registry.kinds())})")
    if session.get(Agency, agency) is None:
        raise FileError(f"unknown agency '{agency}'")
    # Where it may reach first: a refused destination is the answer that matters most.
    vet_destination(kind, agency, spec.get("config", {}))
    check_config(kind, spec.get("config", {}))
    system = source_systems.normalise(spec.get("system", cid))
    try:  # the connector's system is its agency's from now on
        source_systems.claim(session, system, agency)
    except Problem as problem:
        raise FileError(problem.detail) from None
    conn = session.get(Connector, cid)
    if conn is None:
        conn = Connector(id=cid, agency_code=agency, kind=kind, outbound_seq=0,
                         failure_streak=0, paused=False)
        session.add(conn)
    elif conn.agency_code != agency:
        raise FileError(f"connector '{cid}' belongs to agency '{conn.agency_code}'")
    conn.kind, conn.name = kind, spec.get("name", cid)
    conn.system = system
    conn.config = spec.get("config", {})
    conn.interval_seconds = int(spec.get("interval_seconds", 60))
    conn.lookback_seconds = int(spec.get("lookback_seconds", 300))
    from hub.sync import reconcile
    try:
        every = reconcile.parse_every(spec["reconcile_every"]) if "reconcile_every" in spec \
            else reconcile.default_every(kind, conn.config)
    except ValueError as exc:
        raise FileError(f"connector.{exc}") from None
    reconcile.schedule(conn, every)
    values = unseal(conn.secrets)
    values.update(secrets_from_env(spec))
    values.update(secrets or {})
    conn.secrets = seal(values) if values else None
    session.flush()
    replace_mappings(session, conn.id, doc.get("mappings") or {}, who)
    return conn


def check_config(kind: str, config) -> None:
    """Refuse a configuration its kind's schema does not describe, naming every key."""
    from hub.sync import manifest
    found = manifest.problems(kind, config)
    if found:
        raise FileError("the connector's configuration is not valid:\n  " +
                        "\n  ".join(found))


def vet_destination(kind: str, agency: str, config) -> None:
    """Refuse, before anything is written, a configuration reaching what the operator does
    not allow (hub.sync.destinations): a file is tenant input like any form."""
    from connectors.base import ConnectorError
    from hub.sync.destinations import prepare
    try:
        prepare(kind, agency, config, resolve=True)
    except ConnectorError as exc:
        raise FileError(f"connector.config: {exc}") from None


def replace_mappings(session, connector_id: str, tables: dict, who: str) -> None:
    unknown = set(tables) - set(FIELDS)
    if unknown:
        raise FileError(f"unknown mapping tables {sorted(unknown)}; use {', '.join(FIELDS)}")
    session.execute(sa.delete(Mapping).where(Mapping.connector_id == connector_id,
                                             Mapping.field.in_(list(tables))))
    for field, table in tables.items():
        for local, hub in (table or {}).items():
            session.add(Mapping(connector_id=connector_id, field=field, local_value=str(local),
                                hub_value=str(hub), updated_by=who, updated_at=utcnow()))
    session.flush()


def export_document(session, connector_id: str) -> dict:
    conn = session.get(Connector, connector_id)
    tables: dict = {f: {} for f in FIELDS}
    for m in session.execute(sa.select(Mapping).where(Mapping.connector_id == connector_id)
                             .order_by(Mapping.field, Mapping.local_value)).scalars():
        tables[m.field][m.local_value] = m.hub_value
    return {"connector": {"id": conn.id, "agency": conn.agency_code, "kind": conn.kind,
                          "name": conn.name, "system": conn.system,
                          "interval_seconds": conn.interval_seconds,
                          "lookback_seconds": conn.lookback_seconds,
                          "reconcile_every": _period(conn.reconcile_seconds),
                          "config": conn.config},
            "mappings": {f: t for f, t in tables.items() if t}}


def _period(seconds: int | None) -> str:
    if not seconds:
        return "off"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def dump_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
