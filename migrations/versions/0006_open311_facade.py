"""open311 facade: client API keys and request tokens

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:30:00

"""
from alembic import op
import sqlalchemy as sa
import hub.models.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('open311_keys',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_open311_keys_client_id_api_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_open311_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_open311_keys_key_hash'))
    )
    op.create_table('open311_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_open311_tokens_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_open311_tokens'))
    )
    op.create_index(op.f('ix_open311_tokens_report_id'), 'open311_tokens', ['report_id'], unique=False)
    op.create_index('ix_reports_submitted_at', 'reports', ['submitted_at'], unique=False)
    op.create_index('ix_responses_created_at', 'responses', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_responses_created_at', table_name='responses')
    op.drop_index('ix_reports_submitted_at', table_name='reports')
    op.drop_index(op.f('ix_open311_tokens_report_id'), table_name='open311_tokens')
    op.drop_table('open311_tokens')
    op.drop_table('open311_keys')
