"""The report as it was at one of its events: its own fields, recorded with the event.

A change-feed item (and so a webhook) carries the report at its event, not as it is when
read, so an integrator can rebuild the state at every event. What is recorded is what
the event row needs beyond its version: the report's scalar fields (timestamps in their
JSON form). Left out, and read from the report when the item is built: the reporter's
identity (no second copy of personal data in the timeline; it rarely changes), the
external references (identities that only accumulate) and the attachments (immutable
rows: those added at or before the event are shown).

Cost on the write path: one small dict per event, built from attributes already in
memory, written in the same COPY as the event row.
"""
import datetime as dt
import functools
from types import SimpleNamespace

_FIELDS = ("tracking_id", "title", "body", "category_code", "classification", "channel",
           "location_text", "region_code", "lat", "lon", "anonymous", "confidential",
           "agency_code", "status", "version")
_TIMES = ("occurred_at", "submitted_at", "due_at", "created_at", "updated_at")
# Columns whose default the ORM fills only at flush: a new report may not have them yet
# when its first event is recorded.
_ALL = frozenset(_FIELDS + _TIMES)
_DEFAULTED = ("classification", "status", "anonymous", "confidential", "version",
              "created_at", "updated_at")


def capture(report, at) -> dict | None:
    """The report's fields now, in their JSON form, or None for a stand-in that is not
    a report (an event that changes nothing, e.g. report.overdue, records no state of
    its own). `at` is the event's time, for a timestamp the flush has yet to fill."""
    if not hasattr(report, "tracking_id"):
        return None
    values = report.__dict__  # what is loaded, without the instrumented getattr's cost
    if not _ALL.issubset(values.keys()):
        # Expired or new and partly set: the attributes themselves (a pending report
        # answers None for what the flush fills; see _defaults).
        values = {name: getattr(report, name) for name in _ALL}
    state = {name: values[name] for name in _FIELDS}
    for name in _TIMES:
        value = values[name]
        state[name] = value.isoformat() if value is not None else None
    for name, default in _defaults().items():
        if state[name] is None:
            state[name] = default if default is not _AT else at.isoformat()
    state["id"] = str(report.id)
    return state


_AT = object()  # "the event's time" (a callable column default such as utcnow)


@functools.cache
def _defaults() -> dict:
    from hub.models import Report
    out = {}
    for name in _DEFAULTED:
        default = Report.__table__.c[name].default
        if default is not None:
            out[name] = default.arg if default.is_scalar else _AT
    return out


def at_event(state: dict, current, occurred_at) -> SimpleNamespace:
    """An object shaped like a Report (what representations.report_dict reads): the
    recorded fields, with the reporter and the references of the report `current`, and
    its attachments added by the time the event was recorded."""
    values = dict(state)
    values["id"] = current.id
    for name in _TIMES:
        values[name] = _parse(values[name])
    return SimpleNamespace(**values, reporter_name=current.reporter_name,
                           reporter_phone=current.reporter_phone,
                           reporter_email=current.reporter_email,
                           external_refs=current.external_refs,
                           attachments=[a for a in current.attachments
                                        if a.created_at <= occurred_at])


def _parse(value):
    return dt.datetime.fromisoformat(value) if value is not None else None
