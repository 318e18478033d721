"""Open311 GeoReport v2 connector (with mySociety's servicerequestupdates extension).

For a local system that speaks Open311 (a city CRM, a FixMyStreet-style app):
  reports    GET requests.json      start_date = cursor (the server must filter on
                                    updated_datetime), optional paging (page/page_size)
  responses  GET servicerequestupdates.json   start_date = cursor; updates with text
  writes     POST requests.json (form-encoded, api_key; the answer gives a
             service_request_id, or a token resolved through tokens/{token}.json),
             POST servicerequestupdates.json for responses and status changes.

Open311 has no field for "this came from the hub". The connector sends the hub id as an
attribute (`attribute[hub_id]`) and a response's hub id as the update's `update_id`; the
config says where the server shows them again (`origin`), so read-backs are echoes. The
same paths let find_report/find_response recover a write interrupted by a crash.
"""
import time
import uuid
from datetime import datetime, timedelta, timezone

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

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url"],
    "properties": {
        "base_url": {"type": "string", "title": "Open311 endpoint (…/open311/v2)",
                     "format": "uri"},
        "jurisdiction_id": {"type": "string", "title": "jurisdiction_id", "default": None},
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
                                      "size": {"type": "integer"}}},
        "result_limit": {"type": "integer", "title": "The server's cap on one answer "
                         "(without paging, a full answer is an error)", "default": None},
        "params": {"type": "object", "title": "Extra query parameters for requests.json "
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
                      "title": "The server has servicerequestupdates.json"},
        "find_window_days": {"type": "number", "default": 14},
        "token_attempts": {"type": "integer", "default": 5},
        "token_wait_seconds": {"type": "number", "default": 1},
        "origin": {"type": "object", "properties": {
            "attribute": {"type": "string"}, "request_path": {"type": "string"},
            "update_path": {"type": "string"}}},
    },
    "secrets": ["api_key"],
}
DEFAULT_ORIGIN = {"attribute": "hub_id", "request_path": "extended_attributes.hub_id",
                  "update_path": "extended_attributes.client_update_id"}


class Open311Connector(Directed):
    kind = "open311"

    def __init__(self, config: dict, secrets: dict | None = None, session=None):
        self.config, self.secrets = config, secrets or {}
        self.base_url = config["base_url"].rstrip("/")
        self.tz = config.get("timezone")
        self.timeout = float(config.get("timeout_seconds", 30))
        self.http = session or requests.Session()
        self.origin = {**DEFAULT_ORIGIN, **(config.get("origin") or {})}
        # Writing needs the server's api_key; without one the server is only read.
        self.direction = direction_of(config, bool(self.secrets.get("api_key")))
        self.streams = self.streams_read(("reports", "responses") if config.get(
            "responses", True) else ("reports",))
        self._index: dict = {}  # stream -> {hub id: local id}, built once per run

    # --- HTTP ---------------------------------------------------------------------------

    def _common(self) -> dict:
        out = {}
        if self.config.get("jurisdiction_id"):
            out["jurisdiction_id"] = self.config["jurisdiction_id"]
        if self.secrets.get("api_key"):
            out["api_key"] = self.secrets["api_key"]
        return out

    def _send(self, method: str, path: str, **kwargs):
        url = self.base_url + path
        resp = http.request(self.http, method, url, path, system="the Open311 server",
                            timeout=self.timeout, headers={"Accept": "application/json"},
                            **kwargs)
        if resp.status_code >= 400:
            http.raise_for_status(resp, method, path, system="the Open311 server",
                                  credential="the api_key", why=_errors(resp))
        try:
            return resp.json()
        except ValueError:
            raise ConnectorError(f"{method} {path}: the Open311 server answered with "
                                 "invalid JSON", detail=resp.text[:200]) from None

    def _list(self, path: str, params: dict):
        """Every item of a GET list, page by page when paging is configured. Yields
        (items, last) so the caller can commit per page."""
        paging = self.config.get("pagination") or None
        page = 1
        seen: set = set()
        while True:
            query = {**params}
            if paging:
                query[paging.get("page_param", "page")] = page
                query[paging.get("size_param", "page_size")] = int(paging.get("size", 100))
            body = self._send("GET", path, params=query)
            if not isinstance(body, list):
                raise ConnectorError(f"GET {path}: expected a JSON list, got "
                                     f"{type(body).__name__}")
            limit = self.config.get("result_limit")
            if not paging:
                if limit and len(body) >= int(limit):
                    raise ConnectorError(
                        f"GET {path}: the answer holds {len(body)} items, the server's cap; "
                        "records may be missing. Configure paging or an earlier "
                        "backfill_start with a smaller window", retryable=False)
                yield body, True
                return
            keys = {_key(item) for item in body}
            if body and keys <= seen:
                raise ConnectorError(f"GET {path}: page {page} repeats items already read; "
                                     "the server's paging is inconsistent")
            seen |= keys
            last = len(body) < int(paging.get("size", 100))
            yield body, last
            if last:
                return
            page += 1

    # --- reading ------------------------------------------------------------------------

    def read(self, stream: str, cursor: dict | None):
        since = (cursor or {}).get("since") or self.config.get("backfill_start")
        if stream == "reports":
            path = "/requests.json"
            params = {"extensions": "true", **(self.config.get("params") or {})}
            parse = self._report
        elif stream == "responses":
            path, params, parse = "/servicerequestupdates.json", {}, self._response
        else:
            raise ConnectorError(f"unknown stream '{stream}'", retryable=False)
        params.update(self._common())
        if since:
            params["start_date"] = _w3c(since)
        start = (cursor or {}).get("since")
        high = start
        for items, last in self._list(path, params):
            records, rejected = [], []
            for raw in items:
                try:
                    record = parse(raw)
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
            yield Page(records, {"since": high if last else start}, rejected)

    def _report(self, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("request is not a JSON object")
        sid = raw.get("service_request_id")
        if sid in (None, ""):
            raise ValueError("request has no service_request_id")
        requested = fieldmap.parse_datetime(raw.get("requested_datetime"), self.tz)
        updated = fieldmap.parse_datetime(raw.get("updated_datetime"), self.tz) or requested
        if updated is None:
            raise ValueError("request has neither updated_datetime nor requested_datetime")
        description = (raw.get("description") or "").strip()
        first = next((line.strip() for line in description.splitlines() if line.strip()), "")
        title = first or raw.get("service_name") or raw.get("service_code") or ""
        if len(title) > 200:
            title = title[:199].rstrip() + "…"
        status = raw.get("status")
        path = self.config.get("extended_status_path", "extended_attributes.status")
        extended = fieldmap.get_path(raw, path) if path else None
        channel = fieldmap.get_path(raw, self.config["channel_path"]) \
            if self.config.get("channel_path") else None
        fields = {
            "title": title, "body": description or title,
            "category": raw.get("service_code"),
            "status": extended or status,
            "unit": raw.get("agency_responsible") or None,
            "channel": channel or self.config.get("channel", "open311"),
            "submitted_at": requested,
            "location": {"text": raw.get("address") or None,
                         "lat": _coord(raw.get("lat")), "lon": _coord(raw.get("long"))},
        }
        hub_id = fieldmap.get_path(raw, self.origin["request_path"]) \
            if self.origin.get("request_path") else None
        return LocalRecord(stream="reports", external_id=str(sid), updated_at=updated,
                           fields=fields, origin_hub_id=str(hub_id) if hub_id else None,
                           raw=raw)

    def _response(self, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("update is not a JSON object")
        uid, sid = raw.get("update_id"), raw.get("service_request_id")
        if uid in (None, "") or sid in (None, ""):
            raise ValueError("update has no update_id or service_request_id")
        updated = fieldmap.parse_datetime(raw.get("updated_datetime"), self.tz)
        if updated is None:
            raise ValueError("update has no updated_datetime")
        text = (raw.get("description") or "").strip()
        hub_id = fieldmap.get_path(raw, self.origin["update_path"]) \
            if self.origin.get("update_path") else None
        # A status-only update is no response: the request's own status carries it.
        fields = {"body": text, "created_at": updated, "visibility": "public",
                  "author_name": self.config.get("update_author")} if text else None
        return LocalRecord(stream="responses", external_id=str(uid), updated_at=updated,
                           fields=fields, origin_hub_id=str(hub_id) if hub_id else None,
                           report_external_id=str(sid), raw=raw)

    # --- finding earlier writes ---------------------------------------------------------

    def _origin_index(self, stream: str) -> dict:
        """{hub id: local id} of the records the hub wrote recently, read once per run
        (a run holds the connector's lease, so nobody else writes for it meanwhile)."""
        if stream not in self._index:
            since = datetime.now(timezone.utc) - timedelta(
                days=float(self.config.get("find_window_days", 14)))
            found = {}
            for page in self.read(stream, {"since": since.isoformat()}):
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
        answer = self._send("POST", "/requests.json", data=form)
        sid = self._request_id(answer)
        self._index.setdefault("reports", {})[report["hub_id"]] = sid
        return sid

    def _request_id(self, answer) -> str:
        item = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(item, dict):
            raise ConnectorError("POST requests.json: unexpected answer", retryable=False,
                                 detail=str(answer)[:300])
        if item.get("service_request_id") not in (None, ""):
            return str(item["service_request_id"])
        token = item.get("token")
        if not token:
            raise ConnectorError("POST requests.json: the answer has neither "
                                 "service_request_id nor token", retryable=False,
                                 detail=str(answer)[:300])
        attempts = int(self.config.get("token_attempts", 5))
        wait = float(self.config.get("token_wait_seconds", 1))
        for attempt in range(attempts):
            found = self._send("GET", f"/tokens/{token}.json", params=self._common())
            entry = found[0] if isinstance(found, list) and found else found
            if isinstance(entry, dict) and entry.get("service_request_id") not in (None, ""):
                return str(entry["service_request_id"])
            if attempt + 1 < attempts:
                time.sleep(wait)
        # Retryable: the next run finds the request by its hub id once the server made it.
        raise ConnectorError(f"POST requests.json: token {str(token)[:40]} has no "
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
        local_id = self._update_id(self._send("POST", "/servicerequestupdates.json",
                                              data=form))
        self._index.setdefault("responses", {})[response["hub_id"]] = local_id
        return local_id

    def write_status(self, report_external_id: str, local_status: str, note=None) -> None:
        form = {**self._common(), "service_request_id": report_external_id,
                # Not a UUID: its read-back is an echo and never taken for a hub response.
                "update_id": f"status:{uuid.uuid4().hex}", "status": local_status,
                "description": note or "",
                "updated_datetime": datetime.now(timezone.utc).isoformat()}
        self._update_id(self._send("POST", "/servicerequestupdates.json", data=form))

    @staticmethod
    def _update_id(answer) -> str:
        item = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(item, dict) or item.get("update_id") in (None, ""):
            raise ConnectorError("POST servicerequestupdates.json: the answer has no "
                                 "update_id", retryable=False, detail=str(answer)[:300])
        return str(item["update_id"])

    def check(self) -> dict:
        started = time.perf_counter()
        services = self._send("GET", "/services.json", params=self._common())
        if not isinstance(services, list):
            raise ConnectorError("GET services.json: expected a JSON list", retryable=False)
        next(iter(self.read("reports", {"since": datetime.now(timezone.utc).isoformat()})))
        return {"ok": True, "services": len(services),
                "latency_ms": round((time.perf_counter() - started) * 1000)}


def _errors(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, list):
        texts = [str(e.get("description")) for e in body if isinstance(e, dict)
                 and e.get("description")]
        return (": " + "; ".join(texts)) if texts else ""
    return ""


def _key(item):
    if isinstance(item, dict):
        return (item.get("service_request_id"), item.get("update_id"),
                item.get("updated_datetime"))
    return (str(item),)


def _coord(value):
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not a coordinate") from None


def _w3c(value: str) -> str:
    """A cursor as an Open311 start_date (W3C datetime with its offset)."""
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.isoformat(timespec="seconds") if parsed.microsecond == 0 \
        else parsed.isoformat()


CONNECTOR = Open311Connector
