"""Master data: the hub category tree and the agency directory (public to read; units
are added by the agency they belong to)."""
import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.extensions import db
from hub.models import Agency, Category
from hub.services import directory

blp = Blueprint("directory", __name__, description="Categories and agencies")


class CategorySchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    parent = fields.String(allow_none=True, attribute="parent_code")


class AgencySchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True, attribute="parent_code")
    region_code = fields.String(allow_none=True)


class UnitInSchema(Schema):
    code = fields.String(required=True, metadata={"example": "kab-sleman.mpp"})
    name = fields.String(required=True, metadata={
        "example": "Mal Pelayanan Publik"})
    parent = fields.String(required=True, metadata={"example": "kab-sleman"})


class CategoryListSchema(Schema):
    items = fields.List(fields.Nested(CategorySchema))
    next_cursor = fields.String(allow_none=True)


class AgencyListSchema(Schema):
    items = fields.List(fields.Nested(AgencySchema))
    next_cursor = fields.String(allow_none=True)


@blp.route("/categories")
@blp.response(200, CategoryListSchema)
def categories():
    """The hub category tree ({code, name, parent}); the whole tree in one page"""
    rows = db.session.execute(sa.select(Category).order_by(Category.code)).scalars().all()
    return {"items": rows, "next_cursor": None}


@blp.route("/agencies")
@blp.response(200, AgencyListSchema)
def agencies():
    """The agency directory ({code, name, level, parent}); the whole directory in one page"""
    rows = db.session.execute(sa.select(Agency).order_by(Agency.code)).scalars().all()
    return {"items": rows, "next_cursor": None}


@blp.route("/agencies", methods=["POST"])
@require("mappings:write")
@blp.doc(security=BEARER)
@blp.arguments(UnitInSchema)
@blp.response(201, AgencySchema)
def add_unit(body):
    """Add a unit (OPD) below your agency or one of its units (`mappings:write`; `admin`
    anywhere). Its code is the parent's plus one part: `kab-sleman.mpp`."""
    unit = directory.add_unit(db.session, current_principal(), body["code"], body["name"],
                              body["parent"])
    db.session.commit()
    return unit
