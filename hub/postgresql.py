"""Session settings the hub's PostgreSQL reads rely on, set on every new connection."""
from sqlalchemy import event

# hub.services.representations_sql prints floats in their shortest round-trip form,
# which PostgreSQL gives only with extra_float_digits >= 1; a server or database
# configured to 0 or less would round lat and lon to 15 digits.
SETTINGS = ("SET extra_float_digits = 1",)


def install(engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True  # a SET outside any transaction lasts the session
        with dbapi_conn.cursor() as cur:
            for statement in SETTINGS:
                cur.execute(statement)
        dbapi_conn.autocommit = autocommit
