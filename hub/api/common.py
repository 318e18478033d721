"""Small helpers shared by the API views."""
from flask import request

from hub.auth import current_principal
from hub.services.reports import Actor

BEARER = [{"bearerAuth": []}]


def actor(source_system=None) -> Actor:
    return Actor(current_principal(), source_system or _source_system_header())


def _source_system_header() -> str | None:
    """X-Source-System names the system a change comes from; it lands in varchar(64)
    columns (events, responses), so it follows the same rule as a system name in an
    external_ref. Unchecked, an overlong value was a database error (500)."""
    value = request.headers.get("X-Source-System")
    if value is None or not value.strip():
        return None  # an empty header is the same as none
    from hub.errors import validation_problem
    from hub.schemas.reports import ExternalRefSchema
    errors = ExternalRefSchema(only=("system",)).validate({"system": value})
    if errors:
        raise validation_problem({"X-Source-System": errors["system"]},
                                 "The X-Source-System header is not a valid system name.")
    from hub.services.source_systems import normalise
    return normalise(value)


def check_if_match(report) -> None:
    """If-Match on an update: a stale ETag is 412 (lost-update protection)."""
    from hub.errors import Problem
    if_match = request.headers.get("If-Match")
    if if_match is None:
        return
    candidates = [tag.strip() for tag in if_match.split(",")]
    if "*" in candidates or report.etag in candidates or \
            report.etag in [c.removeprefix("W/") for c in candidates]:
        return
    raise Problem(412, "Precondition failed",
                  f"The report changed since you read it (now {report.etag}); fetch it "
                  "again and retry.", slug="precondition-failed")


def with_etag(body, report, status=200, headers=None):
    headers = dict(headers or {})
    headers["ETag"] = report.etag
    return body, status, headers
