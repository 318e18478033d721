"""Declarative REST/JSON connector: most regional apps (Laravel, CodeIgniter) fit it.

Everything system-specific is configuration (see mappings/kab-sleman/lapor-sleman.yaml):
base URL, auth, list endpoints and their pagination, field paths, write endpoints.
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

RECENT_PAGES = 8  # pages whose record keys are remembered to detect a repeating server

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url", "streams"],
    "properties": {
        "base_url": {"type": "string", "title": "Base URL", "format": "uri"},
        "timezone": {"type": "string", "title": "Time zone of naive local timestamps",
                     "default": None},
        "timeout_seconds": {"type": "number", "default": 30},
        "auth": {"type": "object", "title": "Authentication", "properties": {
            "type": {"enum": ["none", "api_key_header", "basic", "bearer",
                              "oauth2_client_credentials"]},
            "header": {"type": "string"}, "token_url": {"type": "string"},
            "username": {"type": "string"}, "scope": {"type": "string"}}},
        "streams": {"type": "object"},
        "write": {"type": "object"},
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
        self._oauth_token = None
        self.direction = direction_of(config, bool(config.get("write")))
        self.streams = self.streams_read(tuple(config.get("streams", {})))
        self._extractors: dict = {}

    # --- HTTP ---------------------------------------------------------------------------

    def _auth_headers(self) -> dict:
        auth = self.config.get("auth") or {"type": "none"}
        kind = auth.get("type", "none")
        if kind == "api_key_header":
            return {auth.get("header", "X-API-Key"): self.secrets.get("api_key", "")}
        if kind == "bearer":
            return {"Authorization": f"Bearer {self.secrets.get('token', '')}"}
        if kind == "basic":
            import base64
            pair = f"{auth.get('username', '')}:{self.secrets.get('password', '')}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        if kind == "oauth2_client_credentials":
            return {"Authorization": f"Bearer {self._oauth()}"}
        return {}

    def _oauth(self) -> str:
        if self._oauth_token and self._oauth_token[1] > time.time() + 30:
            return self._oauth_token[0]
        auth = self.config["auth"]
        data = {"grant_type": "client_credentials",
                "client_id": self.secrets.get("client_id", ""),
                "client_secret": self.secrets.get("client_secret", "")}
        if auth.get("scope"):
            data["scope"] = auth["scope"]
        body = self._send("POST", auth["token_url"], data=data, authenticate=False)
        if not isinstance(body, dict) or "access_token" not in body:
            raise ConnectorError("the OAuth2 token endpoint returned no access_token",
                                 retryable=False)
        self._oauth_token = (body["access_token"], time.time() + float(body.get("expires_in",
                                                                                 300)))
        return self._oauth_token[0]

    def _send(self, method: str, path: str, *, authenticate: bool = True, **kwargs):
        url = path if path.startswith("http") else self.base_url + path
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if authenticate:
            headers.update(self._auth_headers())
        resp = http.request(self.http, method, url, path, system="the local system",
                            timeout=self.timeout, headers=headers, **kwargs)
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

    def read(self, stream: str, cursor: dict | None):
        cfg = self.config["streams"][stream]
        listing = cfg["list"]
        pagination = listing.get("pagination", {"type": "none"})
        since = (cursor or {}).get("since")
        params = dict(listing.get("params", {}))
        if since and listing.get("since_param"):
            params[listing["since_param"]] = since
        size = int(pagination.get("size", 100))
        page_no = int(pagination.get("start", 1))
        offset, next_token = 0, None
        # The keys of the last few pages, not of the whole run: enough to catch a server
        # that serves the same page again (a stall, a page repeated), while memory stays
        # flat however many records a backfill reads.
        recent: deque = deque(maxlen=RECENT_PAGES)
        high_water = since
        for _ in range(int(listing.get("max_pages", 100000))):
            query = dict(params)
            kind = pagination.get("type", "none")
            if kind == "page":
                query[pagination.get("page_param", "page")] = page_no
                query[pagination.get("size_param", "per_page")] = size
            elif kind == "offset":
                query[pagination.get("offset_param", "offset")] = offset
                query[pagination.get("limit_param", "limit")] = size
            elif kind == "cursor":
                if pagination.get("size_param"):  # keyset APIs usually take a size too
                    query[pagination["size_param"]] = size
                if next_token:
                    query[pagination.get("cursor_param", "cursor")] = next_token
            body = self._send("GET", listing["path"], params=query)
            items = fieldmap.get_path(body, listing.get("records_path", "data")) \
                if listing.get("records_path", "data") else body
            if not isinstance(items, list):
                raise ConnectorError(f"GET {listing['path']}: expected a list at "
                                     f"'{listing.get('records_path', 'data')}', got "
                                     f"{type(items).__name__}")
            records, rejected = [], []
            for raw in items:
                try:
                    records.append(self._record(stream, cfg, raw))
                except ValueError as exc:
                    rejected.append((raw, str(exc)))
            keys = {(r.external_id, r.updated_at) for r in records}
            if items and keys and keys <= set().union(*recent):
                raise ConnectorError(f"GET {listing['path']}: page {page_no} repeats records "
                                     "already read in this run; the local system's paging "
                                     "is inconsistent, stopping before anything is skipped")
            recent.append(keys)
            stamps = [r.updated_at for r in records if r.updated_at is not None]
            if stamps:
                newest = max(stamps).astimezone(timezone.utc).isoformat()
                high_water = max(high_water, newest) if high_water else newest
            yield Page(records, {"since": high_water}, rejected)
            if kind == "none" or not items:
                return
            if kind == "page":
                last = fieldmap.get_path(body, pagination["last_page_path"]) \
                    if pagination.get("last_page_path") else None
                if (last is not None and page_no >= int(last)) or \
                        (last is None and len(items) < size):
                    return
                page_no += 1
            elif kind == "offset":
                if len(items) < size:
                    return
                offset += len(items)
            elif kind == "cursor":
                next_token = fieldmap.get_path(body, pagination["next_path"])
                if not next_token:
                    return
        raise ConnectorError(f"GET {listing['path']}: more than max_pages pages; stopping")

    def _record(self, stream: str, cfg: dict, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("record is not a JSON object")
        extractor = self._extractors.get(stream)
        if extractor is None:
            extractor = self._extractors[stream] = fieldmap.Extractor(cfg["fields"], self.tz)
        flat = extractor(raw)
        external_id = flat.pop("external_id", None)
        if external_id in (None, ""):
            raise ValueError("record has no id")
        updated_at = flat.pop("updated_at", None)
        if "updated_at" in cfg["fields"] and updated_at is None:
            raise ValueError("record has no last-modified time")
        report_ref = flat.pop("report_external_id", None)
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


CONNECTOR = RestConnector
