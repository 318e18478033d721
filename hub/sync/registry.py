"""Connector kinds: each is one module in connectors/ exposing CONNECTOR (the class) and
CONFIG_SCHEMA (a JSON schema of its config, which the UI renders as a form)."""
import importlib

from hub.sync.secrets import unseal

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
    try:
        cls, _ = kinds()[row.kind]
    except KeyError:
        raise ValueError(f"unknown connector kind '{row.kind}'") from None
    return cls(row.config, unseal(row.secrets))
