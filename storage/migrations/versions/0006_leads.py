"""lead table, customer.assigned_at (the first-contact clock), person.home_lat/home_lng (nearest-rep assignment)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from storage.types import JSONType, UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('home_lat', sa.Float(), nullable=True))
        batch.add_column(sa.Column('home_lng', sa.Float(), nullable=True))
    with op.batch_alter_table('customer') as batch:
        batch.add_column(sa.Column('assigned_at', UTCDateTime(), nullable=True))
    op.create_table(
        'lead',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('source_lead_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('customer_id', sqlmodel.sql.sqltypes.AutoString(), sa.ForeignKey('customer.id'), nullable=True),
        sa.Column('matched', sa.Boolean(), nullable=False),
        sa.Column('company', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('region', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lng', sa.Float(), nullable=True),
        sa.Column('tags', JSONType(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('status', sa.Enum('assigned', 'accepted', 'unassigned', name='leadstatus'), nullable=False),
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=True),
        sa.Column('assigned_at', UTCDateTime(), nullable=True),
        sa.Column('assigned_by', sa.Integer(), nullable=True),
        sa.Column('accepted_at', UTCDateTime(), nullable=True),
        sa.Column('returned', JSONType(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('rep_card_id', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('supervisor_cards', JSONType(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('source', 'source_lead_id'),
    )
    op.create_index('ix_lead_customer_id', 'lead', ['customer_id'])
    op.create_index('ix_lead_owner_id', 'lead', ['owner_id'])


def downgrade() -> None:
    op.drop_index('ix_lead_owner_id', 'lead')
    op.drop_index('ix_lead_customer_id', 'lead')
    op.drop_table('lead')
    with op.batch_alter_table('customer') as batch:
        batch.drop_column('assigned_at')
    with op.batch_alter_table('person') as batch:
        batch.drop_column('home_lng')
        batch.drop_column('home_lat')
