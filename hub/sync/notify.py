"""Where a failed sync run is announced: it is recorded on the run and the connector
(visible in the API and the UI), logged, and written to the webhook outbox as
`sync.failed` in the same transaction as the failed run (hub.services.outbox)."""
import logging

from hub.extensions import db
from hub.services.outbox import emit

log = logging.getLogger(__name__)


def sync_failed(conn, run) -> None:
    log.warning("sync of connector %s failed (run %s, streak %s): %s", conn.id, run.id,
                conn.failure_streak, run.error)
    emit(db.session, "sync.failed", conn.agency_code, {
        "connector": conn.id, "agency": conn.agency_code, "system": conn.system,
        "run_id": run.id, "error": run.error, "failure_streak": conn.failure_streak,
        "paused": bool(conn.paused), "paused_reason": conn.paused_reason,
        "started_at": _z(run.started_at),
        "ended_at": _z(run.ended_at)})


def _z(when):
    return when.isoformat().replace("+00:00", "Z") if when else None
