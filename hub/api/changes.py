"""GET /changes: the ordered change feed of the caller's agency."""
import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from hub.api import paging
from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.extensions import db
from hub.models import ReportEvent
from hub.schemas.changes import ChangeSchema
from hub.schemas.fields import Text
from hub.services import access
from hub.services import changes as feed

blp = Blueprint("changes", __name__, description="Change feed")


class ChangesQuerySchema(Schema):
    cursor = Text(validate=validate.Length(max=500))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class ChangePageSchema(Schema):
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String(metadata={"description": "always set: pass it back to "
                                                        "continue, even when caught up"})
    has_more = fields.Boolean()


@blp.route("/changes")
@blp.doc(security=BEARER)
@require("reports:read")
@blp.arguments(ChangesQuerySchema, location="query")
@blp.response(200, ChangePageSchema)
def changes(args):
    """Every change to the caller's reports exactly once, in commit order

    Sequence numbers are assigned at commit, so a cursor never skips a change that was
    committing while the page was read. `next_cursor` is returned even when there is
    nothing new: keep it and poll with it."""
    principal = current_principal()
    after = paging.decode(args.get("cursor"), paging.seq)
    last_seq = after[0] if after else 0
    stmt = sa.select(ReportEvent).where(ReportEvent.seq > last_seq)
    stmt = access.visible(principal, stmt, report_id_column=ReportEvent.report_id)
    limit = args["limit"]
    rows = db.session.execute(stmt.order_by(ReportEvent.seq).limit(limit + 1)).scalars().all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = feed.items(db.session, rows, principal)
    cursor = paging.encode([rows[-1].seq if rows else last_seq])
    return {"items": items, "next_cursor": cursor, "has_more": has_more}
