"""Open311 GeoReport v2 connector (with mySociety's servicerequestupdates extension).

For a local system that speaks Open311 (a city CRM, a FixMyStreet-style app):
  reports    GET requests.{xml,json}   new requests by start_date/end_date windows (the
                                       spec filters on requested_datetime, at most 90 days
                                       a window), then every request the hub still holds
                                       open, re-read by service_request_id, so that an old
                                       request closed or reopened since is seen too;
                                       a request's status_notes become a response
  responses  GET servicerequestupdates.{xml,json}   start_date = cursor; updates with text
  writes     POST requests (form-encoded, api_key; the answer gives a service_request_id,
             or a token resolved through tokens/{token}), POST servicerequestupdates for
             responses and status changes.

XML is the spec's mandatory format and many council servers speak nothing else (they
answer .json with 404); `format: auto` asks for JSON, falls back to XML on a 404, and
reads either by what the answer is. FixMyStreet's own JSON wraps its list
(`{"requests": [{"request": [...]}]}`) and every value in a list; both forms are read.

Open311 has no field for "this came from the hub". The connector sends the hub id as an
attribute (`attribute[hub_id]`) and a response's hub id as the update's `update_id`; the
config says where the server shows them again (`origin`), so read-backs are echoes. The
same paths let find_report/find_response recover a write interrupted by a crash.
"""
import hashlib
import math
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import orjson
import requests
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXML

from connectors import fieldmap, http
from connectors.base import (
    DEFAULTS_SCHEMA,
    DIRECTION_SCHEMA,
    ConnectorError,
    Directed,
    LocalRecord,
    Page,
    direction_of,
)
from connectors.declarative import cursor as since_forms
from connectors.declarative.paginate import Paginator
from connectors.declarative.select import select

FORMATS = ("auto", "json", "xml")
FILTERS = ("requested_datetime", "updated_datetime")
ACCEPT = {"json": "application/json", "xml": "application/xml, text/xml"}
# Lists an answer may keep its items under: the spec's XML roots, and FixMyStreet's JSON.
WRAPPERS = ("requests", "service_requests", "service_request_updates", "request_updates",
            "services", "errors", "tokens")
# Spec limit on one start_date/end_date span.
MAX_WINDOW_DAYS = 90
# A window holding more requests than the server answers with, split down to this.
MIN_WINDOW = timedelta(minutes=1)

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url"],
    "additionalProperties": False,
    "properties": {
        "base_url": {"type": "string", "title": "Open311 endpoint (…/open311/v2)",
                     "format": "uri"},
        "jurisdiction_id": {"type": "string", "title": "jurisdiction_id", "default": None},
        "format": {"enum": list(FORMATS), "default": "auto",
                   "title": "xml, json, or auto (JSON, XML where .json is not found)"},
        "records_path": {"type": "string", "default": None,
                         "title": "Where an answer keeps its items (default: found)"},
        "start_date_filters": {"enum": list(FILTERS), "default": "requested_datetime",
                               "title": "What the server's start_date/end_date filter on"},
        "since_param": {"type": "string", "default": "start_date"},
        "until_param": {"type": "string", "default": "end_date"},
        "since_format": {"type": "string", "default": None,
                         "title": "How start_date is written (default: W3C datetime)"},
        "window_days": {"type": "number", "default": MAX_WINDOW_DAYS,
                        "title": "Longest start_date..end_date span asked"},
        "recheck_open": {"type": "boolean", "default": True,
                         "title": "Re-read the requests the hub holds open, by id"},
        "recheck_chunk": {"type": "integer", "default": 50,
                          "title": "service_request_ids per re-read"},
        "status_notes": {"enum": ["auto", "on", "off"], "default": "auto",
                         "title": "A request's status_notes become a response (auto: "
                                  "when the server has no servicerequestupdates)"},
        "timezone": {"type": "string", "title": "Time zone of naive timestamps",
                     "default": None},
        "timeout_seconds": {"type": "number", "default": 30},
        "direction": DIRECTION_SCHEMA,
        "defaults": DEFAULTS_SCHEMA,
        "backfill_start": {"type": "string", "title": "start_date of the first read",
                           "default": None},
        "pagination": {"type": "object", "title": "Paging (not in the standard)",
                       "properties": {"page_param": {"type": "string"},
                                      "size_param": {"type": "string"},
                                      "size": {"type": "integer"},
                                      "last_page_path": {"type": "string"},
                                      "total_path": {"type": "string"}}},
        "result_limit": {"type": "integer", "title": "The server's cap on one answer "
                         "(a full answer is split into smaller windows)", "default": None},
        "params": {"type": "object", "title": "Extra query parameters for requests "
                   "(e.g. status, extensions)"},
        "extended_status_path": {"type": "string", "default": None,
                                 "title": "Where a request's extended status is"},
        "channel": {"type": "string", "default": "open311",
                    "title": "Local channel word for every request"},
        "channel_path": {"type": "string", "default": None},
        "default_service_code": {"type": "string", "default": None},
        "default_address": {"type": "string", "default": None,
                            "title": "address_string when a hub report has no location"},
        "push_internal_responses": {"type": "boolean", "default": False},
        "responses": {"type": "boolean", "default": True,
                      "title": "The server has servicerequestupdates"},
        "find_window_days": {"type": "number", "default": 14},
        "token_attempts": {"type": "integer", "default": 5},
        "token_wait_seconds": {"type": "number", "default": 1},
        "origin": {"type": "object", "properties": {
            "attribute": {"type": "string"}, "request_path": {"type": "string"},
            "update_path": {"type": "string"}}},
        "update_author": {"type": "string", "default": None,
                          "title": "Author name given to responses read from the server"},
        "response_status": {"type": "string", "default": None,
                            "title": "status sent with a response pushed as an update"},
    },
    "secrets": ["api_key"],
}
DEFAULT_ORIGIN = {"attribute": "hub_id", "request_path": "extended_attributes.hub_id",
                  "update_path": "extended_attributes.client_update_id"}


class _Full(ConnectorError):
    """An unpaged answer as long as the server's cap: more may exist than it holds."""

    def __init__(self, message: str, body):
        super().__init__(message, retryable=False)
        self.body = body


class Open311Connector(Directed):
    kind = "open311"

    def __init__(self, config: dict, secrets: dict | None = None, session=None):
        self.config, self.secrets = config, secrets or {}
        self.base_url = config["base_url"].rstrip("/")
        self.tz = config.get("timezone")
        self.timeout = float(config.get("timeout_seconds", 30))
        self.http = session or requests.Session()
        self.origin = {**DEFAULT_ORIGIN, **(config.get("origin") or {})}
        fmt = config.get("format") or "auto"
        if fmt not in FORMATS:
            raise ConnectorError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}",
                                 retryable=False)
        self.fmt = None if fmt == "auto" else fmt  # auto: learned from the first answer
        self.filters_on = config.get("start_date_filters") or "requested_datetime"
        if self.filters_on not in FILTERS:
            raise ConnectorError(f"start_date_filters must be one of {', '.join(FILTERS)}, "
                                 f"not {self.filters_on!r}", retryable=False)
        since_forms.check(config.get("since_format"), self.tz, "open311")
        days = float(config.get("window_days") or MAX_WINDOW_DAYS)
        self.window = timedelta(days=min(max(days, 1 / 24), MAX_WINDOW_DAYS))
        responses = config.get("responses", True)
        notes = config.get("status_notes")
        if notes not in (None, "auto", True, False, "on", "off"):
            raise ConnectorError(f"status_notes must be auto, on or off, not {notes!r}",
                                 retryable=False)
        # Where servicerequestupdates exist, a request's status_notes repeat the latest
        # update's text: taking both would double the officer's words.
        self.status_notes = (not responses) if notes in (None, "auto") \
            else notes in (True, "on")
        # Writing needs the server's api_key; without one the server is only read.
        self.direction = direction_of(config, bool(self.secrets.get("api_key")))
        self.streams = self.streams_read(("reports", "responses") if responses
                                         else ("reports",))
        self._index: dict = {}  # stream -> {hub id: local id}, built once per run
        self._watch: list[str] = []  # the requests the hub holds open, re-read by id

    def recheck(self, external_ids) -> None:
        """The requests the hub holds open (not final) for this connector: a spec server
        lists a request by when it was made, so an old one's close or reopening shows
        only when it is asked for by id."""
        if self.config.get("recheck_open", True):
            self._watch = [str(i) for i in external_ids]

    # --- HTTP ---------------------------------------------------------------------------

    def _common(self) -> dict:
        out = {}
        if self.config.get("jurisdiction_id"):
            out["jurisdiction_id"] = self.config["jurisdiction_id"]
        if self.secrets.get("api_key"):
            out["api_key"] = self.secrets["api_key"]
        return out

    def _send(self, method: str, resource: str, missing_ok: bool = False, **kwargs):
        """`resource` without its format (/requests): the answer, JSON or XML, as Python
        lists and dicts (None for a 404 when `missing_ok`)."""
        formats = [self.fmt] if self.fmt else ["json", "xml"]
        for attempt, fmt in enumerate(formats):
            path = f"{resource}.{fmt}"
            resp = http.request(self.http, method, self.base_url + path, path,
                                system="the Open311 server", timeout=self.timeout,
                                headers={"Accept": ACCEPT[fmt]}, **kwargs)
            if resp.status_code == 404 and attempt + 1 < len(formats):
                continue  # an XML-only server answers .json with 404
            if resp.status_code == 404 and missing_ok:
                return None
            if resp.status_code >= 400:
                http.raise_for_status(resp, method, path, system="the Open311 server",
                                      credential="the api_key", why=_errors(resp))
            body = _decode(resp, method, path)
            self.fmt = fmt
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _records(self, body, where: str) -> list:
        """The items of a list answer: a bare list, or one under its wrapper."""
        path = self.config.get("records_path")
        wrapped = False
        if path is None:
            path, wrapped = _records_path(body, where)
        items = [found.record for found in select(body, path, where)]
        return [_unwrap(item) if wrapped or _all_wrapped(item) else item for item in items]

    def _list(self, resource: str, params: dict, full_ok: bool = False):
        """Every item of a GET list, page by page when paging is configured (the
        declarative paginator). Yields (items, last, gaps) so the caller can commit per
        page; gaps (on the last page) say what the paging could not see."""
        where = f"GET {resource}"
        spec = self.config.get("pagination") or None
        paginator = Paginator({"type": "page", "page_param": spec.get("page_param", "page"),
                               "size_param": spec.get("size_param", "page_size"),
                               "size": int(spec.get("size", 100)),
                               **{k: spec[k] for k in ("last_page_path", "total_path")
                                  if spec.get(k)}} if spec else None, where)
        seen: set = set()
        while True:
            body = self._send("GET", resource, params={**params, **paginator.query()})
            items = self._records(body, where)
            limit = self.config.get("result_limit")
            if not spec:
                if limit and len(items) >= int(limit):
                    message = (f"{where}: the answer holds {len(items)} items, the "
                               "server's cap; records may be missing")
                    if full_ok:
                        raise _Full(message, items)
                    raise ConnectorError(message + ". Configure paging or an earlier "
                                         "backfill_start with a smaller window",
                                         retryable=False)
                yield items, True, []
                return
            keys = {_key(item) for item in items}
            if items and keys <= seen:
                raise ConnectorError(f"{where}: {paginator.label} repeats items already "
                                     "read; the server's paging is inconsistent")
            seen |= keys
            more = paginator.advance(body, len(items))
            yield items, not more, [] if more else list(paginator.gaps)
            if not more:
                return

    # --- reading ------------------------------------------------------------------------

    def read(self, stream: str, cursor: dict | None):
        if stream == "reports":
            yield from self._read_reports(cursor, recheck=True)
        elif stream == "responses":
            yield from self._read_updates(cursor)
        else:
            raise ConnectorError(f"unknown stream '{stream}'", retryable=False)

    def _since(self, value) -> str:
        if self.config.get("since_format"):
            return since_forms.format_since(_w3c(value), self.config["since_format"],
                                            self.tz, "open311")
        return _w3c(value)

    def _windows(self, since: str | None) -> list:
        """(start, end) spans from `since` to now, each at most window_days; the last
        one open-ended (end None). Without any start: the server's own default."""
        if not since:
            return [(None, None)]
        start = _parse_cursor(since)
        now = datetime.now(timezone.utc)
        out = []
        while now - start > self.window:
            out.append((start, start + self.window))
            start += self.window
        out.append((start, None))
        return out

    def _read_reports(self, cursor, recheck: bool):
        start = (cursor or {}).get("since")
        since = start or self.config.get("backfill_start")
        params = {"extensions": "true", **(self.config.get("params") or {}),
                  **self._common()}
        high, read_ids = start, set()
        stamp_of = "submitted_at" if self.filters_on == "requested_datetime" else None
        pending = self._windows(since)
        while pending:
            begin, end = pending.pop(0)
            query = dict(params)
            if begin is not None:
                query[self.config.get("since_param") or "start_date"] = self._since(
                    begin.isoformat())
            if end is not None:
                query[self.config.get("until_param") or "end_date"] = self._since(
                    end.isoformat())
            try:
                for items, last, gaps in self._list("/requests", query,
                                                    full_ok=begin is not None):
                    records, rejected, high = self._parse_requests(items, high, stamp_of,
                                                                   read_ids)
                    if last and end is not None:
                        # A finished window in the past: nothing made before its end can
                        # still appear, so the next read starts there.
                        done = end.astimezone(timezone.utc).isoformat()
                        high = max(high, done) if high else done
                    yield Page(records, {"since": high if last else start}, rejected,
                               gaps)
            except _Full as full:
                stop = end or datetime.now(timezone.utc)
                if stop - begin > MIN_WINDOW * 2:
                    middle = begin + (stop - begin) / 2
                    pending[:0] = [(begin, middle), (middle, end)]
                    continue
                records, rejected, high = self._parse_requests(full.body, high, stamp_of,
                                                               read_ids)
                yield Page(records, {"since": start}, rejected,
                           [f"{full}: more than {len(full.body)} requests were made "
                            f"between {begin.isoformat()} and {stop.isoformat()}; "
                            "configure paging"])
            start = high
        if recheck and self._watch:
            yield from self._recheck(params, read_ids, high)

    def _recheck(self, params: dict, read_ids: set, high):
        """Re-read by id the requests the hub holds open that the windows did not show."""
        query = {k: v for k, v in params.items() if k not in (
            "status", "service_code", "start_date", "end_date", "page", "page_size")}
        ids = [i for i in dict.fromkeys(self._watch) if i not in read_ids]
        size = max(1, int(self.config.get("recheck_chunk") or 50))
        gone: list[str] = []
        chunks = [ids[i:i + size] for i in range(0, len(ids), size)]
        for number, chunk in enumerate(chunks, 1):
            wanted = set(chunk)
            body = self._send("GET", "/requests", params={
                **query, "service_request_id": ",".join(chunk)})
            # Only the requests asked for: a server that ignores the filter answers its
            # default listing, which the windows have read already.
            items = [item for item in self._records(body, "GET /requests")
                     if isinstance(item, dict)
                     and str(item.get("service_request_id")) in wanted]
            for sid in sorted(wanted - {str(item.get("service_request_id"))
                                        for item in items}):
                # Not in the list answer (a server taking one id at a time): asked alone.
                found = self._one(sid, query)
                if found is None:
                    gone.append(sid)
                else:
                    items.append(found)
            records, rejected, _ = self._parse_requests(items, high, None, read_ids)
            unseen = []
            if number == len(chunks) and gone:
                unseen = [f"GET /requests: the Open311 server no longer shows "
                          f"{len(gone)} request(s) the hub holds open "
                          f"({', '.join(sorted(gone)[:10])}); their changes cannot be "
                          "seen. Close them in the hub if the city withdrew them"]
            yield Page(records, {"since": high}, rejected, unseen)

    def _one(self, sid: str, query: dict):
        body = self._send("GET", f"/requests/{quote(sid, safe='')}", missing_ok=True,
                          params=query)
        if body is None:
            return None
        items = [body] if isinstance(body, dict) and "service_request_id" in body \
            else self._records(body, "GET /requests/{id}")
        return next((item for item in items if isinstance(item, dict)
                     and str(item.get("service_request_id")) == sid), None)

    def _parse_requests(self, items, high, stamp_of, read_ids):
        """LocalRecords of the requests (and their status notes), what could not be
        read, and the cursor moved to the newest stamp seen."""
        records, rejected = [], []
        for raw in items:
            try:
                record = self._report(raw)
            except ValueError as exc:
                rejected.append((raw, str(exc)))
                continue
            if record.external_id in read_ids:
                # Already read in this run's windows: a server that ignores the
                # start_date/end_date filter answers every window with the same requests.
                continue
            read_ids.add(record.external_id)
            stamp = record.fields.get(stamp_of) if stamp_of else record.updated_at
            if stamp_of and stamp is None:
                stamp = record.updated_at
            if stamp is not None:
                stamp = stamp.astimezone(timezone.utc).isoformat()
                high = max(high, stamp) if high else stamp
            records.append(record)
            note = self._status_note(raw, record)
            if note is not None:
                records.append(note)
        return records, rejected, high

    def _read_updates(self, cursor):
        since = (cursor or {}).get("since") or self.config.get("backfill_start")
        params = self._common()
        if since:
            params["start_date"] = self._since(since)  # mySociety: on the update's time
        start = (cursor or {}).get("since")
        high = start
        for items, last, gaps in self._list("/servicerequestupdates", params):
            records, rejected = [], []
            for raw in items:
                try:
                    record = self._response(raw)
                except ValueError as exc:
                    rejected.append((raw, str(exc)))
                    continue
                if record.updated_at is not None:
                    stamp = record.updated_at.astimezone(timezone.utc).isoformat()
                    high = max(high, stamp) if high else stamp
                if record.fields is not None:
                    records.append(record)
            # Open311 promises no order: the cursor moves only once every page is read,
            # so a crash between pages re-reads instead of skipping.
            yield Page(records, {"since": high if last else start}, rejected, gaps)

    def _report(self, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("request is not an object")
        sid = _text(raw.get("service_request_id"))
        if not sid:
            raise ValueError("request has no service_request_id")
        requested = fieldmap.parse_datetime(_text(raw.get("requested_datetime")), self.tz)
        updated = fieldmap.parse_datetime(_text(raw.get("updated_datetime")),
                                          self.tz) or requested
        description = (_text(raw.get("description")) or "").strip()
        first = next((line.strip() for line in description.splitlines() if line.strip()), "")
        title = first or _text(raw.get("title")) or _text(raw.get("service_name")) \
            or _text(raw.get("service_code")) or ""
        if len(title) > 200:
            title = title[:199].rstrip() + "…"
        status = _text(raw.get("status"))
        path = self.config.get("extended_status_path", "extended_attributes.status")
        extended = _text(fieldmap.get_path(raw, path)) if path else None
        channel = _text(fieldmap.get_path(raw, self.config["channel_path"])) \
            if self.config.get("channel_path") else None
        fields = {
            "title": title, "body": description or title,
            "category": _text(raw.get("service_code")),
            "status": extended or status,
            "unit": _text(raw.get("agency_responsible")) or None,
            "channel": channel or self.config.get("channel", "open311"),
            "submitted_at": requested,
            # An unusable coordinate goes on as it is: the hub drops the point (keeping
            # the address and the request) and counts the run's record as tidied.
            "location": {"text": _text(raw.get("address")) or None,
                         "lat": _coord(raw.get("lat")), "lon": _coord(raw.get("long"))},
        }
        hub_id = _text(fieldmap.get_path(raw, self.origin["request_path"])) \
            if self.origin.get("request_path") else None
        return LocalRecord(stream="reports", external_id=sid, updated_at=updated,
                           fields=fields, origin_hub_id=hub_id or None, raw=raw)

    def _status_note(self, raw, report: LocalRecord):
        """A request's status_notes as a response, keyed by its text: read again, the
        same note is the same response; a new note is a new one."""
        if not self.status_notes or report.origin_hub_id:
            return None  # on a request the hub pushed, the notes are the hub's own
        note = (_text(raw.get("status_notes")) or "").strip()
        if not note:
            return None
        digest = hashlib.sha256(note.encode()).hexdigest()[:24]
        return LocalRecord(stream="responses", external_id=f"status_notes:"
                           f"{report.external_id[:150]}:{digest}",
                           updated_at=report.updated_at,
                           fields={"body": note, "created_at": report.updated_at,
                                   "visibility": "public",
                                   "author_name": self.config.get("update_author")},
                           report_external_id=report.external_id, raw=raw)

    def _response(self, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("update is not an object")
        uid, sid = _text(raw.get("update_id")), _text(raw.get("service_request_id"))
        if not uid or not sid:
            raise ValueError("update has no update_id or service_request_id")
        updated = fieldmap.parse_datetime(_text(raw.get("updated_datetime")), self.tz)
        if updated is None:
            raise ValueError("update has no updated_datetime")
        text = (_text(raw.get("description")) or "").strip()
        hub_id = _text(fieldmap.get_path(raw, self.origin["update_path"])) \
            if self.origin.get("update_path") else None
        # A status-only update is no response: the request's own status carries it.
        fields = {"body": text, "created_at": updated, "visibility": "public",
                  "author_name": self.config.get("update_author")} if text else None
        return LocalRecord(stream="responses", external_id=uid, updated_at=updated,
                           fields=fields, origin_hub_id=hub_id or None,
                           report_external_id=sid, raw=raw)

    # --- finding earlier writes ---------------------------------------------------------

    def _origin_index(self, stream: str) -> dict:
        """{hub id: local id} of the records the hub wrote recently, read once per run
        (a run holds the connector's lease, so nobody else writes for it meanwhile)."""
        if stream not in self._index:
            since = datetime.now(timezone.utc) - timedelta(
                days=float(self.config.get("find_window_days", 14)))
            found = {}
            pages = self._read_reports({"since": since.isoformat()}, recheck=False) \
                if stream == "reports" else self._read_updates({"since": since.isoformat()})
            for page in pages:
                for record in page.records:
                    if record.origin_hub_id:
                        found[record.origin_hub_id] = record.external_id
            self._index[stream] = found
        return self._index[stream]

    def find_report(self, hub_id: str):
        return self._origin_index("reports").get(hub_id)

    def find_response(self, hub_id: str):
        if not self.config.get("responses", True):
            return None
        return self._origin_index("responses").get(hub_id)

    # --- writing ------------------------------------------------------------------------

    def write_report(self, report: dict) -> str:
        code = report.get("category") or self.config.get("default_service_code")
        if not code:
            raise ConnectorError("the report's hub category has no Open311 service_code "
                                 "in the category mapping (and no default_service_code)",
                                 retryable=False)
        title, body = report.get("title") or "", report.get("body") or ""
        form = {**self._common(), "service_code": code,
                "description": title if body.strip() == title.strip()
                else f"{title}\n\n{body}"}
        if report.get("lat") is not None and report.get("lon") is not None:
            form["lat"], form["long"] = report["lat"], report["lon"]
        address = report.get("address") or (None if "lat" in form
                                             else self.config.get("default_address"))
        if address:
            form["address_string"] = address
        if "lat" not in form and not address:
            raise ConnectorError("the report has no location and the connector no "
                                 "default_address; Open311 requires one", retryable=False)
        if not report.get("anonymous"):
            name = (report.get("reporter_name") or "").split(None, 1)
            form.update({k: v for k, v in {
                "first_name": name[0] if name else None,
                "last_name": name[1] if len(name) > 1 else None,
                "email": report.get("reporter_email"),
                "phone": report.get("reporter_phone")}.items() if v})
        form[f"attribute[{self.origin['attribute']}]"] = report["hub_id"]
        if report.get("tracking_id"):
            form["attribute[tracking_id]"] = report["tracking_id"]
        answer = self._send("POST", "/requests", data=form)
        sid = self._request_id(answer)
        self._index.setdefault("reports", {})[report["hub_id"]] = sid
        return sid

    def _request_id(self, answer) -> str:
        item = _first(answer)
        if not isinstance(item, dict):
            raise ConnectorError("POST requests: unexpected answer", retryable=False,
                                 detail=str(answer)[:300])
        if item.get("service_request_id") not in (None, ""):
            return str(item["service_request_id"])
        token = item.get("token")
        if not token:
            raise ConnectorError("POST requests: the answer has neither "
                                 "service_request_id nor token", retryable=False,
                                 detail=str(answer)[:300])
        attempts = int(self.config.get("token_attempts", 5))
        wait = float(self.config.get("token_wait_seconds", 1))
        for attempt in range(attempts):
            found = self._send("GET", f"/tokens/{quote(str(token), safe='')}",
                               params=self._common())
            entry = _first(found)
            if isinstance(entry, dict) and entry.get("service_request_id") not in (None, ""):
                return str(entry["service_request_id"])
            if attempt + 1 < attempts:
                time.sleep(wait)
        # Retryable: the next run finds the request by its hub id once the server made it.
        raise ConnectorError(f"POST requests: token {str(token)[:40]} has no "
                             f"service_request_id after {attempts} lookups")

    def write_response(self, report_external_id: str, response: dict) -> str:
        if not response.get("public") and not self.config.get("push_internal_responses"):
            return ""  # Open311 updates are public; internal notes stay in the hub
        form = {**self._common(), "service_request_id": report_external_id,
                "update_id": response["hub_id"], "description": response["body"],
                "updated_datetime": datetime.now(timezone.utc).isoformat()}
        if response.get("author_name"):
            form["first_name"] = response["author_name"]
        if self.config.get("response_status"):
            form["status"] = self.config["response_status"]
        local_id = self._update_id(self._send("POST", "/servicerequestupdates",
                                              data=form))
        self._index.setdefault("responses", {})[response["hub_id"]] = local_id
        return local_id

    def write_status(self, report_external_id: str, local_status: str, note=None) -> None:
        form = {**self._common(), "service_request_id": report_external_id,
                # Not a UUID: its read-back is an echo and never taken for a hub response.
                "update_id": f"status:{uuid.uuid4().hex}", "status": local_status,
                "description": note or "",
                "updated_datetime": datetime.now(timezone.utc).isoformat()}
        self._update_id(self._send("POST", "/servicerequestupdates", data=form))

    @staticmethod
    def _update_id(answer) -> str:
        item = _first(answer)
        if not isinstance(item, dict) or item.get("update_id") in (None, ""):
            raise ConnectorError("POST servicerequestupdates: the answer has no "
                                 "update_id", retryable=False, detail=str(answer)[:300])
        return str(item["update_id"])

    def check(self) -> dict:
        started = time.perf_counter()
        services = self._records(self._send("GET", "/services", params=self._common()),
                                 "GET services")
        next(iter(self.read("reports", {"since": datetime.now(timezone.utc).isoformat()})))
        return {"ok": True, "services": len(services),
                "latency_ms": round((time.perf_counter() - started) * 1000)}


def _errors(resp) -> str:
    try:
        body = _decode(resp, "", "")
    except ConnectorError:
        return ""
    if isinstance(body, dict):
        body = body.get("errors") if isinstance(body.get("errors"), list) else [body]
    if isinstance(body, list):
        texts = [str(e.get("description")) for e in body if isinstance(e, dict)
                 and e.get("description")]
        return (": " + "; ".join(texts)) if texts else ""
    return ""


def _first(answer):
    """The one item of a POST or token answer, however it is wrapped."""
    if isinstance(answer, dict) and not any(isinstance(answer.get(k), list)
                                            for k in WRAPPERS):
        return _unwrap(answer) if _all_wrapped(answer) else answer
    try:
        path, wrapped = _records_path(answer, "")
    except ConnectorError:
        return answer
    items = [found.record for found in select(answer, path)]
    item = items[0] if items else None
    return _unwrap(item) if wrapped or _all_wrapped(item) else item


def _key(item):
    if isinstance(item, dict):
        return (item.get("service_request_id"), item.get("update_id"),
                item.get("updated_datetime"))
    return (str(item),)


def _coord(value):
    """A coordinate as a number; what is none (text, NaN) is passed on as written, for
    the hub to drop with the point alone."""
    value = _text(value)
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)[:50]
    return number if math.isfinite(number) else str(value)[:50]


def _text(value):
    """A scalar field as text: FixMyStreet's `{"recipient": [...]}` agency, a list of
    one (its wrapped JSON), numbers (an XML-less JSON id) all read as the spec's string."""
    if isinstance(value, list):
        parts = [p for p in (_text(v) for v in value) if p not in (None, "")]
        return "; ".join(parts) if parts else None
    if isinstance(value, dict):
        return _text(list(value.values())) if value else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _decode(resp, method: str, path: str):
    """An answer as lists and dicts, by what it is (its Content-Type, else its first
    byte): servers label XML as text/html or JSON as text/plain."""
    content = resp.content or b""
    ctype = (resp.headers.get("Content-Type") or "").lower()
    head = content.lstrip()[:1]
    if head == b"<" or ("xml" in ctype and head not in (b"[", b"{")):
        return _from_xml(content, method, path)
    try:
        return orjson.loads(content) if content.strip() else []
    except orjson.JSONDecodeError:
        raise ConnectorError(f"{method} {path}: the Open311 server answered with "
                             "invalid JSON", detail=content[:200].decode(errors="replace")
                             ) from None


def _from_xml(content: bytes, method: str, path: str):
    """GeoReport XML (a root list of items) as a list of dicts. Parsed without entities
    or DTDs: the answer comes from wherever the tenant pointed the connector."""
    try:
        root = SafeXML.fromstring(content, forbid_dtd=True)
    except (SafeXML.ParseError, DefusedXmlException) as exc:
        why = "it declares a DTD or entities, which are refused" \
            if isinstance(exc, DefusedXmlException) else "it is not well-formed"
        raise ConnectorError(f"{method} {path}: the Open311 server's XML answer could not "
                             f"be read ({why})", retryable=False,
                             detail=content[:200].decode(errors="replace")) from None
    if _tag(root) in ("request", "service", "request_update", "error", "token"):
        return [_element(root)]
    return [_element(child) for child in root]


def _tag(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _element(element):
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        text = (element.text or "").strip()
        return text or None
    tags = {_tag(c) for c in children}
    if len(tags) == 1 and (len(children) > 1 or _tag(element) == _tag(children[0]) + "s"):
        return [_element(c) for c in children]  # <groups><group/>…</groups>
    out: dict = {}
    for child in children:
        name, value = _tag(child), _element(child)
        if name in out:
            before = out[name]
            out[name] = (before if isinstance(before, list) else [before]) + [value]
        else:
            out[name] = value
    return out


def _records_path(body, where: str) -> tuple[str, bool]:
    """Where the items are, and whether they come in FixMyStreet's wrapping (every value
    a list of one): the bare list, or under `requests`, `service_requests`, …."""
    if isinstance(body, list):
        return "", False
    if isinstance(body, dict):
        for key in WRAPPERS:
            inner = body.get(key)
            if not isinstance(inner, list):
                continue
            if inner and all(isinstance(x, dict) and len(x) == 1
                             and isinstance(next(iter(x.values())), list) for x in inner):
                return f"{key}[*].{next(iter(inner[0]))}[*]", True
            return key, False
    raise ConnectorError(f"{where}: expected a list of items (or one under "
                         f"{', '.join(WRAPPERS[:3])}), got {type(body).__name__}; name "
                         "where they are with records_path", retryable=False)


def _all_wrapped(item) -> bool:
    return isinstance(item, dict) and bool(item) and \
        all(isinstance(v, list) for v in item.values())


def _unwrap(value):
    if isinstance(value, list):
        if len(value) == 1:
            return _unwrap(value[0])
        return [_unwrap(v) for v in value] if value else None
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _parse_cursor(value: str) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _w3c(value: str) -> str:
    """A cursor as an Open311 start_date (W3C datetime with its offset)."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat(timespec="seconds") if parsed.microsecond == 0 \
        else parsed.isoformat()


CONNECTOR = Open311Connector
