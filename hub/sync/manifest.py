"""Checking a connector's configuration whole, before anything is saved or run: the
kind's JSON Schema (connectors/<kind>.py CONFIG_SCHEMA, built from the declarative parts'
schemas) and, for the field maps, the hub's own field names. Every problem names its key
(`connector.config.streams.reports.list.pagniation`), so an integrator fixes the file
without reading code. Used by `hub connector import`, `hub connector check` and the
connector form alike."""
from types import SimpleNamespace

import jsonschema

from connectors.base import DEFAULTS_SCHEMA
from hub.schemas.reports import (
    LocationSchema,
    PrivacySchema,
    ReporterSchema,
    ResponseInSchema,
    SourceReportInSchema,
)
from hub.sync import registry

# The hub fields a stream's `fields` may fill: what the source upsert and the response
# take, plus the record's identity and the mapped words (unit -> the agency).
_NESTED = {"location": LocationSchema, "privacy": PrivacySchema, "reporter": ReporterSchema}
_IDENTITY = {"external_id", "updated_at"}
HUB_FIELDS = {
    "reports": _IDENTITY | {"unit"} | {
        name for name in SourceReportInSchema().fields
        if name not in ("agency", "source_updated_at", *_NESTED)} | {
        f"{outer}.{inner}" for outer, schema in _NESTED.items() for inner in schema().fields},
    "responses": _IDENTITY | {"report_external_id"} | {
        name for name in ResponseInSchema().fields if name != "external_ref"},
}


def _key(path) -> str:
    return ".".join(["connector", "config", *[str(p) for p in path]])


def problems(kind: str, config) -> list[str]:
    """What is wrong with `config` for a connector of `kind`, each naming its key; []
    when it is well-formed (whether it can reach its system is another question)."""
    kinds = registry.kinds()
    if kind not in kinds:
        return [f"connector.kind: unknown kind '{kind}' (known: {', '.join(sorted(kinds))})"]
    if not isinstance(config, dict):
        return ["connector.config: expected a mapping of settings"]
    schema = {k: v for k, v in kinds[kind][1].items() if k != "secrets"}
    # Hub fields the local system never has: the sync applies them for every kind.
    schema["properties"] = {"defaults": DEFAULTS_SCHEMA, **schema.get("properties", {})}
    config = _unset_nulls(config)
    out = []
    for err in sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                      key=lambda e: list(map(str, e.absolute_path))):
        out.append(f"{_key(err.absolute_path)}: {_message(err)}")
    for stream, spec in (config.get("streams") or {}).items():
        allowed = HUB_FIELDS.get(stream)
        if allowed is None or not isinstance(spec, dict) or \
                not isinstance(spec.get("fields"), dict):
            continue
        for name in spec["fields"]:
            if name not in allowed:
                out.append(f"{_key(['streams', stream, 'fields', name])}: not a hub field "
                           f"of {stream} (known: {', '.join(sorted(allowed))})")
    return out


def _unset_nulls(value):
    """`key: null` in a file means the key is not set (its default applies)."""
    if isinstance(value, dict):
        return {k: _unset_nulls(v) for k, v in value.items() if v is not None}
    return value


def _message(err) -> str:
    if err.validator == "additionalProperties":
        unknown = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        known = ", ".join(sorted(err.schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, unknown))} (known: {known})"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator in ("oneOf", "anyOf") and err.context:
        # The branch that fits the value's kind says what is wrong inside it.
        fitting = [e for e in err.context if e.validator != "type"] or list(err.context)
        return _message(min(fitting, key=lambda e: len(e.absolute_path)))
    return err.message


def preview(connector, mappings: dict, per_stream: int = 3) -> dict:
    """The first page of every stream the connector reads, without writing anything:
    {stream: {"read", "rejected", "incomplete", "samples": [record fields...],
    "unmapped": {field: [local values]}}}; a stream that cannot be read has "error"."""
    from connectors.base import ConnectorError
    from hub.sync.mapping import REPORT_FIELDS, MappingSet
    table = MappingSet([SimpleNamespace(field=field, local_value=str(local), hub_value=str(hub))
                        for field, values in (mappings or {}).items()
                        for local, hub in (values or {}).items()])
    out = {}
    for stream in connector.streams:
        try:
            page = next(iter(connector.read(stream, None)), None)
        except ConnectorError as exc:
            out[stream] = {"error": str(exc)}
            continue
        records = page.records if page else []
        unmapped: dict = {}
        if stream == "reports":
            for rec in records:
                for field in REPORT_FIELDS:
                    value = rec.fields.get(field)
                    if value not in (None, "") and table.lookup(field, value) is None:
                        unmapped.setdefault(field, set()).add(str(value))
        out[stream] = {
            "read": len(records), "rejected": [why for _, why in (page.rejected if page else [])],
            "incomplete": list(page.incomplete) if page else [],
            "samples": [{"external_id": r.external_id, "updated_at": r.updated_at,
                         **r.fields} for r in records[:per_stream]],
            "unmapped": {k: sorted(v) for k, v in unmapped.items()}}
    return out
