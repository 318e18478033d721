"""Bulk creation for batches: many new reports in a few executemany round trips.

A backfill is mostly new records. Building them goes through the same rules as a single
create (build_report); only the writing differs: one INSERT per table for the whole set
instead of a unit-of-work flush per report. Whatever is not a plain create (updates,
responses, status changes, duplicates inside the batch) takes the per-item path.
"""
import sqlalchemy as sa

from hub.models import ReportExternalRef


def existing_refs(session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.execute(
            sa.select(ReportExternalRef.system, ReportExternalRef.external_id).where(
                sa.tuple_(ReportExternalRef.system, ReportExternalRef.external_id).in_(chunk)))
        found.update((r.system, r.external_id) for r in rows)
    return found


def insert_built(session, built: list) -> None:
    """Insert report drafts first, then their companion rows (they point at reports)."""
    by_model: dict = {}
    for draft in [report for report, _ in built] + [c for _, cs in built for c in cs]:
        by_model.setdefault(draft._model, []).append(draft.columns())
    for model, rows in by_model.items():
        session.execute(sa.insert(model), rows)
