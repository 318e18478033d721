"""Master data: the hub category tree and the agency directory (public, read-only)."""
import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hub.extensions import db
from hub.models import Agency, Category

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
