"""send_slot: rate-limit budgets shared by the sender processes of one PostgreSQL

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'send_slot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_send_slot_key_at', 'send_slot', ['platform', 'key', 'at'])
    op.create_index(op.f('ix_send_slot_at'), 'send_slot', ['at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_send_slot_at'), table_name='send_slot')
    op.drop_index('ix_send_slot_key_at', table_name='send_slot')
    op.drop_table('send_slot')
