"""SLA clocks: per-agency limits, report tiers, flagged breaches, reports.due_at index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:20:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.models.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'agency_sla_settings',
        sa.Column('agency_code', sa.String(length=64), nullable=False),
        sa.Column('verify_and_disposition', sa.Integer(), nullable=True),
        sa.Column('first_response', sa.Integer(), nullable=True),
        sa.Column('resolve', sa.Integer(), nullable=True),
        sa.Column('resolve_information_request', sa.Integer(), nullable=True),
        sa.Column('resolve_light', sa.Integer(), nullable=True),
        sa.Column('resolve_normative', sa.Integer(), nullable=True),
        sa.Column('resolve_supervision', sa.Integer(), nullable=True),
        sa.Column('auto_close', sa.Integer(), nullable=True),
        sa.Column('tier_rules', sa.JSON().with_variant(
            postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
        sa.Column('updated_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'],
                                name=op.f('fk_agency_sla_settings_agency_code_agencies')),
        sa.PrimaryKeyConstraint('agency_code', name=op.f('pk_agency_sla_settings')),
    )
    op.create_table(
        'sla_breaches',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('report_id', sa.Uuid(), nullable=False),
        sa.Column('clock', sa.String(length=40), nullable=False),
        sa.Column('due_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('agency_code', sa.String(length=64), nullable=True),
        sa.Column('detected_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_sla_breaches_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_breaches')),
        sa.UniqueConstraint('report_id', 'clock', 'due_at',
                            name='uq_sla_breaches_report_clock_due'),
    )
    op.create_table(
        'report_sla_tiers',
        sa.Column('report_id', sa.Uuid(), nullable=False),
        sa.Column('tier', sa.String(length=20), nullable=False),
        sa.Column('set_by', sa.String(length=64), nullable=True),
        sa.Column('set_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_report_sla_tiers_report_id_reports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_sla_tiers')),
    )
    op.create_index('ix_reports_due_at', 'reports', ['due_at'], unique=False)


def downgrade():
    op.drop_index('ix_reports_due_at', table_name='reports')
    op.drop_table('report_sla_tiers')
    op.drop_table('sla_breaches')
    op.drop_table('agency_sla_settings')
