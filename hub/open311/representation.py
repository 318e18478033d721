"""Hub records as GeoReport v2 resources: services, service requests and updates.

The facade is public: nothing personal is ever written here. A request carries no
reporter name, phone or email (anonymous or not), an update no author; confidential
reports and internal responses are filtered out by the queries in hub.open311.views
before they reach these functions.
"""
from hub.open311.formats import w3c

CLOSED = ("resolved", "closed", "rejected")
# Short public wording of each hub status, as status_notes.
STATUS_NOTES = {
    "received": "Received; waiting for verification.",
    "verified": "Verified; waiting to be forwarded to the agency in charge.",
    "dispositioned": "Forwarded to the agency in charge.",
    "in_progress": "The agency in charge is following it up.",
    "resolved": "Resolved by the agency in charge.",
    "closed": "Closed.",
    "rejected": "Not processed (not valid or a duplicate).",
}

# Extra fields every hub category accepts: the report fields Open311 has no name for.
CLASSIFICATION_NAMES = {"complaint": "Pengaduan (complaint)",
                        "aspiration": "Aspirasi (aspiration)",
                        "information_request": "Permintaan informasi (information request)"}
YES_NO = [{"key": "true", "name": "Ya (yes)"}, {"key": "false", "name": "Tidak (no)"}]
ATTRIBUTES = [
    {"variable": True, "code": "classification", "datatype": "singlevaluelist",
     "required": False, "datatype_description": None, "order": 1,
     "description": "Klasifikasi laporan (kind of report); complaint when not given",
     "values": [{"key": k, "name": v} for k, v in CLASSIFICATION_NAMES.items()]},
    {"variable": True, "code": "anonymous", "datatype": "singlevaluelist",
     "required": False, "datatype_description": None, "order": 2,
     "description": "Anonim: hide the reporter's identity from the agencies handling it",
     "values": YES_NO},
    {"variable": True, "code": "confidential", "datatype": "singlevaluelist",
     "required": False, "datatype_description": None, "order": 3,
     "description": "Rahasia: keep the report off every public listing, this one included",
     "values": YES_NO},
    {"variable": True, "code": "occurred_at", "datatype": "datetime",
     "required": False, "datatype_description": "W3C datetime with offset, "
                                                "e.g. 2026-11-23T09:30:00+07:00",
     "order": 4, "description": "Tanggal kejadian: when it happened", "values": []},
]
ATTRIBUTE_CODES = {a["code"]: a for a in ATTRIBUTES}


def open311_status(hub_status: str) -> str:
    return "closed" if hub_status in CLOSED else "open"


def service(category, parent_name: str | None) -> dict:
    return {"service_code": category.code, "service_name": category.name,
            "description": category.name_en or category.name, "metadata": True,
            "type": "realtime", "keywords": category.name_en or "",
            "group": parent_name or category.name}


def service_definition(category) -> dict:
    return {"service_code": category.code, "attributes": ATTRIBUTES}


def description_of(report) -> str:
    """Open311 has one text: title and body, the way the Open311 connector writes them.
    A body that already opens with the title (reports posted here: the title is the
    description's first line) is the whole text by itself."""
    title, body = report.title.strip(), report.body
    return body if body.lstrip().startswith(title) else f"{title}\n\n{body}"


def service_request(report, category_name, agency_name) -> dict:
    status = open311_status(report.status)
    return {
        "service_request_id": report.tracking_id,
        "status": status,
        "status_notes": STATUS_NOTES.get(report.status),
        "service_name": category_name,
        "service_code": report.category_code,
        "description": description_of(report),
        "agency_responsible": agency_name,
        "service_notice": None,
        "requested_datetime": w3c(report.submitted_at),
        "updated_datetime": w3c(report.updated_at),
        # The deadline of the clock now running (verification, response or resolution).
        "expected_datetime": w3c(report.due_at) if status == "open" else None,
        "address": report.location_text,
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        # Attachments are served to agencies only (they may show people or documents).
        "media_url": None,
    }


def request_update(response, tracking_id: str, status: str) -> dict:
    return {"update_id": str(response.id), "service_request_id": tracking_id,
            "status": status, "updated_datetime": w3c(response.created_at),
            "description": response.body, "media_url": None}
