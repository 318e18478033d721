"""What a subscriber receives: the change-feed item, seen with its owner's rights.

The owner is the subscription's API client; its agency and scopes decide, exactly as for
GET /changes, whether a report is visible (tenant isolation) and how much of the
reporter it may see (anonymous identity only for admin; phone and email only for the
responsible agency and admin).
"""
import json

from hub.auth import Principal
from hub.schemas.changes import ChangeSchema
from hub.schemas.fields import Timestamp
from hub.services import access
from hub.services.representations import report_dict, response_dict

_EVENT = ChangeSchema()
_TIMESTAMP = Timestamp()


def principal_of(client) -> Principal:
    return Principal(client.id, client.agency_code, frozenset(client.scopes.split()))


def may_read(principal: Principal, report_agencies: set) -> bool:
    """The same rule as access.visible: the owner's agency (or a unit below it) is or
    was responsible for the report."""
    if principal.is_national:
        return True
    covered = access.scope(principal)
    return any(code in covered for code in report_agencies)


def matches(subscription, type_: str, agency_code) -> bool:
    if subscription.event_types and type_ not in subscription.event_types:
        return False
    if subscription.agencies and agency_code not in subscription.agencies:
        return False
    return True


def encode(type_: str, timestamp, data: dict) -> str:
    body = {"type": type_, "timestamp": _TIMESTAMP._serialize(timestamp, None, None),
            "data": data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def report_event_body(event, report, response, principal: Principal) -> str:
    item = {"seq": event.seq, "type": event.type, "occurred_at": event.occurred_at,
            "report_id": event.report_id, "report_version": event.report_version,
            "source_system": event.source_system, "actor_agency": event.actor_agency,
            "data": event.data, "report": report_dict(report, principal),
            "response": response_dict(response) if response is not None else None}
    return encode(event.type, event.occurred_at, _EVENT.dump(item))


def outbox_body(event) -> str:
    return encode(event.type, event.occurred_at, event.data)
