"""Input fields that refuse what the database would choke on, with actionable messages."""
import datetime as dt
import re

from marshmallow import ValidationError, fields

from hub.errors import NAIVE_TIMESTAMP

_SURROGATE = re.compile("[\ud800-\udfff]")


class Text(fields.String):
    """A string that refuses NUL bytes and lone surrogates: PostgreSQL text cannot hold
    NUL, and a lone surrogate (valid JSON as a \\ud800 escape) cannot be encoded as
    UTF-8 at all, so the driver would fail with a 500 on the insert."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(value)
        if problem is not None:
            raise ValidationError(problem)
        return value


def text_problem(value: str) -> str | None:
    """Why a str cannot be stored as PostgreSQL text, or None (Text and the fast load
    path share it)."""
    if "\x00" in value:
        return "must not contain NUL (\\u0000) characters"
    if not value.isascii() and _SURROGATE.search(value):
        return ("must not contain unpaired UTF-16 surrogates (\\ud800-\\udfff); "
                "send valid Unicode")
    return None


OUT_OF_RANGE = "timestamp is out of range (years 1 to 9999 in UTC)"


class Timestamp(fields.DateTime):
    """RFC 3339 with a mandatory offset; converted to UTC. Naive input is a 400."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 64:
            raise ValidationError("must be an RFC 3339 timestamp string")
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.tzinfo is None or result.utcoffset() is None:
            raise ValidationError(NAIVE_TIMESTAMP)
        try:
            return result.astimezone(dt.timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC: not a 500
            raise ValidationError(OUT_OF_RANGE) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        value = value.astimezone(dt.timezone.utc)
        return value.isoformat().replace("+00:00", "Z")


class Choice(fields.String):
    """An enum string whose error lists the allowed values."""

    def __init__(self, choices, **kwargs):
        self.choices = tuple(choices)
        super().__init__(metadata={"enum": list(self.choices), **kwargs.pop("metadata", {})},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in self.choices:
            raise ValidationError(f"must be one of: {', '.join(self.choices)}")
        return value
