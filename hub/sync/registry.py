"""Connector kinds: each is one module in connectors/ exposing CONNECTOR (the class) and
CONFIG_SCHEMA (a JSON schema of its config, which the UI renders as a form)."""
import importlib

from hub.services.secrets import unseal

KINDS = {
    "rest": "connectors.rest",
    "open311": "connectors.open311",
    "spreadsheet": "connectors.spreadsheet",
    "sql": "connectors.sqlview",
    "lapor": "connectors.lapor",
}


def kinds() -> dict:
    """{kind: (class, config schema)} for every kind whose module is installed."""
    found = {}
    for kind, module_name in KINDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        found[kind] = (module.CONNECTOR, module.CONFIG_SCHEMA)
    return found


def build(row):
    return build_from(row.kind, row.agency_code, row.config, unseal(row.secrets))


def build_from(kind: str, agency: str, config: dict, secrets: dict | None = None, *,
               resolve: bool = False):
    """A connector of `kind` for `agency`, within what the operator allows it to reach
    (hub.sync.destinations); a ConnectorError says what is refused."""
    from hub.sync import destinations
    try:
        cls, _ = kinds()[kind]
    except KeyError:
        raise ValueError(f"unknown connector kind '{kind}'") from None
    config, secrets, extra = destinations.prepare(kind, agency, config, secrets,
                                                  resolve=resolve)
    return cls(config, secrets, **extra)
