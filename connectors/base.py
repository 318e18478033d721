"""The one small interface every connector implements.

A connector knows how to talk to one kind of local system (a REST/JSON app, an Open311
server, a spreadsheet, a SQL view, SP4N-LAPOR! itself). It knows nothing about the hub's
database: it reads pages of local records since a cursor and writes hub changes out. The
sync engine (hub/sync) maps the records, upserts them, and saves the cursor in the same
transaction as the records the page covers (Airbyte/Singer style).
"""
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator, Protocol


class ConnectorError(Exception):
    """The local system failed or answered something unusable. `retryable` says whether
    trying again later can help (timeouts, 5xx) or a person must act (401, bad config)."""

    def __init__(self, message: str, *, retryable: bool = True, detail: str | None = None):
        super().__init__(message)
        self.retryable, self.detail = retryable, detail

    def __reduce__(self):
        # Pickled whole (a sync reads pages in a child process and raises its errors in
        # the parent): the default would rebuild it from the message alone.
        return (self.__class__, self.args, self.__dict__)


@dataclass
class LocalRecord:
    """One record as the local system holds it, in the local system's own words.

    `fields` uses the hub's field names but local vocabulary for the mapped values
    (category, status, unit, channel). `origin_hub_id` is set when the local system says
    the record came from the hub (its echo): such records are linked, never re-imported.
    """
    stream: str                      # "reports" or "responses"
    external_id: str
    updated_at: datetime | None
    fields: dict
    origin_hub_id: str | None = None
    report_external_id: str | None = None  # responses: the local id of their report
    raw: dict = field(default_factory=dict)


@dataclass
class Page:
    records: list[LocalRecord]
    cursor: dict                     # the stream state after this page
    rejected: list[tuple[dict, str]] = field(default_factory=list)  # (raw, why) unparsable
    # What the stream could not see (a capped page size, a listing shorter than its
    # total): set on its last page; the run then cannot count as succeeded.
    incomplete: list[str] = field(default_factory=list)
    # Lines of the source that are no records (a recap's totals row, its signature block):
    # passed over on purpose, so neither read nor failed.
    skipped: int = 0

    def __post_init__(self):
        self.cursor = not_ahead_of_now(self.cursor)


def not_ahead_of_now(cursor: dict) -> dict:
    """A cursor's `since` never runs ahead of the hub's clock. A local clock running fast
    stamps records in the future; once it is corrected backwards, its next records carry
    times behind such a cursor, beyond any lookback window, and would be skipped without
    a trace. Capped, future-stamped records are re-read until the hub's clock passes them
    (the upsert makes that free of side effects)."""
    since = cursor.get("since") if isinstance(cursor, dict) else None
    if not isinstance(since, str):
        return cursor
    try:
        stamp = datetime.fromisoformat(since)
    except ValueError:
        return cursor
    now = datetime.now(timezone.utc)
    if stamp.tzinfo is None or stamp <= now:
        return cursor
    return {**cursor, "since": now.isoformat()}


DIRECTION_SCHEMA = {
    "enum": ["pull", "push", "both"], "default": None,
    "title": "Direction: pull (read the local system only), push (write hub changes to it "
             "only) or both; unset: both where writing is configured, else pull"}


DEFAULTS_SCHEMA = {
    "type": "object", "title": "Values for hub fields the local system never has "
    "(e.g. classification, category, body), used where a record leaves them empty"}


def direction_of(config: dict, can_write: bool) -> str:
    """Which way a connector syncs. Declared in its config, or taken from what it can do:
    a source with no way to write (no write endpoints, no key) is read-only, so its
    agency's reports from other channels never make its runs fail."""
    return config.get("direction") or ("both" if can_write else "pull")


class Directed:
    """For connectors that read, write or both, as their config says (`direction`)."""

    direction = "both"

    @property
    def writable(self) -> bool:
        return self.direction != "pull"

    def streams_read(self, streams: tuple) -> tuple:
        return () if self.direction == "push" else streams


class Connector(Protocol):
    kind: str
    streams: tuple[str, ...]

    def read(self, stream: str, cursor: dict | None) -> Iterator[Page]:
        """Pages of records changed since `cursor` (None: from the beginning)."""

    # Optional: `read_all(stream)`, every record the local system holds, whatever the
    # cursor says (a reconciliation compares them with the hub's; see read_everything).
    # Without it, read(stream, None) is taken: for most sources that is the full read.

    def find_report(self, hub_id: str) -> str | None:
        """The local id of a report the hub pushed earlier, if the local system has it
        (so a push interrupted after the local write is never written twice)."""

    def find_response(self, hub_id: str) -> str | None:
        """The same for a response the hub pushed earlier."""

    def write_report(self, report: dict) -> str:
        """Create a hub report in the local system; returns its local id."""

    def write_response(self, report_external_id: str, response: dict) -> str:
        """Add a hub response to a local report; returns the response's local id."""

    def write_status(self, report_external_id: str, local_status: str, note: str | None):
        """Set a local report's status (already mapped to the local vocabulary)."""

    def check(self) -> dict:
        """Reach the local system once; raises ConnectorError when it cannot."""


def read_everything(connector, stream: str) -> Iterator[Page]:
    """The connector's full read of a stream, ignoring (and never moving) its cursor."""
    read_all = getattr(connector, "read_all", None)
    return read_all(stream) if read_all is not None else connector.read(stream, None)


class ReadOnly:
    """For sources the hub can only read (a recap file, a database view): nothing is
    ever found there by hub id, and every write is refused with `read_only_reason`."""

    read_only_reason = "this connector only reads"
    writable = False

    def _refuse(self, what: str):
        raise ConnectorError(f"cannot {what}: {self.read_only_reason}", retryable=False)

    def find_report(self, hub_id: str):
        return None

    def find_response(self, hub_id: str):
        return None

    def write_report(self, report: dict) -> str:
        self._refuse(self.refusals["report"])

    def write_response(self, report_external_id: str, response: dict) -> str:
        self._refuse(self.refusals["response"])

    def write_status(self, report_external_id: str, local_status: str, note=None):
        self._refuse(self.refusals["status"])
