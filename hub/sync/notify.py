"""Where a failed sync run is announced. The webhook issue (#5) subscribes
`sync.failed` here; until then the failure is recorded on the run and the connector
(visible in the API and the UI) and logged."""
import logging

log = logging.getLogger(__name__)


def sync_failed(conn, run) -> None:
    log.warning("sync of connector %s failed (run %s, streak %s): %s", conn.id, run.id,
                conn.failure_streak, run.error)
