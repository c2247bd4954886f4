"""Contract approval chain: contract_request and its approval_step rows (one per step, unique per request + idx)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from storage.types import JSONType, UTCDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'contract_request',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('customer_id', S(), sa.ForeignKey('customer.id'), nullable=False),
        sa.Column('rep_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('attachment', JSONType(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'pending', 'approved', 'rejected', 'withdrawn', name='contractstatus'), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('reason', S(), nullable=True),
        sa.Column('card_id', S(), nullable=True),
    )
    op.create_index('ix_contract_request_rep_status', 'contract_request', ['rep_id', 'status'])
    op.create_table(
        'approval_step',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('request_id', sa.Integer(), sa.ForeignKey('contract_request.id'), nullable=False),
        sa.Column('idx', sa.Integer(), nullable=False),
        sa.Column('name', S(), nullable=False),
        sa.Column('approver_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('status', sa.Enum('queued', 'waiting', 'approved', 'rejected', name='approvalstepstatus'), nullable=False),
        sa.Column('wait_hours', sa.Float(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('due_at', UTCDateTime(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('note', S(), nullable=True),
        sa.Column('warned_at', UTCDateTime(), nullable=True),
        sa.Column('card_id', S(), nullable=True),
        sa.UniqueConstraint('request_id', 'idx'),
    )
    op.create_index('ix_approval_step_approver_id', 'approval_step', ['approver_id'])
    op.create_index('ix_approval_step_status_due', 'approval_step', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_approval_step_status_due', table_name='approval_step')
    op.drop_index('ix_approval_step_approver_id', table_name='approval_step')
    op.drop_table('approval_step')
    op.drop_index('ix_contract_request_rep_status', table_name='contract_request')
    op.drop_table('contract_request')
    sa.Enum(name='approvalstepstatus').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='contractstatus').drop(op.get_bind(), checkfirst=True)
