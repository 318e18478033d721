"""Extension singletons, bound to the app in create_app (flaskr style)."""
import logging

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Named constraints so Alembic migrations are stable on PostgreSQL and SQLite alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class HubSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose end-of-request cleanup survives a lost database."""

    def _teardown_session(self, exc):
        # Removing the session rolls back what is open. With the connection gone that
        # ROLLBACK fails, and raised from teardown it would replace the answer the request
        # already has (a 200, or its 503) with a bare 500. Nothing is left to undo on a
        # dead connection (the server ended its transaction), so the session is dropped
        # and its connection discarded instead.
        try:
            self.session.remove()
        except Exception as error:
            if not database_unavailable(error):
                raise
            logging.getLogger(__name__).warning("session cleanup: database gone (%s)",
                                                error.__class__.__name__)
            _discard(self.session)


def _discard(scoped) -> None:
    try:
        scoped().invalidate()  # closes the session, its connections leave the pool
    except Exception:
        logging.getLogger(__name__).debug("invalidating the session failed", exc_info=True)
    scoped.registry.clear()


db = HubSQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()


def database_unavailable(error: BaseException) -> bool:
    """Whether error (or what it was raised from) says the database went away or cannot
    be reached. SQLAlchemy wraps the driver's errors on its own statements; the paths that
    talk to psycopg directly (binary COPY, prepared reads in a pipeline) raise psycopg's
    own, so both are recognised."""
    import psycopg
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    kinds = (OperationalError, InterfaceError, DisconnectionError,
             psycopg.OperationalError, psycopg.InterfaceError)
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, kinds):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False
