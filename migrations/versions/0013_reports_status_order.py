"""Reports: a status filter reads its page in list order ((status, updated_at, id)); the
index replaces the one on status alone, whose lookups its prefix serves

A status-filtered list page combined the status index with the (updated_at, id) one
and sorted what matched after the cursor: its cost grew with the reports after the
cursor; with this index it reads the page's rows and stops.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:25:00

"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reports') as batch_op:
        batch_op.create_index('ix_reports_status_updated_at_id',
                              ['status', 'updated_at', 'id'], unique=False)
        batch_op.drop_index('ix_reports_status')


def downgrade():
    with op.batch_alter_table('reports') as batch_op:
        batch_op.create_index('ix_reports_status', ['status'], unique=False)
        batch_op.drop_index('ix_reports_status_updated_at_id')
