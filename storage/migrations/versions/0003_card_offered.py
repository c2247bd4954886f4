"""card.offered: the actions a card currently shows (a press of anything else is refused)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 20:00:00
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('card') as batch:
        batch.add_column(sa.Column('offered', storage.types.JSONType(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('card') as batch:
        batch.drop_column('offered')
