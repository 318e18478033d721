"""The agency directory: units (OPD) an agency adds below itself.

The seed files hold ministries, institutions and every regional government; the units a
regency or city organises itself change with its own regulations, so its administrators
add them here instead of waiting for a new release.
"""
import re

import sqlalchemy as sa

from hub.errors import Problem
from hub.models import Agency
from hub.services.access import scope

_UNIT_SUFFIX = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def add_unit(session, principal, code: str, name: str, parent: str) -> Agency:
    """A new unit `code` below `parent`. Its code is the parent's with one more part
    (`kab-sleman.dpmptsp`), so where a unit belongs shows in its code, as the seeded
    units' do. An agency adds units only within its own part of the directory."""
    covered = scope(principal)
    parent_row = session.get(Agency, parent)
    if parent_row is None or (covered is not None and parent not in covered):
        raise Problem(422, "Unknown parent agency", errors={
            "parent": f"'{parent}' is not an agency you may add units to; see "
                      "GET /api/v1/agencies for the codes."}, slug="validation")
    name = " ".join((name or "").split())
    errors = {}
    suffix = code[len(parent) + 1:] if code.startswith(parent + ".") else None
    if suffix is None or not _UNIT_SUFFIX.match(suffix) or len(code) > 64:
        errors["code"] = (f"must be '{parent}.' followed by lower-case letters, digits and "
                          f"hyphens, at most 64 characters (e.g. '{parent}.dpmptsp')")
    if not 1 <= len(name) <= 300:
        errors["name"] = "must be 1 to 300 characters"
    if errors:
        raise Problem(422, "Invalid unit", errors=errors, slug="validation")
    if session.get(Agency, code) is not None:
        raise Problem(409, "Agency exists", f"An agency with code '{code}' already exists.",
                      slug="conflict")
    unit = Agency(code=code, name=name, level="unit", parent_code=parent)
    session.add(unit)
    session.flush()
    session.info.pop("agency_scopes", None)  # the subtree just grew
    return unit


def units_of(session, parent: str) -> list[Agency]:
    return session.execute(sa.select(Agency).where(Agency.parent_code == parent)
                           .order_by(Agency.code)).scalars().all()
