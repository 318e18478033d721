"""Change-feed items: GET /changes returns them, and every webhook carries one as its
`data`. One builder for both, so a delivery and the feed agree on every seq.

An item shows the report as it was at its event (hub.services.snapshots), seen with the
reader's rights (the privacy rules applied to the report as it is now), and the response
a `response.created` event is about (null otherwise).
An event that recorded no state of its own (report.overdue changes nothing) shows the
state of the report's previous event; an event older than recorded states shows the
report as it is now.
"""
import uuid

import sqlalchemy as sa

from hub.models import Report, ReportEvent, Response
from hub.services import snapshots
from hub.services.representations import report_dict, reporter_for, response_dict

# Recorded from a stand-in, not the report (hub.tasks.sla): they change nothing.
STATELESS = ("report.overdue",)


class Feed:
    """What the items of some events need, loaded once for all readers."""

    def __init__(self, session, events):
        self.events = list(events)
        report_ids = {e.report_id for e in self.events}
        self.reports = {r.id: r for r in session.execute(
            sa.select(Report).where(Report.id.in_(report_ids))).scalars()} \
            if report_ids else {}
        # As UUIDs: the JSON holds strings, and SQLite's Uuid binding wants UUIDs.
        response_ids = [_uuid(e.data.get("response_id")) for e in self.events
                        if e.type == "response.created" and e.data]
        response_ids = [i for i in response_ids if i is not None]
        self.responses = {str(r.id): r for r in session.execute(
            sa.select(Response).where(Response.id.in_(response_ids))).scalars()} \
            if response_ids else {}
        self._recorded = _recorded(session, [e.seq for e in self.events])
        for event in self.events:
            # Only events that never record a state look back (one query each, and few);
            # any other without one predates recorded states.
            if event.type in STATELESS and self._recorded.get(event.seq, (None, None))[1] is None:
                self._recorded[event.seq] = _previous(session, event, self._recorded)

    def report(self, event):
        """The report now (None if it is gone)."""
        return self.reports.get(event.report_id)

    def agency(self, event):
        """The agency responsible at the event."""
        agency, state = self._recorded.get(event.seq, (None, None))
        if agency is None and state is None:
            report = self.report(event)
            return report.agency_code if report is not None else None
        return agency

    def item(self, event, principal) -> dict:
        """The feed item of one event as `principal` may see it (for ChangeSchema)."""
        current = self.reports[event.report_id]
        state = self._recorded.get(event.seq, (None, None))[1]
        shown = snapshots.at_event(state, current, event.occurred_at) \
            if state is not None else current
        response = None
        if event.type == "response.created" and event.data:
            found = self.responses.get(event.data.get("response_id"))
            response = response_dict(found) if found is not None else None
        report = report_dict(shown, principal)
        # Privacy follows the report now (who is responsible, whether anonymous), not
        # then: an agency it moved away from no longer sees contact data, in any item.
        report["reporter"] = reporter_for(current, principal)
        return {"seq": event.seq, "type": event.type, "occurred_at": event.occurred_at,
                "report_id": event.report_id, "report_version": event.report_version,
                "source_system": event.source_system, "actor_agency": event.actor_agency,
                "data": event.data, "report": report, "response": response}


def _uuid(value):
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _recorded(session, seqs) -> dict:
    """seq -> (agency_code, report_state) as recorded with each event."""
    if not seqs:
        return {}
    rows = session.execute(sa.select(ReportEvent.seq, ReportEvent.agency_code,
                                     ReportEvent.report_state)
                           .where(ReportEvent.seq.in_(seqs)))
    return {seq: (agency, state) for seq, agency, state in rows}


def _previous(session, event, known) -> tuple:
    """The agency and state of the report's last event before `event` that has them."""
    agency, _ = known.get(event.seq, (None, None))
    # In Python, not IS NOT NULL: a JSON column may hold a JSON null.
    rows = session.execute(
        sa.select(ReportEvent.agency_code, ReportEvent.report_state)
        .where(ReportEvent.report_id == event.report_id, ReportEvent.seq < event.seq)
        .order_by(ReportEvent.seq.desc()).limit(50))
    for row in rows:
        if row.report_state is not None:
            return agency or row.agency_code, row.report_state
    return agency, None


def items(session, events, principal) -> list[dict]:
    feed = Feed(session, events)
    return [feed.item(e, principal) for e in feed.events if e.report_id in feed.reports]
