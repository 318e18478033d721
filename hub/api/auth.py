"""POST /api/v1/auth/token: OAuth2-style client credentials."""
from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from hub.auth import issue_token
from hub.errors import Problem
from hub.extensions import db
from hub.models import ApiClient
from hub.ratelimit import limited

blp = Blueprint("auth", __name__, description="Access tokens (client credentials)")


class TokenRequestSchema(Schema):
    # Documented as the only value it is, so the OpenAPI says what the hub accepts.
    grant_type = fields.String(load_default="client_credentials",
                               validate=validate.OneOf(["client_credentials"]))
    client_id = fields.String(required=True)
    client_secret = fields.String(required=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    scope = fields.String()


@blp.route("/auth/token", methods=["POST"])
@limited("token")
@blp.doc(requestBody={"content": {
    "application/json": {"schema": TokenRequestSchema},
    "application/x-www-form-urlencoded": {"schema": TokenRequestSchema}}})
@blp.response(200, TokenSchema)
def token():
    """Exchange client_id and client_secret for a short-lived bearer JWT"""
    body = request.form.to_dict() if request.form else (request.get_json(silent=True) or {})
    if not isinstance(body, dict):
        body = {}
    if body.get("grant_type", "client_credentials") != "client_credentials":
        # OAuth2 (RFC 6749 5.2) makes this a 400 of its own, before field validation.
        raise Problem(400, "Unsupported grant type",
                      "Only grant_type=client_credentials is supported.",
                      slug="unsupported-grant-type")
    errors = TokenRequestSchema().validate(body)
    if errors:
        from hub.errors import validation_problem
        raise validation_problem(errors)
    client = db.session.get(ApiClient, str(body["client_id"])[:64])
    if client is None or not client.active or not client.check_secret(str(body["client_secret"])):
        raise Problem(401, "Invalid client", "Unknown client_id or wrong client_secret.",
                      slug="invalid-client")
    access_token, ttl = issue_token(client)
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl,
            "scope": client.scopes}
