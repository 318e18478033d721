"""Field paths and value conversion shared by the declarative connectors.

A field spec is either a dotted path into the local record ("pelapor.nama") or a mapping
{path, map?, default?, type?}: `map` translates literal values (e.g. true -> public),
`type` converts (datetime, date, bool, str, float). Instead of `path`: `const` (a fixed
value), `template` ("{bupatiStatus}/{opdStatus}": several local fields read as one) or
`parent_path` (a field of the record that holds this one, e.g. a follow-up's complaint).
"""
import functools
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from connectors.base import ConnectorError

_MISSING = object()


def get_path(data, path: str, default=None):
    return _walk(data, path.split("."), default)


def _walk(data, parts, default=None):
    current = data
    for part in parts:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def set_path(target: dict, path: str, value) -> None:
    if "." not in path:  # most hub fields are top-level: no split, no walk
        target[path] = value
        return
    *parents, last = _split(path)
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


@functools.lru_cache(maxsize=1024)  # a connector's few field names, for every record
def _split(path: str) -> tuple:
    return tuple(path.split("."))


def parse_datetime(value, tz: str | None):
    """Offsets are required; a naive value is accepted only when the connector declares
    the local system's time zone (`timezone:` in its config). Never guessed."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:  # a bare date: midnight local time
                parsed = datetime.combine(datetime.fromisoformat(text).date(), time())
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{text}' is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        if not tz:
            raise ValueError(f"timestamp '{value}' has no UTC offset and the connector "
                             "declares no timezone")
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed


def _value_map(spec: dict) -> dict | None:
    if "map" not in spec:
        return None
    return {str(k).lower() if isinstance(k, bool) else k: v for k, v in spec["map"].items()}


def convert(value, spec: dict, tz: str | None, value_map: dict | None = None):
    if "map" in spec and value is not None:
        key = value if not isinstance(value, bool) else str(value).lower()
        mapping = value_map if value_map is not None else _value_map(spec)
        value = mapping.get(key, mapping.get(str(key), value))
    kind = spec.get("type")
    if value is None:
        return None
    if kind == "datetime":
        return parse_datetime(value, tz)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "ya", "yes", "y")
    if kind == "str":
        return str(value)
    if kind == "float":
        return float(value)
    return value


class Extractor:
    """extract() with the field specs read once: paths split and value maps built when
    the connector starts, not again for every field of every record of a backfill."""

    def __init__(self, fields: dict, tz: str | None):
        self.tz = tz
        self.fields = []
        for hub_field, spec in fields.items():
            if isinstance(spec, str):
                spec = {"path": spec}
            if "const" in spec or "template" in spec:
                parts = None
            elif "parent_path" in spec:
                parts = ("^",) + tuple(spec["parent_path"].split("."))
            elif "path" in spec:
                parts = tuple(spec["path"].split("."))
            else:
                raise ConnectorError(f"field {hub_field}: give path, parent_path, template "
                                     "or const", retryable=False)
            self.fields.append((hub_field, spec, parts, _value_map(spec)))

    def __call__(self, record: dict, parent=None) -> dict:
        out = {}
        for hub_field, spec, parts, value_map in self.fields:
            if parts is None:
                value = spec["const"] if "const" in spec else \
                    fill(spec["template"], record)
            elif parts[0] == "^":
                value = _walk(parent, parts[1:], _MISSING)
            elif len(parts) == 1 and type(record) is dict:  # the common flat field
                value = record.get(parts[0], _MISSING)
            else:
                value = _walk(record, parts, _MISSING)
            if value is _MISSING:
                value = spec.get("default")
            if value_map is None and "type" not in spec:
                out[hub_field] = value  # nothing to convert: convert() would return it
                continue
            try:
                out[hub_field] = convert(value, spec, self.tz, value_map)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{hub_field}: {exc}") from None
        return out


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def fill(template: str, record) -> str:
    """A template over a local record's fields: "{a}/{b.c}"; a missing field reads ""."""
    def one(match):
        value = get_path(record, match.group(1).strip())
        return "" if value is None else str(value)
    return _PLACEHOLDER.sub(one, template)


def extract(record: dict, fields: dict, tz: str | None) -> dict:
    """Local record -> {hub dotted field: value} per the connector's field specs."""
    return Extractor(fields, tz)(record)


def render(template, values: dict):
    """Fill a write template: strings "{field}" take values (dotted names allowed);
    dicts and lists are filled recursively; a whole-string placeholder keeps the type."""
    if isinstance(template, dict):
        return {k: render(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, values) for v in template]
    if isinstance(template, str) and template.startswith("{") and template.endswith("}") \
            and template.count("{") == 1:
        return values.get(template[1:-1])
    if isinstance(template, str):
        try:
            return template.format_map(_Dotted(values))
        except (KeyError, ValueError) as exc:
            raise ConnectorError(f"write template {template!r}: {exc}", retryable=False) from exc
    return template


class _Dotted(dict):
    def __missing__(self, key):
        return ""
