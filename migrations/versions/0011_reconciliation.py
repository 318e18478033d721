"""Reconciliation: sync runs say their kind (sync or reconcile); connectors carry how
often their whole source is read and compared, and when next

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

import hub.models.types

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=False,
                                   server_default='sync'))
    with op.batch_alter_table('connectors') as batch:
        batch.add_column(sa.Column('reconcile_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('next_reconcile_at',
                                   hub.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('connectors') as batch:
        batch.drop_column('next_reconcile_at')
        batch.drop_column('reconcile_seconds')
    with op.batch_alter_table('sync_runs') as batch:
        batch.drop_column('kind')
