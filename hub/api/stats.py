"""GET /api/v1/stats: the indicators per agency, channel and period (hub.services.stats)."""
from datetime import datetime, time

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from hub.api.common import BEARER
from hub.auth import current_principal, require
from hub.extensions import db
from hub.models import CHANNELS
from hub.schemas.fields import Choice, Timestamp
from hub.services import sla, stats

blp = Blueprint("stats", __name__, description="Indicators: received, dispositioned, "
                "responded, resolved, overdue, in time, median hours to first response")


class DayOrTimestamp(Timestamp):
    """An RFC 3339 timestamp with offset, or a plain date meaning that day's start in
    Asia/Jakarta (how officers think of "since 1 November")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10:
            try:
                day = datetime.strptime(value, "%Y-%m-%d").date()
            except ValueError:
                raise ValidationError("must be a date (YYYY-MM-DD) or an RFC 3339 "
                                      "timestamp") from None
            return datetime.combine(day, time(0), tzinfo=sla.JAKARTA)
        return super()._deserialize(value, attr, data, **kwargs)


class StatsQuery(Schema):
    agency = fields.String(validate=validate.Length(1, 64), metadata={
        "description": "an agency code: that agency and its units (must be in your scope)"})
    since = DayOrTimestamp(metadata={"description": "reports submitted at or after"})
    until = DayOrTimestamp(metadata={"description": "reports submitted before"})
    channel = Choice(CHANNELS)
    period = Choice(("week", "month"), load_default="month",
                    metadata={"description": "grain of the time series"})


class Figures(Schema):
    received = fields.Integer()
    dispositioned = fields.Integer()
    responded = fields.Integer()
    resolved = fields.Integer()
    overdue = fields.Integer()
    responded_in_time = fields.Integer()
    in_time_tested = fields.Integer(metadata={
        "description": "reports whose first-response deadline was tested (the share's "
                       "denominator)"})
    share_responded_in_time = fields.Float(allow_none=True)
    median_hours_to_first_response = fields.Float(allow_none=True)


class AgencyFigures(Figures):
    agency = fields.String(allow_none=True)
    agency_name = fields.String(allow_none=True)
    parent = fields.String(allow_none=True)


class ChannelFigures(Figures):
    channel = fields.String()


class PeriodFigures(Figures):
    period = fields.String(metadata={"description": "first day (Asia/Jakarta) of the "
                                                    "week or month"})


class StatsSchema(Schema):
    filters = fields.Dict()
    totals = fields.Nested(Figures)
    agencies = fields.List(fields.Nested(AgencyFigures))
    channels = fields.List(fields.Nested(ChannelFigures))
    periods = fields.List(fields.Nested(PeriodFigures))
    grain = fields.String()
    generated_at = Timestamp()


@blp.route("/stats")
@blp.doc(security=BEARER)
@require("reports:read")
# An unknown parameter (a misspelt filter) is a 422, not silently all reports.
@blp.arguments(StatsQuery, location="query", unknown=RAISE)
@blp.response(200, StatsSchema)
def get_stats(args):
    """Indicators per agency (and its units), per channel and over time

    Counts reports by the agency responsible now, submitted in [since, until). An
    agency client sees its own agency and its units; national clients see all.
    "Responded in time": the first public response at or before dispositioned_at plus
    5 working days (Asia/Jakarta, national and agency holidays)."""
    filters = stats.filters_for(db.session, current_principal(), agency=args.get("agency"),
                                since=args.get("since"), until=args.get("until"),
                                channel=args.get("channel"))
    body = stats.overview(db.session, filters, args["period"])
    body["filters"] = {"agency": filters.agency, "channel": filters.channel,
                       "since": _iso(filters.since), "until": _iso(filters.until),
                       "period": args["period"]}
    return body


def _iso(value):
    return None if value is None else value.astimezone(sla.ZoneInfo("UTC")).isoformat() \
        .replace("+00:00", "Z")
