"""SP4N-LAPOR! connector: the hub, as a regional deployment, integrated with the national
system (KepMenPANRB 680/2020).

LAPOR!'s integration API is pull-only (no webhooks), so everything is polled:
  reports    GET /complaints?updated_since=&page=   complaints dispositioned to the
             agency (or its units) nationally, and the copies the hub created there
  responses  the follow-ups (GET /complaints/{tracking_id}/followups) of the complaints
             updated since the cursor
  writes     POST /complaints (returns the national tracking_id),
             POST /complaints/{tracking_id}/followups, PUT /complaints/{tracking_id}/status
Auth: `Authorization: Bearer <api_key>` and `token: <token>` on every call.

Categories, institutions (units) and statuses travel as LAPOR!'s own values: numeric
master ids as strings ("11", "340401"), mapped by the connector's mapping tables like any
local vocabulary. GET /masters/categories and /masters/institutions feed those tables
(`masters()`). The hub id goes out as `external_id`; complaints and follow-ups carrying
one are the hub's own records read back (echo), and a write retried after a crash finds
its earlier copy by it (GET /complaints?external_id=, the follow-up list).
"""
import time
from datetime import datetime, timezone

import requests

from connectors import fieldmap, http
from connectors.base import ConnectorError, LocalRecord, Page

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url", "institution_id"],
    "properties": {
        "base_url": {"type": "string", "title": "LAPOR! integration API base URL",
                     "format": "uri"},
        "institution_id": {"type": "integer", "title": "This agency's LAPOR! institution "
                           "id (institution_from of its follow-ups, and the default "
                           "institution of the complaints it forwards)"},
        "timezone": {"type": "string", "default": "Asia/Jakarta",
                     "title": "Time zone of naive timestamps"},
        "timeout_seconds": {"type": "number", "default": 30},
        "page_size": {"type": "integer", "default": 50},
        "max_pages": {"type": "integer", "default": 10000},
        "default_category_id": {"type": "integer", "default": None,
                                "title": "category_id for hub categories with no mapping "
                                         "(e.g. LAPOR!'s 'Lainnya')"},
        "push_internal_responses": {"type": "boolean", "default": False},
    },
    "secrets": ["api_key", "token"],
}
CLASSIFICATION_IN = {"pengaduan": "complaint", "aspirasi": "aspiration",
                     "permintaan_informasi": "information_request"}
CLASSIFICATION_OUT = {v: k for k, v in CLASSIFICATION_IN.items()}


class LaporConnector:
    kind = "lapor"
    streams = ("reports", "responses")

    def __init__(self, config: dict, secrets: dict | None = None, session=None):
        self.config, self.secrets = config, secrets or {}
        self.base_url = config["base_url"].rstrip("/")
        self.tz = config.get("timezone", "Asia/Jakarta")
        self.timeout = float(config.get("timeout_seconds", 30))
        self.http = session or requests.Session()
        self._institutions = None

    # --- HTTP ---------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs):
        headers = {"Accept": "application/json",
                   "Authorization": f"Bearer {self.secrets.get('api_key', '')}",
                   "token": self.secrets.get("token", "")}
        resp = http.request(self.http, method, self.base_url + path, path,
                            system="SP4N-LAPOR!", timeout=self.timeout, headers=headers,
                            **kwargs)
        message = ""
        if resp.status_code >= 400:
            try:
                message = ": " + str(resp.json().get("message"))
            except (ValueError, AttributeError):
                message = ""
        http.raise_for_status(resp, method, path, system="SP4N-LAPOR!",
                              credential="the API key or token", why=message)
        try:
            body = resp.json()
        except ValueError:
            raise ConnectorError(f"{method} {path}: SP4N-LAPOR! answered with invalid JSON",
                                 detail=resp.text[:200]) from None
        if not isinstance(body, dict) or "data" not in body:
            raise ConnectorError(f"{method} {path}: SP4N-LAPOR! answered without 'data'",
                                 detail=str(body)[:200])
        return body

    def _complaints(self, params: dict):
        """Pages of complaints: yields (items, last)."""
        page, seen = 1, set()
        size = int(self.config.get("page_size", 50))
        for _ in range(int(self.config.get("max_pages", 10000))):
            body = self._send("GET", "/complaints", params={**params, "page": page,
                                                            "per_page": size})
            items = body["data"]
            if not isinstance(items, list):
                raise ConnectorError("GET /complaints: 'data' is not a list")
            keys = {(i.get("tracking_id"), i.get("updated_at")) for i in items
                    if isinstance(i, dict)}
            if items and keys and keys <= seen:
                raise ConnectorError(f"GET /complaints: page {page} repeats complaints "
                                     "already read; stopping before anything is skipped")
            seen |= keys
            last_page = (body.get("meta") or {}).get("last_page")
            last = not items or (page >= int(last_page) if last_page is not None
                                 else len(items) < size)
            yield items, last
            if last:
                return
            page += 1
        raise ConnectorError("GET /complaints: more than max_pages pages; stopping")

    # --- masters ------------------------------------------------------------------------

    def masters(self) -> dict:
        """LAPOR!'s master data, for building the category and unit mapping tables."""
        return {"categories": self._send("GET", "/masters/categories")["data"],
                "institutions": self._send("GET", "/masters/institutions")["data"]}

    def _institution_name(self, inst_id):
        if inst_id is None:
            return None
        if self._institutions is None:
            self._institutions = {str(i["id"]): i.get("name") for i in
                                  self._send("GET", "/masters/institutions")["data"]}
        return self._institutions.get(str(inst_id))

    # --- reading ------------------------------------------------------------------------

    def read(self, stream: str, cursor: dict | None):
        if stream not in self.streams:
            raise ConnectorError(f"unknown stream '{stream}'", retryable=False)
        since = (cursor or {}).get("since")
        params = {"updated_since": since} if since else {}
        since_at = datetime.fromisoformat(since) if since else None
        high = since
        for items, _last in self._complaints(params):
            records, rejected = [], []
            for raw in items:
                try:
                    complaint = self._complaint(raw)
                except ValueError as exc:
                    rejected.append((raw, str(exc)))
                    continue
                stamp = complaint.updated_at.astimezone(timezone.utc).isoformat()
                high = max(high, stamp) if high else stamp
                if stream == "reports":
                    records.append(complaint)
                    continue
                for item in self._send("GET", f"/complaints/{complaint.external_id}/"
                                              "followups")["data"]:
                    try:
                        followup = self._followup(item, complaint.external_id)
                    except ValueError as exc:
                        rejected.append((item, str(exc)))
                        continue
                    if since_at is None or followup.updated_at >= since_at:
                        records.append(followup)
            # Sorted by updated_at, so each page may move the cursor.
            yield Page(records, {"since": high}, rejected)

    def _complaint(self, raw) -> LocalRecord:
        if not isinstance(raw, dict):
            raise ValueError("complaint is not a JSON object")
        tid = raw.get("tracking_id")
        if tid in (None, ""):
            raise ValueError("complaint has no tracking_id")
        updated = fieldmap.parse_datetime(raw.get("updated_at"), self.tz)
        if updated is None:
            raise ValueError("complaint has no updated_at")
        reporter = raw.get("reporter") if isinstance(raw.get("reporter"), dict) else None
        anonymous = bool(raw.get("is_anonymous"))
        classification = raw.get("classification") or "pengaduan"
        if classification not in CLASSIFICATION_IN:
            raise ValueError(f"classification '{classification}' is not one of "
                             f"{', '.join(CLASSIFICATION_IN)}")
        fields = {
            "title": raw.get("title"), "body": raw.get("content"),
            "category": _id(raw.get("category_id")), "status": raw.get("status"),
            "unit": _id(raw.get("institution_id")), "channel": raw.get("source"),
            "classification": CLASSIFICATION_IN[classification],
            "privacy": {"anonymous": anonymous, "confidential": bool(raw.get("is_secret"))},
            "submitted_at": fieldmap.parse_datetime(raw.get("created_at"), self.tz),
            "location": {"text": raw.get("location") or None,
                         "lat": _float(raw.get("latitude")),
                         "lon": _float(raw.get("longitude"))},
        }
        if reporter and not anonymous:
            fields["reporter"] = {"name": reporter.get("name"),
                                  "phone": reporter.get("phone"),
                                  "email": reporter.get("email")}
        hub_id = raw.get("external_id")
        return LocalRecord(stream="reports", external_id=str(tid), updated_at=updated,
                           fields=fields, origin_hub_id=str(hub_id) if hub_id else None,
                           raw=raw)

    def _followup(self, raw, tracking_id: str) -> LocalRecord:
        if not isinstance(raw, dict) or raw.get("id") in (None, ""):
            raise ValueError("follow-up has no id")
        created = fieldmap.parse_datetime(raw.get("created_at"), self.tz)
        if created is None:
            raise ValueError("follow-up has no created_at")
        hub_id = raw.get("external_id")
        fields = {"body": raw.get("content"), "created_at": created, "visibility": "public",
                  "author_name": self._institution_name(raw.get("institution_from"))}
        return LocalRecord(stream="responses", external_id=str(raw["id"]),
                           updated_at=created, fields=fields,
                           origin_hub_id=str(hub_id) if hub_id else None,
                           report_external_id=str(tracking_id), raw=raw)

    # --- finding earlier writes ---------------------------------------------------------

    def find_report(self, hub_id: str):
        body = self._send("GET", "/complaints", params={"external_id": hub_id, "page": 1,
                                                        "per_page": 5})
        for item in body["data"]:
            if str(item.get("external_id")) == hub_id:
                return str(item["tracking_id"])
        return None

    def find_response(self, hub_id: str):
        # Follow-ups are listed per complaint and the engine gives only the hub id here;
        # write_response looks in its complaint's follow-ups before posting instead.
        return None

    def _existing_followup(self, tracking_id: str, hub_id: str):
        for item in self._send("GET", f"/complaints/{tracking_id}/followups")["data"]:
            if str(item.get("external_id")) == hub_id:
                return str(item["id"])
        return None

    # --- writing ------------------------------------------------------------------------

    def write_report(self, report: dict) -> str:
        category = report.get("category") or self.config.get("default_category_id")
        if category in (None, ""):
            raise ConnectorError("the report's hub category has no LAPOR! category_id in "
                                 "the category mapping (and no default_category_id)",
                                 retryable=False)
        institution = report.get("unit") or self.config["institution_id"]
        body = {
            "title": report.get("title"), "content": report.get("body"),
            "category_id": _int(category, "category"),
            "institution_id": _int(institution, "unit"),
            "classification": CLASSIFICATION_OUT.get(report.get("classification"),
                                                     "pengaduan"),
            "source": report.get("channel"),
            "is_anonymous": bool(report.get("anonymous")),
            "is_secret": bool(report.get("confidential")),
            "location": report.get("address"), "latitude": report.get("lat"),
            "longitude": report.get("lon"), "created_at": report.get("submitted_at"),
            "external_id": report["hub_id"],
        }
        if report.get("status"):
            body["status"] = report["status"]
        if not report.get("anonymous"):
            body["reporter"] = {"name": report.get("reporter_name"),
                                "phone": report.get("reporter_phone"),
                                "email": report.get("reporter_email")}
        answer = self._send("POST", "/complaints", json=body)
        tid = (answer.get("data") or {}).get("tracking_id")
        if tid in (None, ""):
            raise ConnectorError("POST /complaints: SP4N-LAPOR! returned no tracking_id",
                                 retryable=False, detail=str(answer)[:300])
        return str(tid)

    def write_response(self, report_external_id: str, response: dict) -> str:
        if not response.get("public") and not self.config.get("push_internal_responses"):
            return ""  # an internal note is no tindak lanjut for the reporter
        existing = self._existing_followup(report_external_id, response["hub_id"])
        if existing:
            return existing  # written before a crash: never twice
        answer = self._send("POST", f"/complaints/{report_external_id}/followups", json={
            "content": response["body"],
            "institution_from": int(self.config["institution_id"]),
            "institution_to": None, "external_id": response["hub_id"]})
        fid = (answer.get("data") or {}).get("id")
        if fid in (None, ""):
            raise ConnectorError("POST followups: SP4N-LAPOR! returned no id",
                                 retryable=False, detail=str(answer)[:300])
        return str(fid)

    def write_status(self, report_external_id: str, local_status: str, note=None) -> None:
        self._send("PUT", f"/complaints/{report_external_id}/status",
                   json={"status": local_status, "note": note})

    def check(self) -> dict:
        started = time.perf_counter()
        institutions = self.masters()["institutions"]
        mine = int(self.config["institution_id"])
        if not any(i.get("id") == mine for i in institutions):
            raise ConnectorError(f"institution_id {mine} is not in LAPOR!'s institution "
                                 "master data", retryable=False)
        next(iter(self.read("reports", {"since": datetime.now(timezone.utc).isoformat()})))
        return {"ok": True, "institutions": len(institutions),
                "latency_ms": round((time.perf_counter() - started) * 1000)}


def _id(value):
    return None if value in (None, "") else str(value)


def _int(value, field):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConnectorError(f"the {field} mapping gives '{value}', which is no LAPOR! "
                             "master id (numbers only)", retryable=False) from None


def _float(value):
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not a coordinate") from None


CONNECTOR = LaporConnector
