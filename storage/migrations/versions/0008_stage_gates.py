"""Stage gates: customer.template, stage_change, checklist_item, verification (待核实), person.awaiting_*

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from storage.types import JSONType, UTCDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('customer') as batch:
        batch.add_column(sa.Column('template', S(), nullable=True))
    with op.batch_alter_table('person') as batch:
        batch.add_column(sa.Column('awaiting_card_id', S(), nullable=True))
        batch.add_column(sa.Column('awaiting_since', UTCDateTime(), nullable=True))
    op.create_table(
        'stage_change',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('customer_id', S(), sa.ForeignKey('customer.id'), nullable=False),
        sa.Column('old', S(), nullable=False),
        sa.Column('new', S(), nullable=False),
        sa.Column('by_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('override_reason', S(), nullable=True),
        sa.Column('missing', JSONType(), nullable=False),
    )
    op.create_index('ix_stage_change_customer_at', 'stage_change', ['customer_id', 'at'])
    op.create_table(
        'checklist_item',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('customer_id', S(), sa.ForeignKey('customer.id'), nullable=False),
        sa.Column('stage', S(), nullable=False),
        sa.Column('key', S(), nullable=False),
        sa.Column('title', S(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('evidence_kind', S(), nullable=True),
        sa.Column('status', S(), nullable=False),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.Column('done_by', sa.Integer(), nullable=True),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('evidence', JSONType(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('customer_id', 'stage', 'key'),
    )
    op.create_index('ix_checklist_item_status', 'checklist_item', ['status', 'customer_id'])
    op.create_table(
        'verification',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('record_id', sa.Integer(), sa.ForeignKey('action_record.id'), nullable=False, unique=True),
        sa.Column('rep_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('supervisor_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=True),
        sa.Column('reasons', JSONType(), nullable=False),
        sa.Column('status', sa.Enum('open', 'confirmed', 'rejected', name='verifystatus'), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=False),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_by', sa.Integer(), nullable=True),
        sa.Column('note', S(), nullable=True),
        sa.Column('escalated_at', UTCDateTime(), nullable=True),
        sa.Column('card_id', S(), nullable=True),
    )
    op.create_index('ix_verification_rep_id', 'verification', ['rep_id'])
    op.create_index('ix_verification_status_due', 'verification', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_table('verification')
    op.drop_table('checklist_item')
    op.drop_table('stage_change')
    with op.batch_alter_table('person') as batch:
        batch.drop_column('awaiting_since')
        batch.drop_column('awaiting_card_id')
    with op.batch_alter_table('customer') as batch:
        batch.drop_column('template')
