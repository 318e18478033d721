"""Source-system names and the agency each belongs to: list, and claim (admin)."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.errors import Problem
from hub.extensions import db
from hub.schemas.fields import Text
from hub.schemas.reports import SYSTEM_NAME
from hub.services import access, source_systems
from hub.services.idempotency import transactional
from hub.services.reports import check_agency

blp = Blueprint("source_systems", __name__,
                description="Source-system names, each claimed by one agency")


class ClaimSchema(Schema):
    name = Text(required=True, validate=SYSTEM_NAME, metadata={
        "description": "letters, digits and . _ : - (stored in lower case)"})
    agency = Text(required=True, metadata={"description": "the agency the name belongs to"})


class SourceSystemSchema(Schema):
    name = fields.String()
    agency = fields.String(attribute="agency_code")
    created_at = fields.DateTime()


class SourceSystemListSchema(Schema):
    items = fields.List(fields.Nested(SourceSystemSchema))
    next_cursor = fields.String(allow_none=True)


@blp.route("/source-systems", methods=["GET"])
@blp.doc(security=BEARER)
@require("reports:read")
@blp.response(200, SourceSystemListSchema)
def list_claims():
    """The source-system names claimed by the caller's agency (and the units below it);
    national clients see every claim"""
    return {"items": source_systems.claims(db.session, access.scope(current_principal())),
            "next_cursor": None}


@blp.route("/source-systems", methods=["POST"])
@blp.doc(security=BEARER)
@require("admin")
@transactional()
@blp.arguments(ClaimSchema)
@blp.response(201, SourceSystemSchema, description="Claimed")
@blp.alt_response(200, schema=SourceSystemSchema, description="Already this agency's")
def claim(body):
    """Claim a source-system name for an agency (hub admins)

    Writes under a system name (PUT /sources/{system}/reports/..., batch upserts) are
    only accepted from the agency that claimed it. A name another agency holds is 409."""
    principal = current_principal()
    check_agency(db.session, body["agency"])
    if not access.in_scope(principal, body["agency"]):
        raise Problem(403, "Forbidden", "You may claim names only for your own agency or "
                      "the units below it.", slug="out-of-scope")
    row, created = source_systems.claim(db.session, body["name"], body["agency"])
    return row, 201 if created else 200
