"""Bulk creation for batches: many new reports in a few executemany round trips.

A backfill is mostly new records. Building them goes through the same rules as a single
create (build_report); only the writing differs: one INSERT per table for the whole set
instead of a unit-of-work flush per report. Whatever is not a plain create (updates,
responses, status changes, duplicates inside the batch) takes the per-item path.
"""
import weakref

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import ARRAY

from hub.models import Report, ReportExternalRef
from hub.services import rollup, storage


def among(session, column, values) -> sa.ColumnElement:
    """`column IN (values)`; on PostgreSQL `column = ANY(one array parameter)`. A page's
    500 ids as 500 placeholders cost more to render, parse and plan (per page, the text
    differing with the count) than the index probes themselves."""
    values = list(values)
    if storage.is_postgresql(session):
        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def existing_refs(session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(system, external_id) for system, chunk in per_system(keys)
            for external_id in ref_hashes(session, system, chunk)}


def per_system(keys, size: int = 500):
    """(system, up to `size` of its external ids) for (system, external_id) keys, systems
    in sorted order: the shape of the ref lookups."""
    by_system: dict = {}
    for system, external_id in keys:
        by_system.setdefault(system, []).append(external_id)
    for system, external_ids in sorted(by_system.items()):
        for start in range(0, len(external_ids), size):
            yield system, external_ids[start:start + size]


def ref_hashes(session, system: str, external_ids: list) -> dict:
    """{external_id: payload_hash} of those of a source system's ids the hub holds.

    On PostgreSQL as one probe of the (system, external_id) unique index per id (a
    LATERAL subquery over the unnested ids), whatever the table's statistics say. As
    `system = $1 AND external_id = ANY($2)` the plan hung on them: without statistics
    (a bulk load outrunning autovacuum's ANALYZE, or autovacuum off) the planner guessed
    the system to hold a few hundred refs, scanned all of them and filtered, and a page's
    lookup grew with the table."""
    return {row.external_id: row.payload_hash for row in
            probe_refs(session, system, external_ids, ReportExternalRef.payload_hash)}


def ref_ids(session, system: str, external_ids: list) -> dict:
    """{external_id: report id} of those of a source system's ids the hub holds."""
    ids = list(dict.fromkeys(external_ids))
    return {row.external_id: row.report_id for start in range(0, len(ids), 500)
            for row in probe_refs(session, system, ids[start:start + 500],
                                  ReportExternalRef.report_id)}


def probe_refs(session, system: str, external_ids: list, *columns) -> list:
    """Rows (external_id, *columns) of those of a source system's ids the hub holds, one
    unique-index probe per id on PostgreSQL (see ref_hashes)."""
    if not external_ids:
        return []
    ref = ReportExternalRef
    if not storage.is_postgresql(session):
        return session.execute(sa.select(ref.external_id, *columns).where(
            ref.system == system, ref.external_id.in_(external_ids))).all()
    wanted = sa.func.unnest(sa.bindparam(None, list(external_ids), type_=ARRAY(sa.Text))
                            ).table_valued("external_id").render_derived(name="wanted")
    found = (sa.select(*columns)
             .where(ref.system == system, ref.external_id == wanted.c.external_id)
             .limit(1).lateral("found"))
    return session.execute(sa.select(wanted.c.external_id, *found.c)
                           .select_from(wanted).join(found, sa.true())).all()


def insert_built(session, built: list) -> None:
    """Insert report drafts first, then their companion rows (they point at reports)."""
    by_model: dict = {}
    for draft in [report for report, _ in built] + [c for _, cs in built for c in cs]:
        by_model.setdefault(draft._model, []).append(draft.columns())
    for model, rows in by_model.items():
        insert_rows(session, model.__table__, rows)


def insert_rows(session, table: sa.Table, rows: list[dict]) -> None:
    """Plain INSERTs of many rows in the session's transaction.

    PostgreSQL gets one binary COPY (several times cheaper per row than an executemany,
    which still binds and executes each row); other databases a Core executemany. Not the
    ORM's bulk insert: it groups rows by which values are None and sent most reports as a
    statement each. Values go through the columns' own bind processing either way, so a
    naive datetime is refused here exactly as in an ORM flush."""
    if not rows:
        return
    if table is Report.__table__:
        rollup.add_inserted(session, rows)
    if not storage.is_postgresql(session):
        session.execute(sa.insert(table), rows)
        return
    dialect = session.get_bind().dialect
    names = list(dict.fromkeys(name for row in rows for name in row))
    procs = [_copy_processor(table.c[name], dialect) for name in names]
    plain = [name for name, proc in zip(names, procs, strict=True) if proc is None]
    processed = [(name, proc) for name, proc in zip(names, procs, strict=True) if proc is not None]
    names = plain + [name for name, _ in processed]  # the order the rows are written in
    columns = ", ".join(dialect.identifier_preparer.quote(name) for name in names)
    raw = session.connection().connection.driver_connection
    table_name = dialect.identifier_preparer.format_table(table)
    types = _column_types(raw, table_name)
    with raw.cursor() as cursor, cursor.copy(
            f"COPY {table_name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        # Binary: values go out in PostgreSQL's own wire form, typed by the columns' real
        # types from the catalog; no text to escape on this side nor to parse on the
        # server's, where text COPY spends most of its time.
        copy.set_types([types[name] for name in names])
        for row in rows:
            get = row.get
            copy.write_row([get(n) for n in plain] + [p(get(n)) for n, p in processed])


def _copy_processor(column: sa.Column, dialect):
    """What a value of this column goes through before a binary COPY: the column's own
    bind processing, except for JSON, which psycopg's jsonb dumper serialises itself (the
    processor's text would be stored as a JSON string). A None stays JSON null, as the
    JSON type stores it, unless the column says none_as_null."""
    column_type = column.type.dialect_impl(dialect)
    if isinstance(column_type, sa.JSON):
        if column_type.none_as_null:
            return None
        return lambda value: Jsonb(None) if value is None else value
    return column.type._cached_bind_processor(dialect)


# Per driver connection: a binary COPY needs each column's type, and a reconnect (or a
# migration between them) reads them afresh.
_TYPES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _column_types(raw, table_name: str) -> dict:
    known = _TYPES.setdefault(raw, {})
    if table_name not in known:
        known[table_name] = dict(raw.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped", (table_name,)).fetchall())
    return known[table_name]
