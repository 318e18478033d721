"""revocable credentials: API client secret generation, UI session rows, login throttle

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:40:00

"""
from alembic import op
import sqlalchemy as sa
import hub.models.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_clients') as batch:
        batch.add_column(sa.Column('secret_generation', sa.Integer(), nullable=False,
                                   server_default='1'))
    op.create_table('ui_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hub.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', hub.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ui_sessions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_ui_sessions'))
    )
    op.create_index(op.f('ix_ui_sessions_user_id'), 'ui_sessions', ['user_id'], unique=False)
    op.create_table('login_throttles',
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', hub.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('email', 'address', name=op.f('pk_login_throttles'))
    )


def downgrade():
    op.drop_table('login_throttles')
    op.drop_index(op.f('ix_ui_sessions_user_id'), table_name='ui_sessions')
    op.drop_table('ui_sessions')
    with op.batch_alter_table('api_clients') as batch:
        batch.drop_column('secret_generation')
