"""Column types shared by the models."""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware datetimes, always stored and returned in UTC.

    SQLite has no timestamptz; without this a naive value would come back and be
    compared against aware ones. A naive value reaching the database is a bug, so it
    raises instead of being guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database")
        if value.tzinfo is not timezone.utc:  # the common case needs no conversion
            value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Uuid(sa.types.TypeDecorator):
    """UUID columns that also take an id spelled as a string.

    Ids travel as strings through JSON (event data, the session, payloads) and come back
    to queries that way. PostgreSQL casts such a string itself; SQLite's binder needs a
    UUID, so the string is parsed here and both backends behave alike. A string that is
    no UUID is passed on unchanged, for the database to refuse as before.
    """

    impl = sa.Uuid
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if isinstance(value, str):
            try:
                return uuid.UUID(value)
            except ValueError:
                return value
        return value


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
