"""/api/v1/clients: the national administrator lists API clients, deactivates them and
replaces their secrets; the tokens of a deactivated or re-keyed client stop at once."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.errors import Problem
from hub.extensions import db
from hub.models import ApiClient
from hub.services import clients

blp = Blueprint("clients", __name__, description="API clients (national administrator)")


class ClientSchema(Schema):
    id = fields.String(metadata={"description": "the client_id"})
    name = fields.String()
    agency = fields.String(attribute="agency_code",
                           metadata={"description": "agency code, or '*' for national"})
    scopes = fields.String(metadata={"description": "space-separated"})
    active = fields.Boolean()
    secret_generation = fields.Integer(metadata={
        "description": "how many secrets the client has had; its tokens name the one "
                       "they were issued under"})
    created_at = fields.DateTime()


class ClientListSchema(Schema):
    items = fields.List(fields.Nested(ClientSchema))


class NewSecretSchema(ClientSchema):
    client_secret = fields.String(metadata={
        "description": "the new secret, shown this once (the hub keeps only a hash)"})


def _national_admin() -> None:
    if not current_principal().is_national:
        raise Problem(403, "Forbidden", "API clients are managed by a national "
                      "administrator's client (agency '*', admin scope).",
                      slug="not-national")


def _client(client_id: str) -> ApiClient:
    client = db.session.get(ApiClient, client_id[:64])
    if client is None:
        raise Problem(404, "Not found", f"There is no API client '{client_id}'; "
                      "GET /api/v1/clients lists them.", slug="not-found")
    return client


@blp.route("/clients", methods=["GET"])
@blp.doc(security=BEARER)
@require("admin")
@blp.response(200, ClientListSchema)
def list_clients():
    """Every API client, active or not (admin)"""
    _national_admin()
    return {"items": clients.listing(db.session)}


@blp.route("/clients/<string:client_id>/deactivate", methods=["POST"])
@blp.doc(security=BEARER)
@require("admin")
@blp.response(200, ClientSchema)
def deactivate_client(client_id):
    """Deactivate a client (admin): it gets no new token and its tokens stop working

    Every hub worker refuses its tokens within a second."""
    _national_admin()
    client = _client(client_id)
    clients.deactivate(db.session, client)
    return client


@blp.route("/clients/<string:client_id>/rotate-secret", methods=["POST"])
@blp.doc(security=BEARER)
@require("admin")
@blp.response(200, NewSecretSchema)
def rotate_client_secret(client_id):
    """Give a client a new secret, returned this once (admin)

    The old secret and every token issued under it stop working (within a second on
    every hub worker); the client requests a new token with the new secret."""
    _national_admin()
    client = _client(client_id)
    secret = clients.rotate_secret(db.session, client)
    fields_of = {name: getattr(client, name) for name in (
        "id", "name", "agency_code", "scopes", "active", "secret_generation", "created_at")}
    return {**fields_of, "client_secret": secret}
