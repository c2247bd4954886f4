"""action_record.payment_amount, contract_amount: every amount a rep reports is kept, not only budget and quote

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('action_record') as batch:
        batch.add_column(sa.Column('payment_amount', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('contract_amount', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('action_record') as batch:
        batch.drop_column('contract_amount')
        batch.drop_column('payment_amount')
