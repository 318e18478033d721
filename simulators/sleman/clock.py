"""The simulator's clock: WIB (+07:00) timestamps of fixed width, shiftable for skew tests.

Timestamps are stored as text in one fixed format, so text order is time order.
"""
from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7))
PRECISIONS = {"seconds": timedelta(seconds=1), "milliseconds": timedelta(milliseconds=1)}


class Clock:
    def __init__(self, precision: str = "seconds"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self.unit = PRECISIONS[precision]
        self.offset = timedelta()
        # Some local systems stamp a change with their wall clock alone: set back, the
        # clock then stamps a later change before an earlier one.
        self.monotonic = True

    def _truncate(self, dt: datetime) -> datetime:
        if self.precision == "seconds":
            return dt.replace(microsecond=0)
        return dt.replace(microsecond=dt.microsecond // 1000 * 1000)

    def now(self) -> datetime:
        return self._truncate(datetime.now(WIB) + self.offset)

    def fmt(self, dt: datetime) -> str:
        dt = dt.astimezone(WIB)
        if self.precision == "seconds":
            return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+07:00"
        return dt.isoformat(timespec="milliseconds")

    def stamp(self) -> str:
        return self.fmt(self.now())

    def after(self, previous: str | None) -> str:
        """Now, or one unit after `previous` if the clock has not moved past it: a record's
        diperbarui_pada strictly increases on every change, even with the clock set back
        (unless `monotonic` is off)."""
        now = self.now()
        if previous and self.monotonic:
            prev = parse(previous)
            if now <= prev:
                now = prev + self.unit
        return self.fmt(now)

    def cutoff(self, text: str) -> str:
        """An `updated_since` value as a stored-format string for a >= comparison. Naive
        times are read as WIB; a fraction finer than the precision rounds up."""
        dt = parse(text)
        truncated = self._truncate(dt)
        if truncated < dt:
            truncated += self.unit
        return self.fmt(truncated)


def parse(text: str) -> datetime:
    if not isinstance(text, str) or len(text) < 10:
        raise ValueError(f"not a timestamp: {text!r}")
    text = text.strip()
    # An unencoded '+' in a query string arrives as a space: "...T10:00:00 07:00".
    if "T" in text and len(text) > 19 and text[-6] == " " and text[-3] == ":":
        text = text[:-6] + "+" + text[-5:]
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=WIB)
    return dt.astimezone(WIB)
