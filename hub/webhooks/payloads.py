"""What a subscriber receives: the change-feed item, seen with its owner's rights.

The owner is the subscription's API client; its agency and scopes decide, exactly as for
GET /changes, whether a report is visible (tenant isolation) and how much of the
reporter it may see (anonymous identity only for admin; phone and email only for the
responsible agency and admin).
"""
import datetime
import json
import uuid

from hub.auth import Principal
from hub.schemas.changes import ChangeSchema
from hub.schemas.fields import Timestamp
from hub.services import access

_EVENT = ChangeSchema()
_TIMESTAMP = Timestamp()


def principal_of(client) -> Principal:
    return Principal(client.id, client.agency_code, frozenset(client.scopes.split()))


def may_read(principal: Principal, report_agencies: set) -> bool:
    """The same rule as access.visible: the owner's agency (or a unit below it) is or
    was responsible for the report (here: by the time of the event)."""
    if principal.is_national:
        return True
    covered = access.scope(principal)
    return any(code in covered for code in report_agencies)


def matches(subscription, type_: str, agency_code, covered_by_filter) -> bool:
    """The subscription's filters on one event: its type, and the agency responsible at
    the event being one of the filter's agencies or a unit below one
    (`covered_by_filter(subscription)`: that set of codes, None for no filter)."""
    if subscription.event_types and type_ not in subscription.event_types:
        return False
    if subscription.agencies and agency_code not in covered_by_filter(subscription):
        return False
    return True


def _json(value):
    # What Flask's JSON provider does for GET /changes, so both write the same text.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        return _TIMESTAMP._serialize(value, None, None)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode(type_: str, timestamp, data: dict) -> str:
    body = {"type": type_, "timestamp": _TIMESTAMP._serialize(timestamp, None, None),
            "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json)


def report_event_body(feed, event, principal: Principal) -> str:
    """The change-feed item of the event (hub.services.changes), as GET /changes would
    give it to the owner."""
    return encode(event.type, event.occurred_at, _EVENT.dump(feed.item(event, principal)))


def outbox_body(event) -> str:
    return encode(event.type, event.occurred_at, event.data)
