"""Webhooks: each report event records the report as it was and the agency responsible
then; deliveries carry a renewable lease owner; subscriptions carry a circuit breaker

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:10:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import hub.models.types

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade():
    with op.batch_alter_table('report_events') as batch:
        batch.add_column(sa.Column('agency_code', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('report_state', JSONType, nullable=True))
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
    with op.batch_alter_table('webhook_subscriptions') as batch:
        batch.add_column(sa.Column('consecutive_failures', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('circuit_open_until', hub.models.types.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_subscriptions') as batch:
        batch.drop_column('circuit_open_until')
        batch.drop_column('consecutive_failures')
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_column('lease_owner')
    with op.batch_alter_table('report_events') as batch:
        batch.drop_column('report_state')
        batch.drop_column('agency_code')
