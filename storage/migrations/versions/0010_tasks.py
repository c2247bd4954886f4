"""Cross-role tasks (task), 查重 keys (customer_key, filled here for existing rows), the task roles

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from storage.customer_keys import NAME, PHONE, name_keys, phone_key
from storage.types import JSONType, UTCDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
NEW_ROLES = ('presales', 'delivery', 'legal', 'finance')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':  # SQLite stores the enum as text without a check
        for role in NEW_ROLES:
            op.execute(f"ALTER TYPE role ADD VALUE IF NOT EXISTS '{role}'")
    op.create_table(
        'task',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('customer_id', S(), sa.ForeignKey('customer.id'), nullable=False),
        sa.Column('stage', S(), nullable=False),
        sa.Column('role', S(), nullable=False),
        sa.Column('title', S(), nullable=False),
        sa.Column('need', S(), nullable=False),
        sa.Column('record_id', sa.Integer(), sa.ForeignKey('action_record.id'), nullable=True),
        sa.Column('assignee_id', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('requested_by', sa.Integer(), sa.ForeignKey('person.id'), nullable=False),
        sa.Column('status', sa.Enum('open', 'accepted', 'done', 'cancelled', name='taskstatus'), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('accepted_at', UTCDateTime(), nullable=True),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.Column('due_at', UTCDateTime(), nullable=True),
        sa.Column('note', S(), nullable=True),
        sa.Column('attachment', JSONType(), nullable=False),
        sa.Column('warned_at', UTCDateTime(), nullable=True),
        sa.Column('card_id', S(), nullable=True),
        sa.Column('copies', JSONType(), nullable=False),
        sa.UniqueConstraint('record_id', 'role'),
    )
    op.create_index('ix_task_assignee_id', 'task', ['assignee_id'])
    op.create_index('ix_task_status_due', 'task', ['status', 'due_at'])
    op.create_index('ix_task_customer_created', 'task', ['customer_id', 'created_at'])
    key = op.create_table(
        'customer_key',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('customer_id', S(), sa.ForeignKey('customer.id'), nullable=False),
        sa.Column('kind', S(), nullable=False),
        sa.Column('key', S(), nullable=False),
        sa.UniqueConstraint('kind', 'key', 'customer_id'),
    )
    op.create_index('ix_customer_key_customer_id', 'customer_key', ['customer_id'])
    customer = sa.table('customer', sa.column('id', S()), sa.column('name', S()), sa.column('aliases', JSONType()))
    contact = sa.table('contact', sa.column('customer_id', S()), sa.column('phone', S()))
    seen: set[tuple[str, str, str]] = set()
    for cid, name, aliases in bind.execute(sa.select(customer.c.id, customer.c.name, customer.c.aliases)):
        seen |= {(cid, NAME, k) for k in name_keys(name, list(aliases or []))}
    for cid, phone in bind.execute(sa.select(contact.c.customer_id, contact.c.phone)):
        if (k := phone_key(phone)) is not None:
            seen.add((cid, PHONE, k))
    rows = [{'customer_id': c, 'kind': kind, 'key': k} for c, kind, k in sorted(seen)]
    for i in range(0, len(rows), 1000):
        op.bulk_insert(key, rows[i:i + 1000])


def downgrade() -> None:
    op.drop_index('ix_customer_key_customer_id', 'customer_key')
    op.drop_table('customer_key')
    op.drop_index('ix_task_customer_created', 'task')
    op.drop_index('ix_task_status_due', 'task')
    op.drop_index('ix_task_assignee_id', 'task')
    op.drop_table('task')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TYPE IF EXISTS taskstatus')
