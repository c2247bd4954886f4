"""lead.first_contact_at: when the first real touch after assignment was confirmed (first-response KPI)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:45:00
"""
from alembic import op
import sqlalchemy as sa

from storage.types import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lead') as batch:
        batch.add_column(sa.Column('first_contact_at', UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lead') as batch:
        batch.drop_column('first_contact_at')
