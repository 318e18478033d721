"""Webhooks: due deliveries indexed per subscription, in the order they are claimed

The claim ranks each subscription's due deliveries by (next_attempt_at, id); with this
index it reads them in that order instead of sorting every pending delivery.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_webhook_deliveries_sub_due', 'webhook_deliveries',
                    ['subscription_id', 'next_attempt_at', 'id'],
                    postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))


def downgrade():
    op.drop_index('ix_webhook_deliveries_sub_due', table_name='webhook_deliveries')
