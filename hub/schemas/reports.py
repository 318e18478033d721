"""Marshmallow schemas of the report-exchange API v1 (they generate the OpenAPI too)."""
from marshmallow import Schema, fields, validate

from hub.models import CHANNELS, CLASSIFICATIONS, STATUSES, VISIBILITIES
from hub.schemas.fields import Choice, Text, Timestamp

Len = validate.Length


class LocationSchema(Schema):
    text = Text(validate=Len(max=500), allow_none=True)
    region_code = Text(validate=Len(max=20), allow_none=True)
    lat = fields.Float(validate=validate.Range(-90, 90), allow_none=True, allow_nan=False)
    lon = fields.Float(validate=validate.Range(-180, 180), allow_none=True, allow_nan=False)


class PrivacySchema(Schema):
    anonymous = fields.Boolean(load_default=False)
    confidential = fields.Boolean(load_default=False)


class ReporterSchema(Schema):
    name = Text(validate=Len(max=200), allow_none=True)
    phone = Text(validate=Len(max=50), allow_none=True)
    email = fields.Email(validate=Len(max=254), allow_none=True)


# A source-system name (stored in lower case: hub.services.source_systems).
SYSTEM_NAME = [Len(1, 64), validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                                           error="letters, digits and . _ : - only")]


class ExternalRefSchema(Schema):
    system = Text(required=True, validate=SYSTEM_NAME)
    external_id = Text(required=True, validate=Len(1, 200))


class ReportInSchema(Schema):
    """Fields a client may send when creating a report."""

    title = Text(required=True, validate=Len(1, 200))
    body = Text(required=True, validate=Len(1, 20000))
    category = Text(required=True, validate=Len(1, 100))
    classification = Choice(CLASSIFICATIONS, load_default="complaint")
    channel = Choice(CHANNELS, required=True)
    location = fields.Nested(LocationSchema, load_default=dict)
    occurred_at = Timestamp(allow_none=True)
    submitted_at = Timestamp(allow_none=True)
    privacy = fields.Nested(PrivacySchema, load_default=lambda: {"anonymous": False,
                                                                 "confidential": False})
    reporter = fields.Nested(ReporterSchema, allow_none=True, load_default=None)
    agency = Text(allow_none=True, validate=Len(1, 64), metadata={
        "description": "Responsible agency. Agency clients may only name their own "
                       "(the default); national clients may leave it null."})


class SourceReportInSchema(ReportInSchema):
    """A report as a source system holds it, for PUT /sources/{system}/reports/{id}."""

    status = Choice(STATUSES, allow_none=True, metadata={
        "description": "The status in the source system; the hub walks the life-cycle to "
                       "it, recording each step."})
    source_updated_at = Timestamp(allow_none=True, metadata={
        "description": "The source's own last-modified time. A copy older than the one "
                       "the hub holds is ignored (result `stale`)."})


class ReportOutSchema(Schema):
    id = fields.UUID()
    tracking_id = fields.String()
    title = fields.String()
    body = fields.String()
    category = fields.String(allow_none=True)
    classification = fields.String()
    channel = fields.String()
    location = fields.Dict()
    occurred_at = Timestamp(allow_none=True)
    submitted_at = Timestamp()
    privacy = fields.Nested(PrivacySchema)
    reporter = fields.Dict(allow_none=True, metadata={
        "description": "null when the reporter is anonymous (admin scope excepted); phone "
                       "and email only for the responsible agency and admin"})
    agency = fields.String(allow_none=True)
    status = fields.String()
    due_at = Timestamp(allow_none=True)
    external_refs = fields.List(fields.Nested(ExternalRefSchema))
    attachments = fields.List(fields.Dict())
    version = fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class ReportListQuerySchema(Schema):
    status = Choice(STATUSES)
    agency = Text(validate=Len(1, 64))
    category = Text(validate=Len(1, 100))
    channel = Choice(CHANNELS)
    updated_since = Timestamp()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    cursor = Text(validate=Len(max=500))


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportOutSchema))
    next_cursor = fields.String(allow_none=True)


class StatusChangeSchema(Schema):
    status = Choice(STATUSES, required=True)
    note = Text(validate=Len(max=5000), allow_none=True)


class DispositionSchema(Schema):
    to_agency = Text(required=True, validate=Len(1, 64))
    note = Text(validate=Len(max=5000), allow_none=True)


class ResponseInSchema(Schema):
    body = Text(required=True, validate=Len(1, 20000))
    visibility = Choice(VISIBILITIES, load_default="public")
    author_name = Text(validate=Len(max=200), allow_none=True)
    external_ref = fields.Nested(ExternalRefSchema, allow_none=True)
    created_at = Timestamp(allow_none=True, metadata={
        "description": "When the response was logged in its source system (default: now)"})


class ResponseOutSchema(Schema):
    id = fields.UUID()
    report_id = fields.UUID()
    agency = fields.String()
    author_name = fields.String(allow_none=True)
    body = fields.String()
    attachments = fields.List(fields.Dict())
    visibility = fields.String()
    external_refs = fields.List(fields.Nested(ExternalRefSchema))
    created_at = Timestamp()
    source = fields.String()


class ResponseListSchema(Schema):
    items = fields.List(fields.Nested(ResponseOutSchema))
    next_cursor = fields.String(allow_none=True)


class EventOutSchema(Schema):
    seq = fields.Integer()
    type = fields.String()
    occurred_at = Timestamp()
    actor = fields.String(allow_none=True)
    actor_agency = fields.String(allow_none=True)
    source_system = fields.String(allow_none=True)
    report_version = fields.Integer()
    data = fields.Dict(allow_none=True)


class EventListSchema(Schema):
    items = fields.List(fields.Nested(EventOutSchema))
    next_cursor = fields.String(allow_none=True)


class PageQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    cursor = Text(validate=Len(max=500))


class AttachmentOutSchema(Schema):
    id = fields.UUID()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    url = fields.String()


