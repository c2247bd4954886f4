"""Contract approval chain (issue 12, contracts part) — placeholder reserved so parallel work chains in a fixed order; filled by its issue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
