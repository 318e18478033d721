"""Write and commit one page while the next is read and built.

A backfill page spends about as long in PostgreSQL (the COPYs' index and foreign-key
work, the commit) as in Python (mapping, validating, building). One after the other,
each waits for the other. The page writer takes a built page (inbound.PreparedPage) and
writes it, with its stream cursor and the lease renewal, in one transaction on a
connection of its own, in a thread of its own, while the sync thread builds the next
page. The Airbyte rule holds: a cursor is committed in the same transaction as the
records it covers, and pages commit in order (one page in flight at most).

What keeps it from doubling or losing anything:
- the next page is built while the previous one is not yet committed, so its lookups
  cannot see that page's records. A page that names a record of the page in flight is
  not built ahead: it waits for the commit, then takes the ordinary path;
- a page that fails to be written together (a concurrent writer created one of its
  records, say) is rolled back whole, its cursor with it, and the sync thread applies it
  again one record at a time, as the ordinary path does when a bulk create fails;
- a lost lease stops the run, as everywhere else.
Only PostgreSQL: SQLite takes one writer at a time anyway.
"""
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flask import current_app

from hub.extensions import db
from hub.services import events, ingest, source_systems, storage
from hub.services import reports as report_service
from hub.sync.lease import renew_lease, save_cursor


@dataclass
class _InFlight:
    future: Future
    page: object          # runner.ReadPage
    prepared: object      # inbound.PreparedPage


class PageWriter:
    def __init__(self, applier, stream: str, owner: str):
        self.applier, self.stream, self.owner = applier, stream, owner
        app = current_app._get_current_object()
        self._session = None
        # One thread, so pages commit in the order they were handed over.
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sync-page-writer",
                                        initializer=lambda: app.app_context().push())
        self._in_flight: _InFlight | None = None

    @staticmethod
    def usable() -> bool:
        return storage.is_postgresql(db.session)

    def in_flight_ids(self) -> set:
        return self._in_flight.prepared.external_ids if self._in_flight else set()

    def submit(self, page, prepared) -> None:
        assert self._in_flight is None, "one page in flight at most"
        future = self._pool.submit(self._write, prepared, page.cursor)
        self._in_flight = _InFlight(future, page, prepared)

    def wait(self) -> tuple[_InFlight | None, BaseException | None]:
        """Wait for the page in flight: (that page, None) once it is committed, or (that
        page, the error) when it could not be written; (None, None) when none was."""
        done, self._in_flight = self._in_flight, None
        if done is None:
            return None, None
        return done, done.future.exception()

    def close(self) -> None:
        """Stop after the page in flight (committed or rolled back), and let the
        connection go."""
        self._pool.submit(self._close_session).result()
        self._pool.shutdown(wait=True)

    # --- in the writer's thread ----------------------------------------------------------

    def _write(self, prepared, cursor) -> None:
        if self._session is None:
            self._session = db.session.session_factory()
        session, conn = self._session, self.applier.conn
        try:
            if prepared.built:
                source_systems.claim_for_connector(session, conn)
                report_service.lock_source_system(session, conn.system)
                ingest.insert_built(session, prepared.built)
                events.add_pending(session, prepared.timeline)
            save_cursor(session, conn.id, self.stream, cursor)
            renew_lease(conn.id, self.owner, session)
            session.commit()  # the page's records and its cursor, together
        except BaseException:
            session.rollback()
            raise

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
