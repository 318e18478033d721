"""Opaque keyset cursors: base64url of a small JSON array of the last row's sort key.

A cursor comes back from the caller, so it is input like any other: decode() checks each
value against the kind of key it must be (a 64-bit row number, a timestamp with offset,
a UUID) and anything else, hand-made or corrupted, is the same 400 invalid-cursor, never
a value the database rejects with a 500.
"""
import base64
import json
import uuid
from datetime import datetime, timezone

from hub.errors import Problem

BIGINT_MIN, BIGINT_MAX = -2 ** 63, 2 ** 63 - 1


def encode(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid() -> Problem:
    return Problem(400, "Invalid cursor", "The cursor is not one this hub issued; start "
                   "again without a cursor or use next_cursor as returned.",
                   slug="invalid-cursor")


def seq(value) -> int:
    """A row id or event sequence number (a PostgreSQL bigint)."""
    if type(value) is not int or not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError("not a 64-bit integer")
    return value


def timestamp(value) -> datetime:
    """A timestamp as the hub writes it: ISO 8601 with an offset (ours carry +00:00)."""
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp without offset")
    # In UTC, as the database compares it: 0001-01-01T00:00+14:00 has no UTC year.
    return parsed.astimezone(timezone.utc)


def uuid_key(value) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError("not a UUID")
    return uuid.UUID(value)


def decode(cursor: str | None, *kinds) -> tuple | None:
    """The cursor's values, each converted by its kind (seq, timestamp, uuid_key), or
    None without a cursor. Raises the invalid-cursor problem for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(kind(value) for kind, value in zip(kinds, values, strict=False))
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise invalid() from None
