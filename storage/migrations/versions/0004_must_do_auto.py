"""must_do.auto: chosen by the end-of-day run because the rep never picked a set

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 03:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('must_do') as batch:
        batch.add_column(sa.Column('auto', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('must_do') as batch:
        batch.drop_column('auto')
