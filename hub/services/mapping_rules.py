"""What a mapping may point at, one rule for the API and the mapping UI alike.

A mapping must name something real (else the records it maps would be held forever),
and a unit mapping must name an agency inside the caller's scope: routing reports to an
agency outside it would hand them to someone the caller does not act for.
"""
import sqlalchemy as sa

from hub.errors import Problem
from hub.models import CHANNELS, STATUSES, Agency, Category
from hub.services import access

OUT_OF_SCOPE = "out-of-scope"


def check_targets(session, principal, tables: dict) -> None:
    """Raise a Problem unless every target of `tables` ({field: {local: hub value}}) is
    known (422, slug validation) and every unit target is in the principal's scope (403,
    slug out-of-scope). Each error names its mapping: mappings.<field>.<local value>."""
    known = {
        "category": set(session.execute(sa.select(Category.code)).scalars()),
        "unit": set(session.execute(sa.select(Agency.code)).scalars()),
        "status": set(STATUSES), "channel": set(CHANNELS),
    }
    errors = {f"mappings.{field}.{local}": f"unknown {field} '{target}'"
              for field, table in tables.items() if field in known
              for local, target in table.items() if target not in known[field]}
    if errors:
        raise Problem(422, "Validation failed", "Some mappings point at unknown values.",
                      slug="validation", errors=errors)
    outside = {f"mappings.unit.{local}": f"agency '{target}' is outside your agency's scope"
               for local, target in (tables.get("unit") or {}).items()
               if not access.in_scope(principal, target)}
    if outside:
        raise Problem(403, "Mapping outside your scope",
                      "A unit mapping may only route reports to your own agency or the "
                      "units below it.", slug=OUT_OF_SCOPE, errors=outside)
