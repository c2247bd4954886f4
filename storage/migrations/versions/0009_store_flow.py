"""Store task flow: QR tokens, store sessions, node taps (issue 16) — placeholder reserved so parallel work chains in a fixed order; filled by its issue

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
