"""Connector kinds: each is one module in connectors/, built from a Connector row."""
from hub.sync.secrets import unseal


def kinds() -> dict:
    from connectors.rest import CONFIG_SCHEMA as REST_SCHEMA, RestConnector
    return {"rest": (RestConnector, REST_SCHEMA)}


def build(row):
    try:
        cls, _ = kinds()[row.kind]
    except KeyError:
        raise ValueError(f"unknown connector kind '{row.kind}'")
    return cls(row.config, unseal(row.secrets))
