"""Applying an agency's mappings to local records; unmapped values hold the record."""
import sqlalchemy as sa

from hub.models import STATUS_OUT, Mapping

# Which local fields each stream maps, and where the result goes.
REPORT_FIELDS = ("category", "status", "unit", "channel")


def local_key(value) -> str:
    """How a local value is matched: officers and local systems spell the same word with
    other case and spacing ("Selesai", "selesai ", "SELESAI"), and it means one thing."""
    return " ".join(str(value).split()).casefold()


class MappingSet:
    def __init__(self, rows):
        self.table: dict = {}
        self._matched: dict = {}
        for row in rows:
            self.table.setdefault(row.field, {})[row.local_value] = row.hub_value
            self._matched.setdefault(row.field, {})[local_key(row.local_value)] = row.hub_value

    def lookup(self, name: str, value) -> str | None:
        """The hub code a local value maps to: the value as written, else the same word
        in other case or spacing."""
        exact = self.table.get(name, {}).get(str(value))
        if exact is not None:
            return exact
        return self._matched.get(name, {}).get(local_key(value))

    @classmethod
    def load(cls, session, connector_id: str) -> "MappingSet":
        return cls(session.execute(sa.select(Mapping).where(
            Mapping.connector_id == connector_id)).scalars())

    def inbound(self, fields: dict) -> tuple[dict, list]:
        """Local words -> hub codes. Returns (mapped fields, missing [{field, value}]).

        A value without a mapping is never guessed (an unmapped status silently becoming
        `received` hides problems): the record is held until an officer maps it.
        """
        mapped, missing = dict(fields), []
        for name in REPORT_FIELDS:
            value = fields.get(name)
            if value is None or value == "":
                continue
            target = self.lookup(name, value)
            if target is None:
                missing.append({"field": name, "value": str(value)})
            else:
                mapped[name] = target
        return mapped, missing

    def outbound_status(self, hub_status: str) -> str | None:
        explicit = self.table.get(STATUS_OUT, {}).get(hub_status)
        if explicit:
            return explicit
        # Fall back to the inverse of the inbound table when it is unambiguous.
        local = [k for k, v in self.table.get("status", {}).items() if v == hub_status]
        return local[0] if len(local) == 1 else None

    def outbound(self, name: str, hub_value) -> str | None:
        local = [k for k, v in self.table.get(name, {}).items() if v == hub_value]
        return local[0] if local else None
