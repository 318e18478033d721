"""Source-system names: normalised to lower case, and owned by the agency that claimed
them.

A system name is the namespace of external ids (PUT /sources/{system}/reports/{id},
batch upserts, connectors). Whoever writes under a name can create and update the
reports filed under it, so a name is claimed explicitly, by a hub admin (API or CLI) or
by creating a connector for it, and only the claiming agency's clients (and national
ones) write under it. `SLEMAN-APP` and `sleman-app` are one name.
"""
import sqlalchemy as sa

from hub.errors import Problem
from hub.models import SourceSystem, utcnow
from hub.services import storage

CLAIM_HOW = ("a hub admin claims it for your agency (POST /api/v1/source-systems, or "
             "`hub source-system claim {name} --agency <code>`), or creating a connector "
             "for it does")


def normalise(name):
    """The stored form of a system name (lower case); anything not a str as it is, for
    the schema to refuse."""
    return name.lower() if isinstance(name, str) else name


def owner(session, name: str) -> str | None:
    row = session.get(SourceSystem, normalise(name))
    return row.agency_code if row is not None else None


def claim(session, name: str, agency_code: str) -> tuple[SourceSystem, bool]:
    """Claim `name` for an agency; (row, created). Claiming one's own name again is a
    no-op; another agency's is a 409."""
    name = normalise(name)
    row = session.get(SourceSystem, name)
    created = False
    if row is None:
        # Two claims of a new name may race: ON CONFLICT keeps whichever came first.
        result = session.execute(storage.insert(session, SourceSystem).values(
            name=name, agency_code=agency_code, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"]))
        created = bool(result.rowcount)
        row = session.get(SourceSystem, name, populate_existing=True)
    if row.agency_code != agency_code:
        raise Problem(409, "System claimed by another agency",
                      f"The source system '{name}' is already claimed by another agency; "
                      "choose another name (for example '<agency>-<app>').",
                      slug="system-claimed")
    return row, created


def check_writer(session, name: str, principal) -> None:
    """Refuse a write under `name` unless the principal's agency claimed it (national
    clients write under any claimed name). Checked once per transaction."""
    checked = session.info.setdefault("claimed_systems", set())
    if name in checked:
        return
    agency = owner(session, name)
    if agency is None:
        raise Problem(403, "Source system not claimed",
                      f"The source system '{name}' is not claimed by any agency, so nothing "
                      f"can be written under it yet: {CLAIM_HOW.format(name=name)}.",
                      slug="unclaimed-system")
    if agency != principal.agency and not principal.is_national:
        raise Problem(403, "System belongs to another agency",
                      f"The source system '{name}' is claimed by another agency; write "
                      "under a system name claimed by your own agency.",
                      slug="foreign-system")
    checked.add(name)


def claim_for_connector(session, conn) -> None:
    """A connector's system is its agency's: claimed when the connector is made (and by
    its first sync, for connectors made before claims were explicit)."""
    claim(session, conn.system, conn.agency_code)


def claims(session, agencies=None) -> list[SourceSystem]:
    stmt = sa.select(SourceSystem).order_by(SourceSystem.name)
    if agencies is not None:
        stmt = stmt.where(SourceSystem.agency_code.in_(list(agencies)))
    return session.execute(stmt).scalars().all()
