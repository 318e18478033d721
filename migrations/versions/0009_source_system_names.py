"""source-system names in lower case, and every connector's system claimed by its agency

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:40:00

Names were case-sensitive and claimed by whoever wrote first. From now on the hub stores
and compares them in lower case and only claimed names take writes, so: the names of
claims, connectors and report refs are lowered (a row whose lower-case form is already
taken keeps its spelling, and is logged: merging two namespaces is an operator's call),
and each connector's system is claimed for the connector's agency if no one holds it.
Downgrade keeps the data as it is (the old spellings are not recorded).
"""
import logging
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from hub.models.types import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _lower_unique(bind, table: str, column: str) -> None:
    """Lower a unique name column row by row, leaving those whose lower form exists."""
    rows = bind.execute(sa.text(
        f"SELECT {column} FROM {table} WHERE {column} <> lower({column})")).scalars().all()
    for name in rows:
        taken = bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} = :low"),
                             {"low": name.lower()}).first()
        if taken:
            log.warning("%s.%s %r kept as it is: %r exists too", table, column, name,
                        name.lower())
            continue
        bind.execute(sa.text(f"UPDATE {table} SET {column} = :low WHERE {column} = :name"),
                     {"low": name.lower(), "name": name})


def _lower_refs(bind) -> None:
    systems = bind.execute(sa.text(
        "SELECT DISTINCT system FROM report_external_refs WHERE system <> lower(system)")
    ).scalars().all()
    for system in systems:
        bind.execute(sa.text(
            "UPDATE report_external_refs SET system = :low WHERE system = :name AND NOT "
            "EXISTS (SELECT 1 FROM report_external_refs twin WHERE twin.system = :low "
            "AND twin.external_id = report_external_refs.external_id)"),
            {"low": system.lower(), "name": system})
        left = bind.execute(sa.text(
            "SELECT count(*) FROM report_external_refs WHERE system = :name"),
            {"name": system}).scalar()
        if left:
            log.warning("report_external_refs: %d refs of %r kept as they are (the same "
                        "external ids exist under %r)", left, system, system.lower())


def upgrade():
    bind = op.get_bind()
    _lower_unique(bind, "source_systems", "name")
    _lower_unique(bind, "connectors", "system")
    _lower_refs(bind)
    now = datetime.now(timezone.utc)
    for system, agency in bind.execute(sa.text(
            "SELECT system, agency_code FROM connectors")).all():
        if not bind.execute(sa.text("SELECT 1 FROM source_systems WHERE name = :n"),
                            {"n": system}).first():
            bind.execute(sa.text("INSERT INTO source_systems (name, agency_code, created_at) "
                                 "VALUES (:n, :a, :t)").bindparams(
                sa.bindparam("t", type_=UTCDateTime())), {"n": system, "a": agency, "t": now})


def downgrade():
    pass  # lower-case names and the connectors' claims are valid under the old rules too
