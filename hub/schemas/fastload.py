"""A fast path for marshmallow loads of well-formed input, derived from the schema.

A backfill validates every record with the same schema, and marshmallow's general
machinery (error stores, getters, validator wrappers, per-field hooks) cost a quarter of
the per-record time. `FastLoad(schema).load(data)` walks the schema's declared fields once
per record with cheap checks for the common field types; whenever anything is unusual
(an unknown key, a missing required field, a wrong type, a value a validator refuses) it
*defers* and calls the schema's own `load`, so a load either returns exactly what
marshmallow returns or raises marshmallow's own ValidationError. Fields the fast path
has no cheap check for are deserialised by the field object itself, which is what
marshmallow does too. Schemas with hooks (pre/post_load, validates) always defer.
tests/schemas/test_fastload.py checks the equivalence on generated input.
"""
import datetime as dt
import math

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate

from hub.schemas.fields import Choice, Text, Timestamp, text_problem

DEFER = object()  # "ask marshmallow": the fast path found something it does not settle


class FastLoad:
    def __init__(self, schema: Schema):
        self.schema = schema
        self._fast = _compile(schema)

    def load(self, data):
        """What self.schema.load(data) returns; raises its ValidationError on bad input."""
        if self._fast is not None:
            result = self._fast(data)
            if result is not DEFER:
                return result
        return self.schema.load(data)

    def validate(self, data) -> dict:
        """What self.schema.validate(data) returns: {} or the error messages."""
        if self._fast is not None and self._fast(data) is not DEFER:
            return {}
        return self.schema.validate(data)

    def fast_result(self, data):
        """The fast path alone (DEFER when it would hand over): for the tests."""
        return DEFER if self._fast is None else self._fast(data)


def _compile(schema: Schema):
    """A function data -> result or DEFER, or None if this schema is not eligible."""
    if schema.many or schema.partial or schema.unknown not in (RAISE, EXCLUDE) or \
            any(schema._hooks.values()):
        return None
    specs, keys = [], set()
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        if "." in attribute:  # marshmallow nests dotted attributes: leave it to it
            return None
        keys.add(key)
        specs.append((key, attribute, field, _converter(field)))
    keys = frozenset(keys)
    raise_unknown = schema.unknown == RAISE

    def load(data):
        if type(data) is not dict or (raise_unknown and not data.keys() <= keys):
            return DEFER
        out = {}
        for key, attribute, field, convert in specs:
            value = data.get(key, missing)
            if value is missing and not field.pre_load:
                # What Field.deserialize does with a missing value, without the call.
                if field.required:
                    return DEFER
                default = field.load_default
                if default is not missing:
                    out[attribute] = default() if callable(default) else default
                continue
            if convert is None:
                # The field itself for types without a cheap check.
                try:
                    value = field.deserialize(value, key, data)
                except ValidationError:
                    return DEFER
                if value is not missing:
                    out[attribute] = value
                continue
            if value is None:
                if not field.allow_none:
                    return DEFER
                out[attribute] = None
                continue
            value = convert(value)
            if value is DEFER:
                return DEFER
            out[attribute] = value
        return out

    return load


def _converter(field):
    """value (not None, not missing) -> deserialised value or DEFER; None when this field
    has no cheap check (it is deserialised by field.deserialize)."""
    if field.pre_load or field.post_load:
        return None
    kind = type(field)
    if kind is Text:
        base = _text
    elif kind is Choice:
        choices = frozenset(field.choices)
        base = lambda v: v if type(v) is str and v in choices else DEFER  # noqa: E731
    elif kind is fields.String or kind is fields.Email:
        # Email is a String whose address check is one of its validators (below).
        base = lambda v: v if type(v) is str else DEFER  # noqa: E731
    elif kind is fields.Raw:
        base = lambda v: v  # noqa: E731  (Raw takes any value as it is)
    elif kind is fields.Dict and field.key_field is None and field.value_field is None:
        base = lambda v: dict(v) if type(v) is dict else DEFER  # noqa: E731  (a copy, as Dict)
    elif kind is Timestamp and field.format == "iso" and \
            fields.DateTime.DESERIALIZATION_FUNCS.get("iso") == dt.datetime.fromisoformat:
        base = _timestamp
    elif kind is fields.Boolean:
        # Only the JSON booleans, and only if this field reads them as themselves.
        same = {v for v in (True, False) if _reads_as_itself(field, v)}
        base = lambda v: v if (v is True or v is False) and v in same else DEFER  # noqa: E731
    elif kind is fields.Float and field.allow_nan is False:
        base = _finite_float
    elif kind is fields.Nested:
        if field.many or field.only is not None or field.exclude or \
                field.unknown is not None:
            return None
        nested = _compile(field.schema)
        if nested is None:
            return None
        base = lambda v: nested(v) if type(v) is dict else DEFER  # noqa: E731
    else:
        return None
    return _with_validators(base, field.validators)


def _reads_as_itself(field, value) -> bool:
    try:
        return field._deserialize(value, None, None) is value
    except ValidationError:
        return False


def _text(value):
    return value if type(value) is str and text_problem(value) is None else DEFER


def _timestamp(value):
    """Timestamp._deserialize on a value it accepts: marshmallow parses "iso" with
    datetime.fromisoformat; an offset is required and the result is in UTC."""
    if type(value) is not str or len(value) > 64:
        return DEFER
    try:
        result = dt.datetime.fromisoformat(value)
    except ValueError:
        return DEFER
    if result.utcoffset() is None:
        return DEFER  # naive: the 400 with its own message
    try:
        return result.astimezone(dt.timezone.utc)
    except OverflowError:
        return DEFER  # beyond year 1 or 9999 in UTC: its message


def _finite_float(value):
    if type(value) is not float and type(value) is not int:
        return DEFER  # bools, strings: marshmallow's messages
    try:
        number = float(value)
    except OverflowError:
        return DEFER
    return number if math.isfinite(number) else DEFER


def _with_validators(base, validators):
    if not validators:
        return base
    checks = []
    for validator in validators:
        if type(validator) is validate.Length:
            low, high, equal = validator.min, validator.max, validator.equal
            checks.append(lambda v, low=low, high=high, equal=equal: (
                len(v) == equal if equal is not None else
                (low is None or len(v) >= low) and (high is None or len(v) <= high)))
        elif type(validator) is validate.Range:
            checks.append(lambda v, r=validator: _in_range(v, r))
        elif type(validator) is validate.Regexp and type(validator.regex.pattern) is str:
            # Regexp.__call__ refuses exactly when its pattern does not match.
            checks.append(lambda v, match=validator.regex.match: match(v) is not None)
        else:
            checks.append(lambda v, check=validator: _passes(check, v))

    def convert(value):
        value = base(value)
        if value is DEFER:
            return DEFER
        for check in checks:
            if not check(value):
                return DEFER
        return value

    return convert


def _in_range(value, r) -> bool:
    if r.min is not None and (value < r.min if r.min_inclusive else value <= r.min):
        return False
    if r.max is not None and (value > r.max if r.max_inclusive else value >= r.max):
        return False
    return True


def _passes(validator, value) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
