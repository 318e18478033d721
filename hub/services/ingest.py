"""Bulk creation for batches: many new reports in a few executemany round trips.

A backfill is mostly new records. Building them goes through the same rules as a single
create (build_report); only the writing differs: one INSERT per table for the whole set
instead of a unit-of-work flush per report. Whatever is not a plain create (updates,
responses, status changes, duplicates inside the batch) takes the per-item path.
"""
import sqlalchemy as sa

from hub.models import Report, ReportExternalRef


def existing_refs(session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.execute(
            sa.select(ReportExternalRef.system, ReportExternalRef.external_id).where(
                sa.tuple_(ReportExternalRef.system, ReportExternalRef.external_id).in_(chunk)))
        found.update((r.system, r.external_id) for r in rows)
    return found


def _rows(objects) -> dict:
    """ORM objects -> {mapped class: [column dicts]}, leaving out unset autoincrement ids."""
    by_class: dict = {}
    for obj in objects:
        mapper = sa.inspect(type(obj))
        row = {}
        for attr in mapper.column_attrs:
            value = getattr(obj, attr.key)
            if value is None and attr.columns[0].primary_key:
                continue
            row[attr.key] = value
        by_class.setdefault(type(obj), []).append(row)
    return by_class


def insert_built(session, built: list[tuple[Report, list]]) -> None:
    """Insert reports first, then their companion rows (foreign keys point at reports)."""
    grouped = _rows([report for report, _ in built])
    companions = _rows([c for _, cs in built for c in cs])
    for model, rows in list(grouped.items()) + list(companions.items()):
        session.execute(sa.insert(model), rows)
