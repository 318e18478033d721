"""A fast path for marshmallow loads of well-formed input, derived from the schema.

A backfill validates every record with the same schema, and marshmallow's general
machinery (error stores, getters, validator wrappers, per-field hooks) cost a quarter of
the per-record time. `FastLoad(schema).load(data)` runs a function generated from the
schema's declared fields, with cheap checks for the common field types; whenever anything is unusual
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
    """A function data -> result or DEFER, or None if this schema is not eligible.

    The function is generated as Python source, one block of plain statements per field
    (see _FieldCode), and compiled once per schema: a generic loop over field specs, with
    a call per check, cost more than the checks themselves (14 -> 4 us per report)."""
    if schema.many or schema.partial or schema.unknown not in (RAISE, EXCLUDE) or \
            any(schema._hooks.values()):
        return None
    code = _FieldCode()
    keys = set()
    body = []
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        if "." in attribute:  # marshmallow nests dotted attributes: leave it to it
            return None
        keys.add(key)
        body += code.field(key, attribute, field)
    head = ["def load(data):", "    if type(data) is not dict:", "        return DEFER"]
    if schema.unknown == RAISE:
        head += ["    if not data.keys() <= KEYS:", "        return DEFER"]
        code.names["KEYS"] = frozenset(keys)
    source = "\n".join([*head, "    out = {}", *body, "    return out", ""])
    namespace = dict(code.names)
    exec(compile(source, f"<fast load of {type(schema).__name__}>", "exec"), namespace)
    load = namespace["load"]
    load.source = source  # to read what was generated
    return load


class _FieldCode:
    """Source lines per field, doing what Field.deserialize does on input it accepts and
    `return DEFER` on anything else. Constants and helpers go into self.names."""

    def __init__(self):
        self.names = {"DEFER": DEFER, "MISSING": missing, "ValidationError": ValidationError,
                      "text_problem": text_problem, "timestamp": _timestamp,
                      "finite_float": _finite_float, "passes": _passes}

    def name(self, value, prefix: str) -> str:
        name = f"{prefix}{len(self.names)}"
        self.names[name] = value
        return name

    def field(self, key: str, attribute: str, field) -> list[str]:
        k, a = repr(key), repr(attribute)
        lines = [f"    v = data.get({k}, MISSING)"]
        check = self.check(field)
        if check is None:
            # The field itself for types without a cheap check (also None and missing
            # when the field has pre_load processors).
            f = self.name(field, "FIELD")
            if not field.pre_load:
                lines += ["    if v is MISSING:", *self.missing(field, a), "    else:"]
            else:
                lines += ["    if True:"]
            return lines + ["        try:", f"            v = {f}.deserialize(v, {k}, data)",
                            "        except ValidationError:", "            return DEFER",
                            "        if v is not MISSING:", f"            out[{a}] = v"]
        lines += ["    if v is MISSING:", *self.missing(field, a), "    elif v is None:"]
        lines += [f"        out[{a}] = None"] if field.allow_none else \
            ["        return DEFER"]
        return lines + ["    else:", *("        " + line for line in check),
                        f"        out[{a}] = v"]

    def missing(self, field, a: str) -> list[str]:
        """What Field.deserialize does with a missing value, without the call."""
        if field.required:
            return ["        return DEFER"]
        default = field.load_default
        if default is missing:
            return ["        pass"]
        d = self.name(default, "DEFAULT")
        return [f"        out[{a}] = {d}()" if callable(default) else f"        out[{a}] = {d}"]

    def check(self, field) -> list[str] | None:
        """Lines taking v (not None, not missing) to its loaded value or returning DEFER;
        None when this field has no cheap check."""
        if field.pre_load or field.post_load:
            return None
        kind = type(field)
        if kind is Text:
            lines = ["if type(v) is not str or text_problem(v) is not None:",
                     "    return DEFER"]
        elif kind is Choice:
            c = self.name(frozenset(field.choices), "CHOICES")
            lines = [f"if type(v) is not str or v not in {c}:", "    return DEFER"]
        elif kind is fields.String or kind is fields.Email:
            # Email is a String whose address check is one of its validators (below).
            lines = ["if type(v) is not str:", "    return DEFER"]
        elif kind is fields.Raw:
            lines = []  # Raw takes any value as it is
        elif kind is fields.Dict and field.key_field is None and field.value_field is None:
            lines = ["if type(v) is not dict:", "    return DEFER", "v = dict(v)"]  # a copy
        elif kind is Timestamp and field.format == "iso" and \
                fields.DateTime.DESERIALIZATION_FUNCS.get("iso") == dt.datetime.fromisoformat:
            # (a bound classmethod is a new object on each access: ==, not is)
            lines = ["v = timestamp(v)", "if v is DEFER:", "    return DEFER"]
        elif kind is fields.Boolean:
            # Only the JSON booleans, and only if this field reads them as themselves.
            same = self.name(frozenset(v for v in (True, False)
                                       if _reads_as_itself(field, v)), "BOOLEANS")
            lines = [f"if (v is not True and v is not False) or v not in {same}:",
                     "    return DEFER"]
        elif kind is fields.Float and field.allow_nan is False:
            lines = ["v = finite_float(v)", "if v is DEFER:", "    return DEFER"]
        elif kind is fields.Nested:
            if field.many or field.only is not None or field.exclude or \
                    field.unknown is not None:
                return None
            nested = _compile(field.schema)
            if nested is None:
                return None
            n = self.name(nested, "NESTED")
            lines = ["if type(v) is not dict:", "    return DEFER", f"v = {n}(v)",
                     "if v is DEFER:", "    return DEFER"]
        else:
            return None
        for validator in field.validators:
            lines += self.validator(validator)
        return lines

    def validator(self, validator) -> list[str]:
        """Lines returning DEFER when the validator would raise."""
        kind = type(validator)
        if kind is validate.Length:
            if validator.equal is not None:
                test = f"len(v) != {validator.equal!r}"
            else:
                tests = ([f"len(v) < {validator.min!r}"] if validator.min is not None
                         else []) + ([f"len(v) > {validator.max!r}"]
                                     if validator.max is not None else [])
                test = " or ".join(tests) or "False"
        elif kind is validate.Range:
            tests = []
            if validator.min is not None:
                low = self.name(validator.min, "LOW")
                tests.append(f"v {'<' if validator.min_inclusive else '<='} {low}")
            if validator.max is not None:
                high = self.name(validator.max, "HIGH")
                tests.append(f"v {'>' if validator.max_inclusive else '>='} {high}")
            test = " or ".join(tests) or "False"
        elif kind is validate.Regexp and type(validator.regex.pattern) is str:
            # Regexp.__call__ refuses exactly when its pattern does not match.
            match = self.name(validator.regex.match, "MATCH")
            test = f"{match}(v) is None"
        else:
            check = self.name(validator, "VALIDATOR")
            test = f"not passes({check}, v)"
        return [f"if {test}:", "    return DEFER"]


def _reads_as_itself(field, value) -> bool:
    try:
        return field._deserialize(value, None, None) is value
    except ValidationError:
        return False


def _timestamp(value, parse=dt.datetime.fromisoformat, utc=dt.timezone.utc):
    """Timestamp._deserialize on a value it accepts: marshmallow parses "iso" with
    datetime.fromisoformat; an offset is required and the result is in UTC."""
    if type(value) is not str or len(value) > 64:
        return DEFER
    try:
        result = parse(value)
    except ValueError:
        return DEFER
    # fromisoformat gives either no tzinfo or a fixed datetime.timezone, whose utcoffset
    # is never None: the tzinfo alone says naive, without building the offset.
    if result.tzinfo is None:
        return DEFER  # naive: the 400 with its own message
    try:
        return result.astimezone(utc)
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


def _passes(validator, value) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True
