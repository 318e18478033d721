"""One change-feed item: GET /changes returns them, and webhooks carry the same item as
their `data`, each seen with its reader's rights."""
from marshmallow import Schema, fields

from hub.schemas.fields import Timestamp
from hub.schemas.reports import ReportOutSchema, ResponseOutSchema


class ChangeSchema(Schema):
    seq = fields.Integer()
    type = fields.String()
    occurred_at = Timestamp()
    report_id = fields.UUID()
    report_version = fields.Integer()
    source_system = fields.String(allow_none=True)
    actor_agency = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    report = fields.Nested(ReportOutSchema, metadata={
        "description": "the report as it was at this event (its version is "
                       "report_version)"})
    response = fields.Nested(ResponseOutSchema, allow_none=True, metadata={
        "description": "the response of a response.created event; null otherwise"})
