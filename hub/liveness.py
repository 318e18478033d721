"""Pooled PostgreSQL connections checked for liveness without a round trip.

SQLAlchemy's pool_pre_ping sends a `SELECT 1` before every checkout: one more round trip
on every request, a third of the work of a read by key. A server that ends a connection
(a restart, pg_terminate_backend, an idle timeout) sends its last message and closes the
socket, so an idle pooled connection whose socket has become readable is dead; nothing
else is sent to an idle connection the hub holds (it never LISTENs on pooled ones). The
check polls the socket with a zero timeout instead of asking the server.

The one case it cannot see is a connection dying in the instant between the poll and the
first statement; that request gets a clean 503 problem (hub.errors) with Retry-After and
writes nothing, and the pool discards the connection, as it would for a connection lost
mid-request.
"""
import select

from sqlalchemy import event, exc


def watch(engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite is a file: nothing on the other end can drop it

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_conn, _record, _proxy):
        if dbapi_conn.closed or dbapi_conn.broken or _has_input(dbapi_conn.pgconn.socket):
            # The pool disposes of it and checks out (or opens) another.
            raise exc.DisconnectionError("the server closed this pooled connection")


def _has_input(fd: int) -> bool:
    poller = select.poll()  # not select(): it breaks on descriptors above 1023
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
