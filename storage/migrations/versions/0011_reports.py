"""Reports: indexes that keep the digest and radars bounded by their window, not by the history (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:40:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_stage_change_at', 'stage_change', ['at'])
    op.create_index('ix_verification_rep_created', 'verification', ['rep_id', 'created_at'])
    op.create_index('ix_task_done', 'task', ['done_at'])


def downgrade() -> None:
    op.drop_index('ix_task_done', table_name='task')
    op.drop_index('ix_verification_rep_created', table_name='verification')
    op.drop_index('ix_stage_change_at', table_name='stage_change')
