"""Reports and responses as a given caller may see them (the privacy rules live here)."""
import datetime as dt

from hub.services.access import in_scope

_REPORT_TIMESTAMPS = ("occurred_at", "submitted_at", "due_at", "created_at", "updated_at")


def reporter_for(report, principal):
    """Anonymous identity only for `admin`; phone and email only for the responsible
    agency and `admin`; any other agency that may read the report gets the name alone."""
    if principal is not None and principal.is_admin:
        return _reporter(report)
    if report.anonymous:
        return None
    if principal is not None and not principal.is_national and \
            in_scope(principal, report.agency_code):
        return _reporter(report)
    return {"name": report.reporter_name}


def _reporter(report):
    return {"name": report.reporter_name, "phone": report.reporter_phone,
            "email": report.reporter_email}


def attachment_dict(att) -> dict:
    return {"id": att.id, "filename": att.filename, "content_type": att.content_type,
            "size": att.size,
            "url": f"/api/v1/reports/{att.report_id}/attachments/{att.id}"}


def report_dict(report, principal) -> dict:
    return {
        "id": report.id, "tracking_id": report.tracking_id, "title": report.title,
        "body": report.body, "category": report.category_code,
        "classification": report.classification, "channel": report.channel,
        "location": {"text": report.location_text, "region_code": report.region_code,
                     "lat": report.lat, "lon": report.lon},
        "occurred_at": report.occurred_at, "submitted_at": report.submitted_at,
        "privacy": {"anonymous": report.anonymous, "confidential": report.confidential},
        "reporter": reporter_for(report, principal),
        "agency": report.agency_code, "status": report.status, "due_at": report.due_at,
        "external_refs": [{"system": r.system, "external_id": r.external_id}
                          for r in report.external_refs],
        "attachments": [attachment_dict(a) for a in report.attachments],
        "version": report.version, "created_at": report.created_at,
        "updated_at": report.updated_at,
    }


def _timestamp(value):
    # Exactly what hub.schemas.fields.Timestamp writes: UTC, "Z".
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def report_json(report, principal) -> dict:
    """report_dict, already in its JSON form (what ReportOutSchema would dump).

    The read endpoints are hot and return many reports; dumping each through
    marshmallow a second time was most of a list request's CPU. A test keeps the two
    identical, so the documented schema stays the truth."""
    body = report_dict(report, principal)
    body["id"] = str(body["id"])
    for key in _REPORT_TIMESTAMPS:
        body[key] = _timestamp(body[key])
    return body


def response_dict(response) -> dict:
    return {
        "id": response.id, "report_id": response.report_id, "agency": response.agency_code,
        "author_name": response.author_name, "body": response.body,
        "attachments": [attachment_dict(a) for a in response.attachments],
        "visibility": response.visibility,
        "external_refs": [{"system": r.system, "external_id": r.external_id}
                          for r in response.external_refs],
        "created_at": response.created_at, "source": response.source,
    }
