"""Report refs: an officer's search by local ticket number names no system, so the
(system, external_id) key cannot serve it; an index on (external_id, system) does, and
serves a probe by both as well as the key (on external_id alone, a probe by both would
filter every system's ref with that id)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 07:45:00

"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_report_external_refs_external_id', 'report_external_refs',
                    ['external_id', 'system'], unique=False)


def downgrade():
    op.drop_index('ix_report_external_refs_external_id', table_name='report_external_refs')
