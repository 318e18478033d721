"""Opaque keyset cursors: base64url of a small JSON array of the last row's sort key."""
import base64
import json

from hub.errors import Problem


def encode(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def invalid() -> Problem:
    return Problem(400, "Invalid cursor", "The cursor is not one this hub issued; start "
                   "again without a cursor or use next_cursor as returned.",
                   slug="invalid-cursor")


def decode(cursor: str | None, arity: int) -> list | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        return values
    except ValueError:
        raise invalid() from None
