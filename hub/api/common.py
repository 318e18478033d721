"""Small helpers shared by the API views."""
from flask import request

from hub.auth import current_principal
from hub.services.reports import Actor

BEARER = [{"bearerAuth": []}]


def actor(source_system=None) -> Actor:
    return Actor(current_principal(), source_system or request.headers.get("X-Source-System"))


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
