"""Report counts kept beside the reports: per agency, local submission day and channel
(the stats) and per agency and status (/metrics), so neither counts the reports table;
filled from the existing reports

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_daily_counts',
        sa.Column('agency_code', sa.String(64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sa.String(20), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('dispositioned', sa.Integer(), nullable=False),
        sa.Column('responded', sa.Integer(), nullable=False),
        sa.Column('resolved', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('agency_code', 'day', 'channel'),
    )
    op.create_index('ix_report_daily_counts_day', 'report_daily_counts', ['day'])
    op.create_table(
        'report_status_counts',
        sa.Column('agency_code', sa.String(64), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('agency_code', 'status'),
    )
    pg = op.get_bind().dialect.name == 'postgresql'
    day = "CAST(timezone('Asia/Jakarta', submitted_at) AS date)" if pg else \
        "date(submitted_at, '+7 hours')"
    op.execute(
        "INSERT INTO report_daily_counts (agency_code, day, channel, received, "
        "dispositioned, responded, resolved) "
        f"SELECT coalesce(agency_code, ''), {day}, channel, count(*), "
        "count(dispositioned_at), count(first_response_at), "
        "count(CASE WHEN resolved_at IS NOT NULL OR status = 'closed' THEN 1 END) "
        f"FROM reports GROUP BY coalesce(agency_code, ''), {day}, channel")
    op.execute(
        "INSERT INTO report_status_counts (agency_code, status, n) "
        "SELECT coalesce(agency_code, ''), status, count(*) FROM reports "
        "GROUP BY coalesce(agency_code, ''), status")


def downgrade():
    op.drop_table('report_status_counts')
    op.drop_index('ix_report_daily_counts_day', table_name='report_daily_counts')
    op.drop_table('report_daily_counts')
