"""Local records into the hub: map, upsert, hold what cannot be mapped yet."""
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import scoped_session

from hub.auth import Principal
from hub.errors import Problem, flatten_errors
from hub.models import HeldRecord, Report, ReportExternalRef, Response, ResponseExternalRef, utcnow
from hub.schemas.fastload import FastLoad
from hub.schemas.reports import ResponseInSchema, SourceReportInSchema
from hub.services import events, ingest_plan, lifecycle, sla, source_systems
from hub.services import reports as report_service
from hub.services.reports import Actor
from hub.services.responses import add_response
from hub.services.responses import find_by_ref as find_response_by_ref
from hub.sync.tidy import tidy_report

log = logging.getLogger(__name__)
# Loaded through the fast path: the same results and errors as the schemas' own load.
SOURCE_REPORT = FastLoad(SourceReportInSchema())
RESPONSE_IN = FastLoad(ResponseInSchema())


def unsettled_ids(session, conn) -> list[str]:
    """The local ids of the reports this connector's system shares with the hub that can
    still change (not closed or rejected) and are still its agency's, and of those held:
    a source that lists records by when they were made shows their later changes only
    when asked for them by id. A report dispositioned beyond the agency is no longer its
    to change (nor, usually, the local system's to show): asking for it every run would
    only grow."""
    from hub.services.access import subtree_of
    final = [status for status, onward in lifecycle.TRANSITIONS.items() if not onward]
    query = sa.select(ReportExternalRef.external_id).join(
        Report, Report.id == ReportExternalRef.report_id).where(
        ReportExternalRef.system == source_systems.normalise(conn.system),
        Report.status.not_in(final))
    if not connector_principal(conn).is_national:
        query = query.where(Report.agency_code.in_(subtree_of(sa.literal(conn.agency_code))))
    linked = session.execute(query.order_by(ReportExternalRef.external_id)).scalars()
    held = session.execute(sa.select(HeldRecord.external_id).where(
        HeldRecord.connector_id == conn.id, HeldRecord.stream == "reports")
        .order_by(HeldRecord.external_id)).scalars()
    return list(dict.fromkeys([*linked, *held]))


def connector_principal(conn) -> Principal:
    return Principal(f"connector:{conn.id}", conn.agency_code,
                     frozenset({"reports:read", "reports:write"}))


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value):
    if isinstance(value, dict):
        # Plain values are most of a record: skip the call for them.
        return {k: v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def record_to_json(record, now: datetime | None = None) -> dict:
    return {"stream": record.stream, "external_id": record.external_id,
            "updated_at": _not_ahead(record.updated_at, now),
            "fields": jsonable(record.fields), "origin_hub_id": record.origin_hub_id,
            "report_external_id": record.report_external_id}


def _not_ahead(stamp: datetime | None, now: datetime | None) -> str | None:
    """A record's time stamp capped at the hub's clock, as the cursor is: kept as a local
    clock running fast wrote it, a future stamp would make every genuine later change
    (stamped after the clock was corrected) look older, "stale", and drop it for good."""
    if stamp is None:
        return None
    if stamp.tzinfo is not None:
        now = now or datetime.now(timezone.utc)
        if stamp > now:
            return now.isoformat()
    return stamp.isoformat()


@dataclass
class PreparedPage:
    """A page built on the reading side, for the page writer."""
    built: list           # (report draft, companion drafts) of the new reports
    timeline: list        # their report.created rows, numbered when the writer commits
    outcomes: list        # per record, in page order: created or unchanged
    external_ids: set     # the page's local ids, to keep a later page from overtaking


class RecordApplier:
    """Applies one connector's records; each call returns an outcome word for the counts:
    created, updated, unchanged, stale, echo, held, failed."""

    def __init__(self, session, conn, mappings, *, present_state: bool = False):
        # The session itself, not Flask-SQLAlchemy's scoped proxy: the rules read
        # session.info several times per record, and each proxied access looks the
        # session up again, a measurable share of a backfill.
        if isinstance(session, scoped_session):
            session = session()
        # What the rules need of the connector, read once: the ORM row expires at every
        # page's commit, and each page would read it again.
        self.conn = SimpleNamespace(id=conn.id, system=conn.system,
                                    agency_code=conn.agency_code)
        self.session, self.mappings = session, mappings
        self.defaults = (conn.config or {}).get("defaults") or {}
        self.tidied: set = set()  # local ids of reports a field of which was fixed
        self.principal = connector_principal(conn)
        self.actor = Actor(self.principal, conn.system)
        # A reconciliation's records are the source's present state, read whole under the
        # connector's lease: they are taken even when their time stamp is older than the
        # copy the hub holds (a local clock set back), instead of being dropped as stale.
        self.present_state = present_state

    def apply(self, rec: dict) -> tuple[str, str | None]:
        """rec is record_to_json output. Returns (outcome, reason for failed/held)."""
        if not self.present_state and self._newer_copy_held(rec):
            return "stale", None
        try:
            with events.savepoint(self.session):
                if rec["stream"] == "reports":
                    outcome = self._report(rec)
                else:
                    outcome = self._response(rec)
        except Problem as problem:
            reason = problem.detail or problem.title
            if problem.errors:
                reason += " " + "; ".join(f"{k}: {v}" for k, v in problem.errors.items())
            self._hold(rec, "error", [], reason)
            return "failed", reason
        if outcome == "held":
            return outcome, None
        self._unhold(rec)
        return outcome, None

    # --- reports -------------------------------------------------------------------------

    def _report(self, rec: dict) -> str:
        if rec["fields"].get("forwarded"):
            return self._forwarded(rec)
        if rec["origin_hub_id"]:
            return self._report_echo(rec)
        mapped, missing = self.mappings.inbound(rec["fields"])
        if missing:
            self._hold(rec, "unmapped", missing, None)
            return "held"
        payload, unit = self._report_payload(rec, mapped)
        existing = report_service.find_by_ref(self.session, self.conn.system,
                                              rec["external_id"])
        data = self._load(SOURCE_REPORT, payload if existing else
                          {**payload, "agency": unit or self.conn.agency_code})
        _, result = ingest_plan.upsert_one(
            self.session, self.conn.system, rec["external_id"], data, self.actor,
            raw_payload=payload, newer_only=not self.present_state)
        return result

    def fingerprint(self, rec: dict) -> str | None:
        """The fingerprint of a report record as the hub would store it (the hash of its
        mapped fields), to compare with the one kept on its reference; None when it cannot
        be mapped yet."""
        mapped, missing = self.mappings.inbound(rec["fields"])
        if missing:
            return None
        payload, _ = self._report_payload(rec, mapped)
        return report_service.payload_fingerprint(payload)

    def _report_payload(self, rec: dict, mapped: dict) -> tuple[dict, str | None]:
        """The upsert payload (without agency: the unit decides it only on creation, and
        the fingerprint must not depend on whether the report existed)."""
        mapped = dict(mapped)
        unit = mapped.pop("unit", None)
        payload = {k: v for k, v in mapped.items() if v is not None}
        payload.setdefault("classification", "complaint")
        payload["source_updated_at"] = rec["updated_at"]
        fixed = tidy_report(payload, self.defaults)
        if fixed and rec["external_id"] not in self.tidied:
            self.tidied.add(rec["external_id"])
            log.warning("connector %s, local report %s: %s did not fit the hub's rules "
                        "and was fixed", self.conn.id, rec["external_id"], ", ".join(fixed))
        return payload, unit

    # --- a page at once ------------------------------------------------------------------

    def apply_page(self, recs: list[dict]) -> list[tuple[str, str | None]]:
        """Outcomes for a page of records, in order. The common cases of a backfill or a
        re-read (new, mapped reports; copies the hub already holds) are settled with a
        few queries for the whole page; everything else goes through apply()."""
        outcomes, fresh = self._sort(recs)
        outcomes.update(self._create_together(fresh))
        outcomes.update(self._respond_together(recs, outcomes))
        return [outcomes[i] if i in outcomes else self.apply(rec)
                for i, rec in enumerate(recs)]

    def _respond_together(self, recs, settled) -> dict:
        """The common responses of a page, taken with a few queries for all of them: new
        ones (no reference yet) to reports the hub has, not held, no echo; and copies the
        hub already took (responses are immutable). The rest go through apply(): it holds
        a response whose report has not arrived, and reports why one does not pass. A
        page that fails together is rolled back whole and goes one by one."""
        from hub.services import responses as response_service
        from hub.services.ingest import ref_ids
        candidates = [(i, rec) for i, rec in enumerate(recs)
                      if i not in settled and rec["stream"] == "responses"
                      and not rec["origin_hub_id"] and rec["report_external_id"]]
        if not candidates:
            return {}
        held = self.held_ids([rec for _, rec in candidates])
        candidates = [(i, rec) for i, rec in candidates
                      if ("responses", rec["external_id"]) not in held]
        taken = response_service.known_refs(self.session, self.conn.system,
                                            [rec["external_id"] for _, rec in candidates])
        out = {i: ("unchanged", None) for i, rec in candidates if rec["external_id"] in taken}
        report_of = ref_ids(self.session, self.conn.system,
                            [rec["report_external_id"] for i, rec in candidates if i not in out])
        work, seen = [], set()
        for i, rec in candidates:
            if i in out or rec["external_id"] in seen or \
                    rec["report_external_id"] not in report_of:
                continue  # a second copy in the page, or its report is not here yet
            payload = {k: v for k, v in rec["fields"].items() if v is not None}
            payload["external_ref"] = {"system": self.conn.system,
                                       "external_id": rec["external_id"]}
            try:
                data = RESPONSE_IN.load(payload)
            except ValidationError:
                continue  # apply() holds it with its reasons
            seen.add(rec["external_id"])
            work.append((i, report_of[rec["report_external_id"]], data))
        if not work:
            return out
        try:
            with events.savepoint(self.session):
                reports = report_service.locked_many(self.session, {r for _, r, _ in work})
                # What each response's deadline reads, for the whole page at once.
                sla.prime_lineages(self.session, {r.agency_code for r in reports.values()})
                sla.prime_tiers(self.session, list(reports))
                for _, report_id, data in work:
                    response_service.add_response(self.session, reports[report_id], data,
                                                  self.actor, known_new=True, flush=False)
                self.session.flush()
        except Exception:  # an invalid one, a report out of scope: each alone, with why
            log.warning("taking %d responses together failed; one by one instead",
                        len(work), exc_info=True)
            return out
        out.update((i, ("created", None)) for i, _, _ in work)
        return out

    def _sort(self, recs: list[dict]) -> tuple[dict, list]:
        """The page's reports planned by the ingest use case (ingest_plan.plan): what it
        settles at once, {index: ("unchanged", None)} for copies the hub holds as they
        are, and the new, mapped reports to create together, as (index, record, payload,
        unit). Every other record is left to apply(): a response, an echo, a forwarded
        one (not planned at all), one held or unmapped (planned held: apply() holds it or
        lets it go), a change or a second copy (the ORM writer decides it, in order)."""
        planned, payloads = [], {}
        held = self.held_ids(recs)
        for index, rec in enumerate(recs):
            if rec["stream"] != "reports" or rec["origin_hub_id"] or \
                    rec["fields"].get("forwarded"):
                continue
            incoming = ingest_plan.Incoming(self.conn.system, rec["external_id"])
            if (rec["stream"], rec["external_id"]) in held:
                incoming.held = "held already: applied on its own, which may release it"
            else:
                mapped, missing = self.mappings.inbound(rec["fields"])
                if missing:
                    incoming.held = "a local value nobody mapped yet"
                else:
                    payloads[index] = self._report_payload(rec, mapped)
                    # No time stamp: a changed copy, newer or older, is the ORM writer's
                    # to decide (it reports a record that does not load, too).
                    incoming.fingerprint = report_service.payload_fingerprint(
                        payloads[index][0])
            planned.append((index, incoming))
        decisions = ingest_plan.plan(self.session, [incoming for _, incoming in planned])
        settled: dict[int, tuple] = {}
        fresh = []
        for (index, incoming), decided in zip(planned, decisions, strict=True):
            if decided.verdict == "unchanged":
                settled[index] = ("unchanged", None)
            elif decided.verdict == "created":
                fresh.append((index, recs[index], *payloads[index], incoming))
        return settled, fresh

    def held_ids(self, recs) -> set:
        from hub.services.ingest import among
        rows = self.session.execute(sa.select(HeldRecord.stream, HeldRecord.external_id).where(
            HeldRecord.connector_id == self.conn.id,
            among(self.session, HeldRecord.external_id, [r["external_id"] for r in recs])))
        return {(r.stream, r.external_id) for r in rows}

    def _create_together(self, fresh) -> dict:
        if not fresh:
            return {}
        source_systems.claim_for_connector(self.session, self.conn)
        report_service.lock_source_system(self.session, self.conn.system)
        at, records = self._loaded(fresh)
        done = ingest_plan.create_together(self.session, records, self._actor_of,
                                           falls_back_on=(Exception,))
        if done is None:
            return {}
        created, _ = done  # the refused ones: apply() reports them with their reason
        return {at[position]: ("created", None) for position in created}

    def _actor_of(self, system) -> Actor:
        return self.actor

    def _loaded(self, fresh) -> tuple[list, list]:
        """The new reports' records with their fields loaded (the unit decides the agency),
        and the page indexes they come from; one that does not load is left out (apply()
        reports it with its reason)."""
        sla.prime_lineages(self.session, {unit or self.conn.agency_code
                                          for _, _, _, unit, _ in fresh})
        at, records = [], []
        for index, _, payload, unit, incoming in fresh:
            try:
                incoming.data = SOURCE_REPORT.load(
                    {**payload, "agency": unit or self.conn.agency_code})
            except ValidationError:
                continue
            at.append(index)
            records.append(incoming)
        return at, records

    def prepare_page(self, recs: list[dict]) -> "PreparedPage | None":
        """A page of new reports (and copies the hub already holds unchanged), built but
        not written: the page writer (hub/sync/pipeline.py) writes and commits it on a
        connection of its own while this side reads and builds the next page. None when
        any record needs the one-by-one path (a response, an echo, a held or unmapped
        record, a change to a report the hub has, a duplicate, an invalid record); the
        caller then applies the page as ever. Nothing is written here: the timeline rows
        of the drafts are taken out of this session and travel with the page."""
        if not recs or any(r["stream"] != "reports" or r["origin_hub_id"] or
                           r["fields"].get("forwarded") for r in recs):
            return None  # known without a query: responses, echoes, forwarded ones
        settled, fresh = self._sort(recs)
        if len(settled) + len(fresh) != len(recs):
            return None
        mark = len(events.pending(self.session))
        built, built_at = [], []
        if fresh:
            at, records = self._loaded(fresh)
            built, built_at, _ = ingest_plan.build_created(self.session, records,
                                                           self._actor_of)
            settled.update((at[position], ("created", None)) for position in built_at)
        timeline = events.take_pending(self.session, mark)
        if len(built_at) != len(fresh):
            return None
        return PreparedPage(built, timeline, [settled[i] for i in range(len(recs))],
                            {r["external_id"] for r in recs})

    def _report_echo(self, rec: dict) -> str:
        """A report the hub pushed, read back: link it; take only a local status move."""
        report = self._hub_report(rec["origin_hub_id"])
        if report is None:
            raise Problem(422, "Unknown hub report",
                          f"The local record says it came from hub report "
                          f"{rec['origin_hub_id']}, which this agency cannot see.")
        self._link(ReportExternalRef, report_id=report.id, external_id=rec["external_id"])
        if rec["updated_at"] and \
                datetime.fromisoformat(rec["updated_at"]) <= report.updated_at:
            # The local copy predates the hub's latest change (say, a status push still
            # on its way): it lags behind and must not move the report back.
            return "echo"
        local_status = rec["fields"].get("status")
        target = self.mappings.lookup("status", local_status) \
            if local_status is not None else None
        if target and target != report.status:
            steps = lifecycle.path(report.status, target)
            if steps:  # only forward moves; a local copy that lags behind is ignored
                report_service.walk_to(self.session, report, target, self.actor)
                return "updated"
        return "echo"

    def _forwarded(self, rec: dict) -> str:
        """The source moved the report to a unit outside this connector's view (LAPOR!'s
        "bukan wewenang": forwarded to another institution). `forwarded.to` is that unit
        in local words (`agency`: the hub agency the connector's configuration names for
        it), or None when the source only stopped showing it. No wrong door: the report
        follows to that agency (a disposition); where none is named, or the source says
        not where, an officer is told (held), never is it left silently open as ours."""
        info = rec["fields"]["forwarded"]
        to, name = info.get("to"), info.get("name")
        where = f"institution {to}" + (f" ({name})" if name else "") if to else None
        ref = report_service.find_by_ref(self.session, self.conn.system, rec["external_id"])
        report = report_service.locked(self.session, ref.report_id) if ref else (
            self._hub_report(rec["origin_hub_id"]) if rec["origin_hub_id"] else None)
        if report is None:
            if (rec["stream"], rec["external_id"]) not in self.held_ids([rec]):
                return "unchanged"  # never the hub's: nothing to follow
            self._hold(rec, "forwarded", [], (
                f"While held here, the source forwarded this record to {where}: it is no "
                "longer this agency's. Discard it." if where else
                "While held here, the source stopped showing this record to this "
                "connector (forwarded elsewhere or withdrawn). Discard it."))
            return "held"
        if rec["origin_hub_id"] and ref is None:
            self._link(ReportExternalRef, report_id=report.id, external_id=rec["external_id"])
        from hub.services.access import in_scope
        if not lifecycle.allowed(report.status) or \
                not in_scope(self.principal, report.agency_code):
            return "unchanged"  # settled: closed, or already with an agency beyond ours
        if to is None:
            self._hold(rec, "forwarded", [], (
                "The source no longer shows this report to this connector (asked by id, "
                "it answers that it is not there or not this agency's): most likely "
                "forwarded to another institution (bukan wewenang) or withdrawn. Find out "
                "where it went, then disposition the report in the hub to that agency or "
                "close it; this hold clears itself then."))
            return "held"
        # The connector's own table of destinations first (an agency beyond this one may
        # not be a unit mapping), then the unit table (one of this agency's units).
        agency = info.get("agency") or self.mappings.lookup("unit", to)
        if agency is None:
            self._hold(rec, "forwarded", [{"field": "unit", "value": str(to)}], (
                f"The source forwarded this report to {where}, which names no hub agency. "
                "Add that institution to the connector's forward_agencies (or, for one of "
                "this agency's units, to the unit mapping) and the report is dispositioned "
                "there; if its agency is not in the hub, close the report."))
            return "held"
        if agency == report.agency_code:
            return "unchanged"
        if report.status not in lifecycle.DISPOSITION_FROM and \
                lifecycle.path(report.status, "verified") is None:
            self._hold(rec, "forwarded", [], (
                f"The source forwarded this report to {where} ({agency} in the hub), but "
                f"the hub holds it '{report.status}', from which no disposition is allowed. "
                "Reopen it and disposition it there, or close it."))
            return "held"
        if report.status not in lifecycle.DISPOSITION_FROM:
            report_service.walk_to(self.session, report, "verified", self.actor)
        report_service.disposition(self.session, report, agency, self.actor,
                                   note=f"forwarded in {self.conn.system} to {where}")
        return "updated"

    def _hub_report(self, hub_id: str):
        import uuid
        try:
            ident = uuid.UUID(hub_id)
        except ValueError:
            return None
        report = self.session.get(Report, ident, with_for_update=True)
        from hub.services.access import in_scope
        if report is None or not in_scope(self.principal, report.agency_code):
            return None
        return report

    def _link(self, model, **values) -> None:
        exists = self.session.execute(sa.select(model).where(
            model.system == self.conn.system,
            model.external_id == values["external_id"])).scalar_one_or_none()
        if exists is None:
            self.session.add(model(system=self.conn.system, **values))
            self.session.flush()

    # --- responses -----------------------------------------------------------------------

    def _response(self, rec: dict) -> str:
        fields = rec["fields"]
        if rec["origin_hub_id"]:
            import uuid
            try:
                response_id = uuid.UUID(rec["origin_hub_id"])
            except ValueError:
                response_id = None
            # Link only a response the hub really has; an unknown id is still an echo
            # (it says it came from the hub) and is never imported as a new response.
            if response_id is not None and self.session.get(Response, response_id):
                self._link(ResponseExternalRef, response_id=response_id,
                           external_id=rec["external_id"])
            return "echo"
        ref = report_service.find_by_ref(self.session, self.conn.system,
                                         rec["report_external_id"] or "")
        if ref is None:
            self._hold(rec, "waiting", [{"field": "report",
                                         "value": rec["report_external_id"]}],
                       "its report has not reached the hub yet")
            return "held"
        if find_response_by_ref(self.session, self.conn.system, rec["external_id"]):
            return "unchanged"  # responses are immutable once taken
        payload = {k: v for k, v in fields.items() if v is not None}
        payload["external_ref"] = {"system": self.conn.system,
                                   "external_id": rec["external_id"]}
        data = self._load(RESPONSE_IN, payload)
        report = report_service.locked(self.session, ref.report_id)
        _, created = add_response(self.session, report, data, self.actor)
        return "created" if created else "unchanged"

    # --- holding -------------------------------------------------------------------------

    def _load(self, schema, payload):
        try:
            return schema.load(payload)
        except ValidationError as err:
            flat = flatten_errors(err.messages)
            raise Problem(422, "Invalid record", "The local record does not pass the hub's "
                          "validation.", errors=flat) from err

    def _hold(self, rec, reason, missing, detail) -> None:
        held = self.session.execute(sa.select(HeldRecord).where(
            HeldRecord.connector_id == self.conn.id, HeldRecord.stream == rec["stream"],
            HeldRecord.external_id == rec["external_id"])).scalar_one_or_none()
        now = utcnow()
        updated_at = datetime.fromisoformat(rec["updated_at"]) if rec["updated_at"] else None
        if held is None:
            self.session.add(HeldRecord(
                connector_id=self.conn.id, stream=rec["stream"],
                external_id=rec["external_id"], record=rec, missing=missing, reason=reason,
                detail=detail, source_updated_at=updated_at, first_held_at=now,
                last_seen_at=now, attempts=1))
        else:
            # Keep the newest copy; an older one arriving late never replaces it (the
            # source's present state, read whole, always does).
            if self.present_state or held.source_updated_at is None or \
                    updated_at is None or updated_at >= held.source_updated_at:
                held.record, held.source_updated_at = rec, updated_at
            held.missing, held.reason, held.detail = missing, reason, detail
            held.last_seen_at, held.attempts = now, held.attempts + 1
        self.session.flush()

    def _newer_copy_held(self, rec) -> bool:
        """A late, older copy must not be applied over (and unhold) a newer held one."""
        if not rec["updated_at"]:
            return False
        held_at = self.session.execute(sa.select(HeldRecord.source_updated_at).where(
            HeldRecord.connector_id == self.conn.id, HeldRecord.stream == rec["stream"],
            HeldRecord.external_id == rec["external_id"])).scalar_one_or_none()
        return held_at is not None and held_at > datetime.fromisoformat(rec["updated_at"])

    def _unhold(self, rec) -> None:
        self.session.execute(sa.delete(HeldRecord).where(
            HeldRecord.connector_id == self.conn.id, HeldRecord.stream == rec["stream"],
            HeldRecord.external_id == rec["external_id"]))
