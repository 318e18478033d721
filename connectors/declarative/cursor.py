"""Incremental cursor: how the changed-since value is written in the local system's words.

The hub keeps a stream's cursor as ISO 8601 in UTC. Local systems take it in their own
form: `2024-01-12 10:00:00+0700` (a strftime pattern in their time zone), epoch seconds or
milliseconds, a bare date. One that cannot parse ISO 8601 answers every incremental read
with an error, so the form is configured per stream, never assumed.
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import ConnectorError

NAMED = ("iso8601", "epoch_seconds", "epoch_ms", "date")


def check(fmt: str | None, tz: str | None, where: str) -> None:
    """Refuse a bad format or zone when the connector is built, not on the first run."""
    if fmt is not None and (not isinstance(fmt, str) or (fmt not in NAMED and "%" not in fmt)):
        raise ConnectorError(f"{where}: since_format must be one of {', '.join(NAMED)} or a "
                             f"strftime pattern such as '%Y-%m-%d %H:%M:%S%z', not {fmt!r}",
                             retryable=False)
    if tz:
        _zone(tz, where)


def _zone(tz: str, where: str):
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConnectorError(f"{where}: unknown time zone {tz!r} (use an IANA name such as "
                             "Asia/Jakarta)", retryable=False) from None


def format_since(since: str, fmt: str | None, tz: str | None, where: str = "since") -> str:
    """The stored cursor (ISO 8601) as the local system's since parameter."""
    if not fmt or fmt == "iso8601":
        return since
    stamp = datetime.fromisoformat(since)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    if fmt == "epoch_seconds":
        return str(int(stamp.timestamp()))
    if fmt == "epoch_ms":
        return str(int(stamp.timestamp() * 1000))
    local = stamp.astimezone(_zone(tz, where) if tz else timezone.utc)
    if fmt == "date":
        # A day boundary: the whole day is read again, which the upsert makes harmless.
        return local.date().isoformat()
    return local.strftime(fmt)
