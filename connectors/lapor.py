"""SP4N-LAPOR! connector: the hub, as a regional deployment, integrated with the national
system (KepMenPANRB 680/2020).

LAPOR!'s integration API is pull-only (no webhooks), so everything is polled:
  reports    GET /complaints?updated_since=&page=   complaints dispositioned to the
             agency (or its units) nationally, and the copies the hub created there
  responses  the follow-ups (GET /complaints/{tracking_id}/followups) of the complaints
             updated since the cursor
  writes     POST /complaints (returns the national tracking_id),
             POST /complaints/{tracking_id}/followups, PUT /complaints/{tracking_id}/status
Auth: `Authorization: Bearer <api_key>` (when an api_key is set) and the token in the
header `token_header` names (`token`; the legacy API calls it `KEYTOKEN`) on every call.
Submissions go to `submit_path` as JSON or, for the legacy API (POST
.../api/services/laporan), as the XML form `<lapor token=..><pelapor>..</pelapor><laporan
rahasia=".." anonim=".."><isi>..</isi></laporan></lapor>` (`submit_format: xml`), built
with ElementTree so every value is escaped; an XML answer is read with defusedxml.

Forwarding ("bukan wewenang"): LAPOR! moves a complaint to another institution, and it
leaves this key's listing without a trace. So each run asks by id (chunked) for the
complaints the hub still holds open for this connector that the listing did not show
(`recheck`); one now at an institution outside this agency's tree, or no longer shown
at all (403/404), goes to the hub as a `forwarded` record: the hub dispositions the
report to the agency `forward_agencies` (or the unit table) names for that institution,
or holds it for an officer.

Categories, institutions (units) and statuses travel as LAPOR!'s own values: numeric
master ids as strings ("11", "340401"), mapped by the connector's mapping tables like any
local vocabulary. GET /masters/categories and /masters/institutions feed those tables
(`masters()`). The hub id goes out as `external_id`; complaints and follow-ups carrying
one are the hub's own records read back (echo), and a write retried after a crash finds
its earlier copy by it (GET /complaints?external_id=, the follow-up list).
"""
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import quote

import requests
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXML

from connectors import fieldmap, http
from connectors.base import DEFAULTS_SCHEMA, ConnectorError, LocalRecord, Page

CONFIG_SCHEMA = {
    "type": "object",
    "required": ["base_url", "institution_id"],
    "additionalProperties": False,  # a misspelt key is refused by name, not ignored
    "properties": {
        "base_url": {"type": "string", "title": "LAPOR! integration API base URL",
                     "format": "uri"},
        # A number as written; compared with LAPOR!'s ids (numbers, or the legacy API's
        # strings) as a string.
        "institution_id": {"type": "integer", "title": "This agency's LAPOR! institution "
                           "id (institution_from of its follow-ups, the default "
                           "institution of the complaints it forwards, and the root of the "
                           "institutions whose complaints are its own)"},
        "timezone": {"type": "string", "default": "Asia/Jakarta",
                     "title": "Time zone of naive timestamps"},
        "timeout_seconds": {"type": "number", "default": 30},
        "page_size": {"type": "integer", "default": 50},
        "max_pages": {"type": "integer", "default": 10000},
        "default_category_id": {"type": "integer", "default": None,
                                "title": "category_id for hub categories with no mapping "
                                         "(e.g. LAPOR!'s 'Lainnya')"},
        "push_internal_responses": {"type": "boolean", "default": False},
        "token_header": {"type": "string", "default": "token",
                         "pattern": "^[A-Za-z0-9-]{1,64}$",
                         "title": "Header that carries the token (legacy API: KEYTOKEN)"},
        "submit_path": {"type": "string", "default": "/complaints",
                        "pattern": "^(/[A-Za-z0-9_-]+)+$",
                        "title": "Where complaints are submitted (legacy API: "
                                 "/api/services/laporan)"},
        "submit_format": {"enum": ["json", "xml"], "default": "json",
                          "title": "Body of a submission: json, or the legacy XML form"},
        "recheck_open": {"type": "boolean", "default": True,
                         "title": "Ask by id for the complaints the hub holds open that the "
                                  "listing no longer shows (moved to another institution)"},
        "recheck_chunk": {"type": "integer", "default": 50, "minimum": 1, "maximum": 100,
                          "title": "tracking ids per re-read"},
        "forward_agencies": {"type": "object", "default": {},
                             "additionalProperties": {"type": "string"},
                             "title": "LAPOR! institution id -> hub agency code, for the "
                                      "complaints LAPOR! forwards beyond this agency (the "
                                      "unit table names only its own units)"},
        "defaults": DEFAULTS_SCHEMA,
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
        self._institutions = None  # str id -> {"name", "parent"}, read once per run
        self._watch: list[str] = []  # the complaints the hub holds open, re-read by id

    def recheck(self, external_ids) -> None:
        """The complaints the hub holds open (not final) for this connector, and those
        held: one forwarded to another institution leaves the listing silently, so its
        fate shows only when it is asked for by id."""
        if self.config.get("recheck_open", True):
            self._watch = [str(i) for i in external_ids]

    # --- HTTP ---------------------------------------------------------------------------

    def _headers(self, accept="application/json") -> dict:
        headers = {"Accept": accept,
                   self.config.get("token_header") or "token": self.secrets.get("token", "")}
        if self.secrets.get("api_key"):
            headers["Authorization"] = f"Bearer {self.secrets['api_key']}"
        return headers

    def _call(self, method: str, path: str, missing_ok=(), accept="application/json",
              headers=None, **kwargs):
        """The answer to one call; None for a status in `missing_ok`; any other error
        becomes a ConnectorError naming what to do."""
        resp = http.request(self.http, method, self.base_url + path, path,
                            system="SP4N-LAPOR!", timeout=self.timeout,
                            headers={**self._headers(accept), **(headers or {})}, **kwargs)
        if resp.status_code in missing_ok:
            return None
        if resp.status_code >= 400:
            message = _message(resp)
            http.raise_for_status(resp, method, path, system="SP4N-LAPOR!",
                                  credential="the API key or token",
                                  why=f": {message}" if message else "")
        return resp

    def _send(self, method: str, path: str, missing_ok=(), **kwargs):
        resp = self._call(method, path, missing_ok=missing_ok, **kwargs)
        if resp is None:
            return None
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

    def _tree(self) -> dict:
        if self._institutions is None:
            self._institutions = {
                str(i["id"]): {"name": i.get("name"), "parent": _id(i.get("parent_id"))}
                for i in self._send("GET", "/masters/institutions")["data"]
                if isinstance(i, dict) and i.get("id") not in (None, "")}
        return self._institutions

    def _institution_name(self, inst_id):
        if inst_id is None:
            return None
        return (self._tree().get(str(inst_id)) or {}).get("name")

    def _ours(self, inst_id) -> bool:
        """Whether an institution is this agency's or one of its units (ids as strings;
        a root's parent is null, or "0" in the legacy API)."""
        mine, tree, seen = str(self.config["institution_id"]), self._tree(), set()
        current = None if inst_id in (None, "") else str(inst_id)
        while current is not None and current not in seen:
            if current == mine:
                return True
            seen.add(current)
            current = (tree.get(current) or {}).get("parent")
        return False

    # --- reading ------------------------------------------------------------------------

    def read(self, stream: str, cursor: dict | None):
        if stream not in self.streams:
            raise ConnectorError(f"unknown stream '{stream}'", retryable=False)
        since = (cursor or {}).get("since")
        params = {"updated_since": since} if since else {}
        since_at = datetime.fromisoformat(since) if since else None
        high = since
        listed: set = set()
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
                listed.add(complaint.external_id)
                if stream == "reports":
                    # The listing shows what this key may see, and the complaints it
                    # created wherever they went: one of those now elsewhere was forwarded.
                    if complaint.origin_hub_id and complaint.fields["unit"] is not None \
                            and not self._ours(complaint.fields["unit"]):
                        complaint = self._forwarded(complaint)
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
        if stream == "reports" and self._watch:
            yield from self._recheck(listed, high)

    def _recheck(self, listed: set, high):
        """Ask by id for the complaints the hub holds open that the listing did not show:
        still ours and unchanged (the listing shows every change), or forwarded away."""
        ids = [i for i in dict.fromkeys(self._watch) if i not in listed]
        size = int(self.config.get("recheck_chunk") or 50)
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            body = self._send("GET", "/complaints", params={
                "tracking_id": ",".join(chunk), "page": 1, "per_page": len(chunk)})
            if not isinstance(body["data"], list):
                raise ConnectorError("GET /complaints: 'data' is not a list")
            # Only the complaints asked for: a server that ignores the filter answers its
            # default listing.
            shown = {str(i.get("tracking_id")): i for i in body["data"]
                     if isinstance(i, dict) and str(i.get("tracking_id")) in set(chunk)}
            records, rejected = [], []
            for tid in chunk:
                raw = shown.get(tid)
                if raw is None:
                    raw = self._send("GET", f"/complaints/{quote(tid, safe='')}",
                                     missing_ok=(403, 404))
                    if raw is None:
                        records.append(self._gone(tid))
                        continue
                    raw = raw["data"]
                try:
                    complaint = self._complaint(raw)
                except ValueError as exc:
                    rejected.append((raw, str(exc)))
                    continue
                if not self._ours(complaint.fields["unit"]):
                    records.append(self._forwarded(complaint))
                elif tid not in shown:
                    records.append(complaint)  # still ours, though the list left it out
            yield Page(records, {"since": high}, rejected)

    def _forwarded(self, complaint: LocalRecord) -> LocalRecord:
        """A complaint LAPOR! moved to an institution outside this agency's tree."""
        to = complaint.fields["unit"]
        agency = (self.config.get("forward_agencies") or {}).get(str(to))
        complaint.fields["forwarded"] = {"to": to, "name": self._institution_name(to),
                                         "agency": agency}
        return complaint

    def _gone(self, tid: str) -> LocalRecord:
        """A complaint LAPOR! no longer shows this key at all (403/404): most likely
        forwarded elsewhere (bukan wewenang), or withdrawn; where to, it does not say."""
        return LocalRecord(stream="reports", external_id=tid, updated_at=None,
                           fields={"forwarded": {"to": None, "name": None,
                                                 "agency": None}},
                           raw={"tracking_id": tid})

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
            "category_id": str(category), "institution_id": str(institution),
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
        path = self.config.get("submit_path") or "/complaints"
        answer = None
        if (self.config.get("submit_format") or "json") == "xml":
            tid = self._submit_xml(path, body)
        else:
            body["category_id"] = _int(category, "category")
            body["institution_id"] = _int(institution, "unit")
            answer = self._send("POST", path, json=body)
            tid = (answer.get("data") or {}).get("tracking_id")
        if tid in (None, ""):
            raise ConnectorError(f"POST {path}: SP4N-LAPOR! returned no tracking_id",
                                 retryable=False,
                                 detail=str(answer)[:300] if answer else None)
        return str(tid)

    def _submit_xml(self, path: str, body: dict):
        """The legacy submission: the XML form, its answer XML (or JSON)."""
        resp = self._call("POST", path, accept="application/xml, application/json",
                          headers={"Content-Type": "application/xml; charset=utf-8"},
                          data=submission_xml(body, self.secrets.get("token", "")))
        if "xml" not in resp.headers.get("Content-Type", "") and \
                not resp.text.lstrip().startswith("<"):
            try:
                return ((resp.json() or {}).get("data") or {}).get("tracking_id")
            except (ValueError, AttributeError):
                raise ConnectorError(f"POST {path}: SP4N-LAPOR! answered neither XML nor "
                                     "JSON", retryable=False, detail=resp.text[:200]) from None
        try:
            root = SafeXML.fromstring(resp.content)
        except (ET.ParseError, DefusedXmlException):
            raise ConnectorError(f"POST {path}: SP4N-LAPOR! answered with invalid XML",
                                 retryable=False, detail=resp.text[:200]) from None
        found = next((el.text for el in root.iter()
                      if el.tag.lower() in ("tracking_id", "trackingid") and el.text), None)
        return found.strip() if found else None

    def write_response(self, report_external_id: str, response: dict) -> str:
        if not response.get("public") and not self.config.get("push_internal_responses"):
            return ""  # an internal note is no tindak lanjut for the reporter
        existing = self._existing_followup(report_external_id, response["hub_id"])
        if existing:
            return existing  # written before a crash: never twice
        institution = str(self.config["institution_id"])
        answer = self._send("POST", f"/complaints/{report_external_id}/followups", json={
            "content": response["body"],
            "institution_from": int(institution) if institution.isdigit() and
            (self.config.get("submit_format") or "json") == "json" else institution,
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
        mine = str(self.config["institution_id"])
        if not any(str(i.get("id")) == mine for i in institutions if isinstance(i, dict)):
            raise ConnectorError(f"institution_id {mine} is not in LAPOR!'s institution "
                                 "master data", retryable=False)
        next(iter(self.read("reports", {"since": datetime.now(timezone.utc).isoformat()})))
        return {"ok": True, "institutions": len(institutions),
                "latency_ms": round((time.perf_counter() - started) * 1000)}


# Characters XML 1.0 cannot carry at all (escaping does not help): dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub("", str(value))


def submission_xml(body: dict, token: str) -> bytes:
    """The legacy API's submission form, every value escaped by ElementTree."""
    root = ET.Element("lapor", token=_text(token))
    reporter = ET.SubElement(root, "pelapor")
    for tag, key in (("nama", "name"), ("telepon", "phone"), ("email", "email")):
        value = (body.get("reporter") or {}).get(key)
        if value not in (None, ""):
            ET.SubElement(reporter, tag).text = _text(value)
    report = ET.SubElement(root, "laporan", rahasia="1" if body.get("is_secret") else "0",
                           anonim="1" if body.get("is_anonymous") else "0")
    for tag, key in (("judul", "title"), ("isi", "content"), ("kategori", "category_id"),
                     ("instansi", "institution_id"), ("klasifikasi", "classification"),
                     ("sumber", "source"), ("status", "status"), ("lokasi", "location"),
                     ("latitude", "latitude"), ("longitude", "longitude"),
                     ("tanggal", "created_at"), ("external_id", "external_id")):
        if body.get(key) not in (None, ""):
            ET.SubElement(report, tag).text = _text(body[key])
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _message(resp) -> str:
    """LAPOR!'s own words on an error: JSON `message`, or an XML answer's message."""
    try:
        return str(resp.json().get("message") or "")[:200]
    except (ValueError, AttributeError):
        pass
    try:
        root = SafeXML.fromstring(resp.content)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return ""
    found = next((el.text for el in root.iter()
                  if el.tag.lower() in ("message", "pesan") and el.text), "")
    return found.strip()[:200]


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
