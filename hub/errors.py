"""RFC 9457 problem+json for every error the hub returns, API and framework alike."""
import logging

from flask import current_app, json, request
from werkzeug.exceptions import HTTPException

from hub.extensions import database_unavailable, db

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Field error text for a timestamp without offset; the spec makes that a 400, not a 422.
NAIVE_TIMESTAMP = ("timestamp has no UTC offset; send RFC 3339 with an offset, "
                   "e.g. 2026-11-22T09:30:00+07:00")


class Problem(Exception):
    """An error the hub reports on purpose, with a message a person can act on."""

    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 slug: str | None = None, errors: dict | None = None,
                 headers: dict | None = None, **extra):
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.slug, self.errors, self.headers, self.extra = slug, errors, headers or {}, extra

    def to_dict(self) -> dict:
        body = {"type": f"/problems/{self.slug}" if self.slug else "about:blank",
                "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def problem_schema():
    """The shape of every error body, for the OpenAPI document."""
    from marshmallow import INCLUDE, Schema, fields

    class ProblemSchema(Schema):
        class Meta:
            unknown = INCLUDE  # some problems add members (allowed, current_status, ...)

        type = fields.String(required=True, metadata={"example": "/problems/validation"})
        title = fields.String(required=True)
        status = fields.Integer(required=True)
        detail = fields.String()
        errors = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
            "description": "field path -> message (validation failures)"})

    return ProblemSchema


def not_found(what: str = "report") -> Problem:
    return Problem(404, "Not found", f"No {what} with that id is visible to you.",
                   slug="not-found")


def validation_problem(errors: dict, detail: str = "Some fields are invalid.") -> Problem:
    flat = flatten_errors(errors)
    status = 400 if any(NAIVE_TIMESTAMP in m for m in flat.values()) else 422
    title = "Timestamp without offset" if status == 400 else "Validation failed"
    return Problem(status, title, detail, slug="validation", errors=flat)


def flatten_errors(errors, prefix: str = "") -> dict:
    """{"report": {"title": ["Missing."]}} -> {"report.title": "Missing."}"""
    out = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "_schema" and prefix:
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(errors, (list, tuple)):
        if all(isinstance(e, str) for e in errors):
            out[prefix or "_body"] = "; ".join(errors)
        else:
            for item in errors:
                out.update(flatten_errors(item, prefix))
    else:
        out[prefix or "_body"] = str(errors)
    return out


def problem_response(problem: Problem):
    resp = current_app.response_class(json.dumps(problem.to_dict()), status=problem.status,
                                      mimetype=PROBLEM_JSON)
    for k, v in problem.headers.items():
        resp.headers[k] = v
    return resp


def _from_http_exception(error: HTTPException) -> Problem:
    data = getattr(error, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if messages is not None and error.code in (400, 422):
        # webargs nests by location ({"json": {...}}); the location is noise to a caller.
        if isinstance(messages, dict) and len(messages) == 1:
            (location, inner), = messages.items()
            if location in ("json", "query", "form", "files", "headers", "view_args"):
                messages = inner
        if isinstance(messages, dict) and list(messages) == ["_schema"] and \
                any("Invalid JSON" in m for m in messages["_schema"]):
            return Problem(400, "Malformed JSON", "The request body is not valid JSON.",
                           slug="malformed-json")
        if isinstance(messages, list) and any("Invalid JSON" in str(m) for m in messages):
            return Problem(400, "Malformed JSON", "The request body is not valid JSON.",
                           slug="malformed-json")
        return validation_problem(messages if isinstance(messages, dict) else
                                  {"_body": messages})
    detail = data.get("message") or error.description
    if error.code == 413:
        detail = ("The request body is larger than this hub accepts "
                  f"({current_app.config['MAX_CONTENT_LENGTH']} bytes).")
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return Problem(error.code or 500, error.name, detail, headers=headers)


def settle_unexpected(error: Exception) -> Problem:
    """After an error no handler expected: the transaction rolled back so nothing is
    partial, the error logged, and the Problem to answer with. A lost or unreachable
    database is the operator's problem, not the caller's: 503 with Retry-After."""
    _rollback()
    if database_unavailable(error):
        log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        return unavailable_problem()
    log.exception("unhandled error on %s %s", request.method, request.path)
    return Problem(500, "Internal server error", "The hub failed unexpectedly; nothing "
                   "was saved. The error is logged.", slug="internal")


def register(app, api):
    """Route every error through problem_response; flask-smorest's handler is replaced."""

    def handle_problem(problem: Problem):
        return problem_response(problem)

    def handle_http(error: HTTPException):
        return problem_response(_from_http_exception(error))

    def handle_unexpected(error: Exception):
        return problem_response(settle_unexpected(error))

    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
    # flask-smorest registered its own HTTPException handler in init_app; ours wins
    # because it is registered later for the same class.


def unavailable_problem() -> Problem:
    return Problem(503, "Service unavailable",
                   "The hub's database is not reachable right now; nothing was saved. "
                   "Retry later.", slug="database-unavailable", headers={"Retry-After": "5"})


def _rollback():
    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - connection already gone
        log.debug("rollback after error failed", exc_info=True)
