"""agencies.parent_code indexed: the tenant subtree walks down the directory by parent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 00:25:00

"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # Each step of the recursive subtree query (access.scope) looks agencies up by their
    # parent; without an index that is a scan of the whole directory per level, which at
    # national size (679 agencies and their units) is paid on every list request.
    op.create_index(op.f('ix_agencies_parent_code'), 'agencies', ['parent_code'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_agencies_parent_code'), table_name='agencies')
