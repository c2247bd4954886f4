"""Store task flow: stores, their staff and QR tasks, revocable link tokens, customer sessions and node taps (issue 16)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from storage.types import UTCDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        'store',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', _S(), nullable=False, unique=True),
        sa.Column('store_type', _S(), nullable=False),
        sa.Column('manager_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=True),
    )
    op.create_index('ix_store_manager_id', 'store', ['manager_id'])
    op.create_table(
        'store_member',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('store.id'), nullable=False),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.UniqueConstraint('store_id', 'person_id'),
    )
    op.create_index('ix_store_member_store_id', 'store_member', ['store_id'])
    op.create_index('ix_store_member_person_id', 'store_member', ['person_id'])
    op.create_table(
        'store_task',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('store.id'), nullable=False),
        sa.Column('name', _S(), nullable=False),
        sa.UniqueConstraint('store_id', 'name'),
    )
    op.create_index('ix_store_task_store_id', 'store_task', ['store_id'])
    op.create_table(
        'link_token',
        sa.Column('jti', _S(), primary_key=True),
        sa.Column('purpose', _S(), nullable=False),
        sa.Column('subject', _S(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'store_session',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', _S(), nullable=False, unique=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('store.id'), nullable=False),
        sa.Column('task_id', sa.Integer(), sa.ForeignKey('store_task.id'), nullable=False),
        sa.Column('person_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('reached', sa.Integer(), nullable=False),
        sa.Column('left_at', UTCDateTime(), nullable=True),
    )
    op.create_index('ix_store_session_store_id', 'store_session', ['store_id'])
    op.create_index('ix_store_session_person_id', 'store_session', ['person_id'])
    op.create_index('ix_store_session_started_at', 'store_session', ['started_at'])
    op.create_table(
        'store_tap',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('session_id', sa.Integer(), sa.ForeignKey('store_session.id'), nullable=False),
        sa.Column('node', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('session_id', 'node'),
    )
    op.create_index('ix_store_tap_session_id', 'store_tap', ['session_id'])


def downgrade() -> None:
    op.drop_index('ix_store_tap_session_id', 'store_tap')
    op.drop_table('store_tap')
    for ix in ('started_at', 'person_id', 'store_id'):
        op.drop_index(f'ix_store_session_{ix}', 'store_session')
    op.drop_table('store_session')
    op.drop_table('link_token')
    op.drop_index('ix_store_task_store_id', 'store_task')
    op.drop_table('store_task')
    op.drop_index('ix_store_member_person_id', 'store_member')
    op.drop_index('ix_store_member_store_id', 'store_member')
    op.drop_table('store_member')
    op.drop_index('ix_store_manager_id', 'store')
    op.drop_table('store')
