"""An Open311 GeoReport v2 server in memory (a city's "Open311-speaking" local system).

Implemented subset (each path in .json and .xml, as FORMATS allows; a format not served
answers 404, as an XML-only council server does):
  GET  /services.{fmt}
  GET  /requests.{fmt}           start_date, end_date (on updated_datetime, or on
                                 requested_datetime as the spec says: START_DATE_ON),
                                 status, service_request_id (comma list; MULTI_ID off:
                                 only the first is honoured), extensions=true, page/page_size
  GET  /requests/<id>.{fmt}
  POST /requests.{fmt}           form-encoded; api_key; attribute[<code>]=...
  GET  /tokens/<token>.{fmt}     (when TOKENS is on, POST answers a token first)
  GET  /servicerequestupdates.{fmt}   mySociety extension; api_key; start_date/end_date
  POST /servicerequestupdates.{fmt}   api_key, service_request_id, update_id, status, ...
Modes: WRAPPED answers JSON lists as FixMyStreet does ({"requests": [{"request": [...]}]},
every value in a list); STATUS_NOTES keeps an update's text as the request's status_notes.
Errors follow the spec: an HTTP 4xx/5xx with [{"code": ..., "description": ...}] (XML:
<errors><error>...).
Attributes posted with a request come back under `extended_attributes` (with
extensions=true), together with the extended status; an update posted by a client keeps
the client's update_id in `extended_attributes.client_update_id`.
/_sim/... are controls for tests (local officers at work, faults, token mode).
"""
import threading
import uuid
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from flask import Flask, Response, jsonify, request

WIB = timezone(timedelta(hours=7))
SERVICES = {
    "JALAN-RUSAK": "Jalan Rusak", "PJU": "Penerangan Jalan Umum Mati",
    "SAMPAH": "Sampah Tidak Terangkut", "DRAINASE": "Drainase Tersumbat",
    "BANJIR": "Banjir / Genangan", "POHON": "Pohon Tumbang", "PKL": "PKL Liar",
    "PARKIR": "Parkir Liar", "REKLAME": "Reklame Liar",
}
AGENCIES = ("DSDABM", "DLH", "DISHUB", "SATPOLPP", "DISKAMTAM")
OPEN_EXTENDED = ("INVESTIGATING", "ACTION_SCHEDULED", "IN_PROGRESS")
CLOSED_EXTENDED = ("FIXED", "DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION",
                   "INTERNAL_REFERRAL")
STATUSES = ("open", "closed") + OPEN_EXTENDED + CLOSED_EXTENDED


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.status_notes = False
        self.reset()

    def reset(self):
        with self.lock:
            self.requests: dict[str, dict] = {}
            self.updates: dict[str, dict] = {}
            self.tokens: dict[str, dict] = {}
            self.next_request, self.next_update = 1001, 1
            self._last = None
            self.posts = {"requests": 0, "updates": 0}
            self.reads: list[dict] = []  # the query of every GET requests, for tests

    def stamp(self) -> str:
        now = datetime.now(WIB)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now.isoformat(timespec="milliseconds")

    def add_request(self, fields: dict, attributes: dict | None = None) -> dict:
        with self.lock:
            sid = str(self.next_request)
            self.next_request += 1
            # (a test may file a request as made long ago)
            stamp = fields.get("requested_datetime") or self.stamp()
            code = fields.get("service_code", "JALAN-RUSAK")
            row = {"service_request_id": sid, "status": "open", "status_notes": None,
                   "service_name": SERVICES.get(code, code), "service_code": code,
                   "description": fields.get("description", ""),
                   "agency_responsible": fields.get("agency_responsible"),
                   "service_notice": None, "requested_datetime": stamp,
                   "updated_datetime": stamp, "expected_datetime": None,
                   "address": fields.get("address_string") or fields.get("address"),
                   "address_id": None, "zipcode": None,
                   "lat": _float(fields.get("lat")), "long": _float(fields.get("long")),
                   "media_url": None, "_extended": None, "_attributes": dict(attributes or {}),
                   "_private": {k: fields.get(k) for k in ("email", "first_name",
                                                           "last_name", "phone")}}
            self.requests[sid] = row
            return self.public(row, True)

    def set_status(self, sid: str, status: str) -> None:
        row = self.requests[sid]
        if status in ("open", "closed"):
            row["status"], row["_extended"] = status, None
        else:
            row["status"] = "open" if status in OPEN_EXTENDED else "closed"
            row["_extended"] = status

    def add_update(self, sid: str, *, status=None, description="", client_update_id=None,
                   author=None) -> dict:
        with self.lock:
            uid = str(self.next_update)
            self.next_update += 1
            if status:
                self.set_status(sid, status)
            stamp = self.stamp()
            self.requests[sid]["updated_datetime"] = stamp
            row = self.requests[sid]
            if self.status_notes and description:
                row["status_notes"] = description
            upd = {"update_id": uid, "service_request_id": sid,
                   "status": status or row["_extended"] or row["status"],
                   "updated_datetime": stamp, "description": description or "",
                   "media_url": None, "author": author,
                   "extended_attributes": {"client_update_id": client_update_id}}
            self.updates[uid] = upd
            return dict(upd)

    @staticmethod
    def public(row: dict, extensions: bool) -> dict:
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        if extensions:
            out["extended_attributes"] = {"status": row["_extended"],
                                          **row["_attributes"]}
        return out


def _float(value):
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        raise _Bad(400, f"'{value}' is not a coordinate")


class _Bad(Exception):
    def __init__(self, code, description):
        super().__init__(description)
        self.code, self.description = code, description


def _parse(text: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(400, f"{name} must be a W3C datetime")
    if parsed.tzinfo is None:
        raise _Bad(400, f"{name} must carry a UTC offset")
    return parsed


def _xml(root: str, item: str, rows) -> bytes:
    """A GeoReport XML list: <root><item><field>text</field>…</item>…</root>."""
    top = ElementTree.Element(root)
    for row in rows:
        _xml_fill(ElementTree.SubElement(top, item), row)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(top)


def _xml_fill(element, value) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _xml_fill(ElementTree.SubElement(element, key), inner)
    elif isinstance(value, list):
        for inner in value:
            _xml_fill(ElementTree.SubElement(element, element.tag.rstrip("s") or "item"),
                      inner)
    elif value is not None:
        element.text = str(value).lower() if isinstance(value, bool) else str(value)


def _wrapped(value):
    """FixMyStreet's JSON: every value in a list of one."""
    if isinstance(value, dict):
        return {k: [_wrapped(v)] for k, v in value.items() if v is not None}
    return value


ROOTS = {"requests": ("service_requests", "request"), "services": ("services", "service"),
         "updates": ("service_request_updates", "request_update"),
         "tokens": ("tokens", "token"), "errors": ("errors", "error")}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update({"API_KEY": "open311-demo-key", "JURISDICTION": "bandung.go.id",
                       "PAGING": True, "MAX_RESULTS": 1000, "TOKENS": False,
                       "TOKEN_PENDING_LOOKUPS": 1, "FORMATS": ("json", "xml"),
                       "WRAPPED": False, "START_DATE_ON": "updated_datetime",
                       "STATUS_NOTES": False, "MULTI_ID": True})
    app.config.update(config or {})
    store = Store()
    store.status_notes = bool(app.config["STATUS_NOTES"])
    state = {"fault": None, "fault_count": None}
    app.extensions["sim"] = {"store": store, "state": state}

    def fmt_of() -> str:
        return "xml" if request.path.endswith(".xml") else "json"

    def answer(kind: str, rows: list, code: int = 200):
        if fmt_of() == "xml":
            root, item = ROOTS[kind]
            return Response(_xml(root, item, rows), code,
                            content_type="text/xml; charset=utf-8")
        if app.config["WRAPPED"] and kind == "requests":
            return jsonify({"requests": [{"request": [_wrapped(r) for r in rows]}]}), code
        return jsonify(rows), code

    def error(code, description):
        return answer("errors", [{"code": code, "description": description}], code)

    @app.errorhandler(_Bad)
    def bad(exc):
        return error(exc.code, exc.description)

    def arg(name):
        return request.values.get(name)

    def require_key():
        if arg("api_key") != app.config["API_KEY"]:
            raise _Bad(403, "Invalid api_key")

    @app.before_request
    def guard():
        if request.path.startswith("/_sim/"):
            return None
        ext = request.path.rsplit(".", 1)[-1] if "." in request.path else ""
        if ext not in app.config["FORMATS"]:
            # A server that does not speak the format answers as if the path were unknown.
            return Response("Not Found", 404, content_type="text/html")
        if state["fault"]:
            if state["fault_count"] is not None:
                state["fault_count"] -= 1
                if state["fault_count"] <= 0:
                    state["fault"] = None
            return error(500, "Internal server error")
        jurisdiction = arg("jurisdiction_id")
        if jurisdiction not in (None, app.config["JURISDICTION"]):
            return error(404, f"jurisdiction_id '{jurisdiction}' not found")
        return None

    def window(rows, key):
        start, end = arg("start_date"), arg("end_date")
        if start:
            cut = _parse(start, "start_date")
            rows = [r for r in rows if datetime.fromisoformat(r[key]) >= cut]
        if end:
            cut = _parse(end, "end_date")
            rows = [r for r in rows if datetime.fromisoformat(r[key]) <= cut]
        return rows

    def spec_window(rows):
        """The spec's start_date/end_date: on requested_datetime, at most 90 days, the
        last 90 days when neither is given."""
        start = _parse(arg("start_date"), "start_date") if arg("start_date") else None
        end = _parse(arg("end_date"), "end_date") if arg("end_date") else None
        now = datetime.now(timezone.utc)
        if start is None and end is None:
            start = now - timedelta(days=90)
        elif start is None:
            start = end - timedelta(days=90)
        elif end is None:
            end = min(now, start + timedelta(days=90))
        if end is not None and end - start > timedelta(days=90):
            raise _Bad(400, "start_date and end_date may not span more than 90 days")
        return [r for r in rows if start <= datetime.fromisoformat(r["requested_datetime"])
                and (end is None or datetime.fromisoformat(r["requested_datetime"]) <= end)]

    def paged(rows):
        if app.config["PAGING"] and arg("page"):
            try:
                page, size = int(arg("page")), int(arg("page_size") or 50)
            except ValueError:
                raise _Bad(400, "page and page_size must be numbers")
            if page < 1 or not 1 <= size <= 1000:
                raise _Bad(400, "page >= 1, 1 <= page_size <= 1000")
            return rows[(page - 1) * size: page * size]
        return rows[:app.config["MAX_RESULTS"]]

    @app.get("/services.<fmt>")
    def services(fmt):
        return answer("services", [{"service_code": k, "service_name": v, "description": v,
                                    "metadata": False, "type": "realtime", "keywords": "",
                                    "group": "Kota Bandung"} for k, v in SERVICES.items()])

    @app.get("/requests.<fmt>")
    def list_requests(fmt):
        store.reads.append(dict(request.args))
        with store.lock:
            rows = list(store.requests.values())
        ids = arg("service_request_id")
        ext = arg("extensions") == "true"
        if ids:
            # The spec: a list of ids overrides every other argument.
            wanted = ids.split(",")
            wanted = set(wanted if app.config["MULTI_ID"] else wanted[:1])
            rows = [r for r in rows if r["service_request_id"] in wanted]
            rows.sort(key=lambda r: int(r["service_request_id"]))
            return answer("requests", [store.public(r, ext) for r in rows])
        if app.config["START_DATE_ON"] == "requested_datetime":
            rows = spec_window(rows)
        else:
            rows = window(rows, "updated_datetime")
        if arg("status"):
            wanted = set(arg("status").split(","))
            rows = [r for r in rows if r["status"] in wanted]
        if arg("service_code"):
            rows = [r for r in rows if r["service_code"] in arg("service_code").split(",")]
        key = app.config["START_DATE_ON"]
        rows.sort(key=lambda r: (r[key], int(r["service_request_id"])))
        return answer("requests", [store.public(r, ext) for r in paged(rows)])

    @app.get("/requests/<sid>.<fmt>")
    def one_request(sid, fmt):
        row = store.requests.get(sid)
        if row is None:
            return error(404, f"service_request_id {sid} not found")
        return answer("requests", [store.public(row, arg("extensions") == "true")])

    @app.post("/requests.<fmt>")
    def post_request(fmt):
        require_key()
        form = request.form
        code = form.get("service_code")
        if code not in SERVICES:
            raise _Bad(400, f"service_code '{code}' not found")
        if not (form.get("lat") and form.get("long")) and not form.get("address_string") \
                and not form.get("address_id"):
            raise _Bad(400, "a location is required: lat & long, address_string or "
                            "address_id")
        if not form.get("description"):
            raise _Bad(400, "description is required")
        attributes = {key[len("attribute["):-1]: value for key, value in form.items()
                      if key.startswith("attribute[") and key.endswith("]")}
        with store.lock:
            store.posts["requests"] += 1
            row = store.add_request({k: v for k, v in form.items()
                                     if k != "requested_datetime"}, attributes)
            if app.config["TOKENS"]:
                token = uuid.uuid4().hex[:12]
                store.tokens[token] = {"service_request_id": row["service_request_id"],
                                       "pending": int(app.config["TOKEN_PENDING_LOOKUPS"])}
                return answer("requests", [{"token": token}], 201)
        return answer("requests", [{"service_request_id": row["service_request_id"],
                                    "service_notice": "Laporan diterima"}], 201)

    @app.get("/tokens/<token>.<fmt>")
    def token_lookup(token, fmt):
        with store.lock:
            entry = store.tokens.get(token)
            if entry is None:
                return error(404, f"token {token} not found")
            if entry["pending"] > 0:
                entry["pending"] -= 1
                return answer("tokens", [{"token": token}])
        return answer("tokens", [{"token": token,
                                  "service_request_id": entry["service_request_id"]}])

    @app.get("/servicerequestupdates.<fmt>")
    def list_updates(fmt):
        require_key()
        with store.lock:
            rows = [dict(u) for u in store.updates.values()]
        rows = window(rows, "updated_datetime")
        rows.sort(key=lambda r: (r["updated_datetime"], int(r["update_id"])))
        for row in rows:
            row.pop("author", None)
        return answer("updates", paged(rows))

    @app.post("/servicerequestupdates.<fmt>")
    def post_update(fmt):
        require_key()
        form = request.form
        sid = form.get("service_request_id")
        if sid not in store.requests:
            raise _Bad(404, f"service_request_id '{sid}' not found")
        if not form.get("update_id"):
            raise _Bad(400, "update_id is required")
        status = form.get("status") or None
        if status is not None and status not in STATUSES:
            raise _Bad(400, f"status '{status}' is not one of {', '.join(STATUSES)}")
        if not status and not form.get("description"):
            raise _Bad(400, "an update needs a status or a description")
        author = " ".join(x for x in (form.get("first_name"), form.get("last_name")) if x)
        with store.lock:
            store.posts["updates"] += 1
            upd = store.add_update(sid, status=status, description=form.get("description"),
                                   client_update_id=form.get("update_id"),
                                   author=author or None)
        return answer("updates", [{"update_id": upd["update_id"]}], 201)

    # --- controls for tests --------------------------------------------------------------

    @app.post("/_sim/reset")
    def reset():
        store.reset()
        state["fault"] = None
        return jsonify({"ok": True})

    @app.post("/_sim/fault")
    def fault():
        body = request.get_json(force=True) or {}
        state["fault"] = body.get("mode") or None
        state["fault_count"] = body.get("count")
        return jsonify({"ok": True})

    @app.post("/_sim/requests")
    def sim_request():
        body = request.get_json(force=True) or {}
        fields = {"service_code": "JALAN-RUSAK", "agency_responsible": "DSDABM",
                  "description": "Jalan berlubang\nLubang besar di Jl. Soekarno-Hatta.",
                  "lat": -6.93, "long": 107.62, "address_string": "Jl. Soekarno-Hatta",
                  **body}
        # Coordinates are kept as the test gives them, even unusable ones (a real
        # server's data entry accepts what its form lets through).
        coords = {k: fields.pop(k) for k in ("lat", "long")}
        with store.lock:
            row = store.add_request(fields)
            store.requests[row["service_request_id"]].update(coords)
            return jsonify(store.public(store.requests[row["service_request_id"]],
                                        True)), 201

    @app.post("/_sim/requests/<sid>/updates")
    def sim_update(sid):
        if sid not in store.requests:
            return error(404, "not found")
        body = request.get_json(force=True) or {}
        return jsonify(store.add_update(sid, status=body.get("status"),
                                        description=body.get("description", ""),
                                        author=body.get("author"))), 201

    return app
