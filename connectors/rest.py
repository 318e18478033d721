"""Declarative REST/JSON connector: most regional apps (Laravel, CodeIgniter, Next.js)
fit it.

Everything system-specific is a manifest (see mappings/kab-sleman/lapor-sleman.yaml and
mappings/kab-kupang/elapor-kupang.yaml, and "REST connector manifest" in the README):
base URL, authenticator, streams with their requester (path, params), paginator, record
selector, incremental cursor and partition router (a stream read under another's
records), field paths with their transformations, and write endpoints. The parts live in
connectors/declarative/; this module puts them together.
"""
import time
from collections import deque
from datetime import datetime, timezone

import orjson
import requests

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
from connectors.declarative import auth as authmod
from connectors.declarative import cursor as cursormod
from connectors.declarative import paginate, schema, select
from connectors.declarative.partition import Parent

RECENT_PAGES = 8  # pages whose record keys are remembered to detect a repeating server

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url", "streams"],
    "additionalProperties": False,
    "properties": {
        "base_url": {"type": "string", "title": "Base URL", "format": "uri"},
        "timezone": {"type": "string", "title": "Time zone of naive local timestamps",
                     "default": None},
        "timeout_seconds": {"type": "number", "default": 30, "exclusiveMinimum": 0},
        "auth": schema.AUTH,
        "streams": schema.STREAMS,
        "write": schema.WRITES,
        "direction": DIRECTION_SCHEMA,
        "defaults": DEFAULTS_SCHEMA,
    },
    "secrets": ["api_key", "password", "token", "client_id", "client_secret"],
}


class RestConnector(Directed):
    kind = "rest"
    reads_ahead = True  # read() touches only its own HTTP session: safe in a thread

    def __init__(self, config: dict, secrets: dict | None = None, session=None):
        self.config, self.secrets = config, secrets or {}
        self.base_url = config["base_url"].rstrip("/")
        self.tz = config.get("timezone")
        self.timeout = float(config.get("timeout_seconds", 30))
        self.http = session or requests.Session()
        self.auth = authmod.Authenticator(config.get("auth"), self.secrets, self.http,
                                          self.base_url, self.timeout)
        self.direction = direction_of(config, bool(config.get("write")))
        self.streams = self.streams_read(tuple(config.get("streams", {})))
        self._extractors: dict = {}
        self._parents: dict = {}
        for name, cfg in (config.get("streams") or {}).items():
            if not isinstance(cfg, dict):
                raise ConnectorError(f"stream {name}: expected a mapping", retryable=False)
            if "parent" in cfg:
                self._parents[name] = Parent(cfg["parent"], name, config["streams"])
            listing = cfg.get("list") or {}
            cursormod.check(listing.get("since_format"), listing.get("since_timezone"),
                            f"stream {name}")
            kind = (listing.get("pagination") or {}).get("type", "none")
            if kind not in paginate.KINDS:
                raise ConnectorError(f"stream {name}: pagination.type {kind!r} is not one "
                                     f"of {', '.join(paginate.KINDS)}", retryable=False)

    # --- HTTP ---------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, authenticate: bool = True, **kwargs):
        url = path if path.startswith("http") else self.base_url + path
        extra = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {"Accept": "application/json", **extra}
            if authenticate:
                headers.update(self.auth.headers())
            resp = http.request(self.http, method, url, path, system="the local system",
                                timeout=self.timeout, headers=headers, **kwargs)
            if resp.status_code == 401 and authenticate and self.auth.renewable and \
                    attempt == 1:
                self.auth.forget()  # the session or token ran out: log in again, once
                continue
            break
        http.raise_for_status(resp, method, path, system="the local system")
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return orjson.loads(resp.content)  # several times faster on a page of 500
        except orjson.JSONDecodeError:
            pass  # a charset other than UTF-8, NaN, huge integers: the standard parser
        try:
            return resp.json()
        except ValueError:
            raise ConnectorError(f"{method} {path}: the local system answered with invalid "
                                 "JSON", detail=resp.text[:200]) from None

    # --- reading ------------------------------------------------------------------------

    def _listing(self, listing: dict, since: str | None, path: str | None = None):
        """The pages of one list endpoint: (selected records, paginator, more?) each.
        The paginator's `gaps` say, at the end, what the listing could not see."""
        path = path or listing["path"]
        where = f"GET {path}"
        params = dict(listing.get("params", {}))
        if since and listing.get("since_param"):
            params[listing["since_param"]] = cursormod.format_since(
                since, listing.get("since_format"), listing.get("since_timezone") or self.tz,
                where)
        records_path = listing.get("records_path", "data")
        pager = paginate.Paginator(listing.get("pagination"), where)
        for _ in range(int(listing.get("max_pages", 100000))):
            body = self._send("GET", path, params={**params, **pager.query()})
            selected = select.select(body, records_path, where)
            counted = select.top_level(body, records_path)
            more = pager.advance(body, len(selected if counted is None else counted))
            yield selected, pager, more
            if not more:
                return
        raise ConnectorError(f"{where}: more than max_pages pages; stopping")

    def read(self, stream: str, cursor: dict | None):
        if stream in self._parents:
            yield from self._read_children(stream, cursor)
            return
        cfg = self.config["streams"][stream]
        listing = cfg["list"]
        since = (cursor or {}).get("since")
        newest_first = listing.get("order") == "newest_first"
        # The keys of the last few pages, not of the whole run: enough to catch a server
        # that serves the same page again (a stall, a page repeated), while memory stays
        # flat however many records a backfill reads.
        recent: deque = deque(maxlen=RECENT_PAGES)
        high_water = since
        for selected, pager, more in self._listing(listing, since):
            records, rejected = self._records(stream, cfg, selected)
            self._check_repeat(records, recent, listing["path"], pager)
            high_water = _newest(records, high_water)
            gaps = [] if more else pager.gaps
            # Newest first, the first page already holds the newest stamp: the cursor
            # moves only once the whole listing is read, or a crash would skip the rest.
            # A listing not seen whole keeps the cursor where it was.
            at = since if newest_first or gaps else high_water
            yield Page(records, {"since": at}, rejected, gaps)
            if newest_first and not more and not gaps:
                yield Page([], {"since": high_water})

    def _read_children(self, stream: str, cursor: dict | None):
        """A stream under its parent's records: kept inside each (an embedded array) or
        a request per parent. One page per page of parents."""
        parent = self._parents[stream]
        cfg = self.config["streams"][stream]
        parent_cfg = self.config["streams"][parent.stream]
        since = (cursor or {}).get("since")
        recent: deque = deque(maxlen=RECENT_PAGES)
        high_water, gaps = since, []
        listed = self._listing(parent_cfg["list"], since if parent.incremental else None)
        for selected, pager, more in listed:
            records, rejected = [], []
            parents, parent_rejected = self._records(parent.stream, parent_cfg, selected)
            for raw, why in parent_rejected:
                # Its children cannot be told which complaint they belong to: kept as a
                # failure of this stream too, never dropped in silence.
                rejected.append((raw, f"its {parent.stream} record is unreadable: {why}"))
            for parent_rec in parents:
                for kid in self._children(cfg, parent, parent_rec, since, gaps):
                    try:
                        records.append(self._record(stream, cfg, kid.record, parent_rec))
                    except ValueError as exc:
                        rejected.append((kid.record, str(exc)))
            self._check_repeat(records, recent, parent_cfg["list"]["path"], pager)
            high_water = _newest(parents, high_water)
            if not more:
                gaps = gaps + pager.gaps
            at = since if gaps or (more and parent_cfg["list"].get("order") ==
                                   "newest_first") else high_water
            yield Page(records, {"since": at}, rejected, gaps if not more else [])

    def _children(self, cfg: dict, parent: Parent, parent_rec: LocalRecord, since, gaps):
        if parent.embedded:
            path = parent.records_path
            if not select.is_wild(path) and fieldmap.get_path(parent_rec.raw, path) is None:
                return []  # a complaint without follow-ups may leave the array out
            where = f"{parent.stream} record {parent_rec.external_id}"
            return [select.Selected((item, parent_rec.raw))
                    for item, _ in select.select(parent_rec.raw, path, where)]
        listing = cfg["list"]
        path = Parent.child_path(listing["path"], parent_rec.external_id)
        kids = []
        for selected, pager, more in self._listing(listing, since, path):
            kids.extend(select.Selected((item, parent_rec.raw)) for item, _ in selected)
            if not more:
                gaps.extend(pager.gaps)
        return kids

    def _records(self, stream: str, cfg: dict, selected) -> tuple[list, list]:
        records, rejected = [], []
        for item, holder in selected:
            try:
                records.append(self._record(stream, cfg, item, holder))
            except ValueError as exc:
                rejected.append((item, str(exc)))
        return records, rejected

    @staticmethod
    def _check_repeat(records, recent, path, pager) -> None:
        keys = {(r.external_id, r.updated_at) for r in records}
        if keys and keys <= set().union(*recent):
            raise ConnectorError(f"GET {path}: {pager.read_label} repeats records already read "
                                 "in this run; the local system's paging is inconsistent, "
                                 "stopping before anything is skipped")
        recent.append(keys)

    def _record(self, stream: str, cfg: dict, raw, parent=None) -> LocalRecord:
        """One local record; `parent` is the record holding it (a LocalRecord of the
        parent stream, or the object whose array held it), for parent_path fields."""
        if not isinstance(raw, dict):
            raise ValueError("record is not a JSON object")
        extractor = self._extractors.get(stream)
        if extractor is None:
            extractor = self._extractors[stream] = fieldmap.Extractor(cfg["fields"], self.tz)
        parent_raw = parent.raw if isinstance(parent, LocalRecord) else parent
        flat = extractor(raw, parent_raw)
        external_id = flat.pop("external_id", None)
        if external_id in (None, ""):
            raise ValueError("record has no id")
        updated_at = flat.pop("updated_at", None)
        if "updated_at" in cfg["fields"] and updated_at is None:
            raise ValueError("record has no last-modified time")
        report_ref = flat.pop("report_external_id", None)
        if report_ref is None and isinstance(parent, LocalRecord):
            report_ref = parent.external_id
        fields: dict = {}
        for path, value in flat.items():
            parent, _, key = path.partition(".")
            if not key:
                fields[path] = value
            elif "." not in key:  # reporter.name: one level down, the usual nesting
                fields.setdefault(parent, {})[key] = value
            else:
                fieldmap.set_path(fields, path, value)
        origin = cfg.get("origin")
        hub_id = None
        if origin and fieldmap.get_path(raw, origin["path"]) == origin.get("hub_value", "hub"):
            hub_id = fieldmap.get_path(raw, origin.get("hub_id_path", "id_eksternal"))
        return LocalRecord(stream=stream, external_id=str(external_id), updated_at=updated_at,
                           fields=fields, origin_hub_id=str(hub_id) if hub_id else None,
                           report_external_id=str(report_ref) if report_ref is not None
                           else None, raw=raw)

    # --- writing ------------------------------------------------------------------------

    def _write(self, name: str, values: dict):
        spec = (self.config.get("write") or {}).get(name)
        if not spec:
            raise ConnectorError(f"this connector has no '{name}' write endpoint configured",
                                 retryable=False)
        path = fieldmap.render(spec["path"], values)
        body = fieldmap.render(spec.get("body", {}), values)
        answer = self._send(spec.get("method", "POST"), path, json=body)
        return fieldmap.get_path(answer, spec["id_path"]) if spec.get("id_path") else None

    def find_report(self, hub_id: str):
        return self._find("find_report", hub_id)

    def find_response(self, hub_id: str):
        return self._find("find_response", hub_id)

    def _find(self, name: str, hub_id: str):
        """The local id of the record the hub wrote with this hub id, if any."""
        spec = (self.config.get("write") or {}).get(name)
        if not spec:
            return None
        body = self._send("GET", spec["path"], params=fieldmap.render(spec.get("query", {}),
                                                                     {"hub_id": hub_id}))
        items = fieldmap.get_path(body, spec.get("records_path", "data"))
        if not isinstance(items, list):
            raise ConnectorError(f"{name}: unexpected answer shape")
        for item in items:
            if str(fieldmap.get_path(item, spec.get("match_path", "id_eksternal"))) == hub_id:
                return str(fieldmap.get_path(item, spec["id_path"]))
        return None

    def write_report(self, report: dict) -> str:
        local_id = self._write("report", report)
        if local_id in (None, ""):
            raise ConnectorError("the local system did not return the new report's id",
                                 retryable=False)
        return str(local_id)

    def write_response(self, report_external_id: str, response: dict) -> str:
        local_id = self._write("response", {**response,
                                            "report_external_id": report_external_id})
        return str(local_id) if local_id not in (None, "") else ""

    def write_status(self, report_external_id: str, local_status: str, note=None) -> None:
        self._write("status", {"report_external_id": report_external_id,
                               "status": local_status, "note": note or ""})

    def check(self) -> dict:
        started = time.perf_counter()
        stream = next(iter(self.config["streams"]))  # configured, even when push-only
        next(iter(self.read(stream, {"since": datetime.now(timezone.utc).isoformat()})))
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000)}


def _newest(records, high_water):
    stamps = [r.updated_at for r in records if r.updated_at is not None]
    if not stamps:
        return high_water
    newest = max(stamps).astimezone(timezone.utc).isoformat()
    return max(high_water, newest) if high_water else newest


CONNECTOR = RestConnector
