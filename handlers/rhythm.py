"""What the daily rhythm's handlers share: the rules (from config), the workday calendar, day bounds.

Handlers never see the config file, so the service turns its ``rules`` / ``schedule`` sections into
``Rules``; the calendar is passed in as a protocol because it lives with the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import col

from handlers.people import supervisor_chain
from storage.models import ActionRecord, Customer, Person, RecordStatus
from storage.models import Card as CardRow

REAL = (RecordStatus.confirmed, RecordStatus.to_verify)  # records that count as a real touch


class Calendar(Protocol):
    def is_workday(self, d: date) -> bool: ...

    def workdays_after(self, start: date, end: date) -> int: ...


@dataclass(frozen=True)
class Rules:
    must_do_count: int = 3
    must_do_proposals: int = 6
    stale_lead_hours: int = 72
    first_contact_hours: int = 2
    first_contact_director_hours: int = 4
    first_contact_window_days: int = 7
    overdue_red_days: int = 3
    reason_deadline: time = time(17, 0)
    closed_stages: tuple[str, ...] = ("签约", "回款")
    sales_bp: tuple[str, ...] = ()  # person names


async def in_chain(session: AsyncSession, presser: Person, subordinate_id: int) -> bool:
    """True when ``presser`` is above ``subordinate_id`` in the reporting line (never the person themself)."""
    return any(p.id == presser.id for p in await supervisor_chain(session, subordinate_id))


async def direct_supervisor(session: AsyncSession, person_id: int) -> Person | None:
    chain = await supervisor_chain(session, person_id, max_depth=1)
    return chain[0] if chain and chain[0].active else None


async def cards_of(session: AsyncSession, kind: str, audience_id: int | None = None,
                   since: datetime | None = None) -> list[CardRow]:
    """Card rows of one kind (optionally for one person, created since a moment), oldest first."""
    q = select(CardRow).where(col(CardRow.kind) == kind)
    if audience_id is not None:
        q = q.where(col(CardRow.audience_id) == audience_id)
    if since is not None:
        q = q.where(col(CardRow.created_at) >= since)
    return list((await session.execute(q.order_by(col(CardRow.created_at), col(CardRow.id)))).scalars())


def latest_record_id() -> ScalarSelect[Any]:
    """Correlated scalar subquery: the id of the customer's newest real record."""
    return (
        select(col(ActionRecord.id))
        .where(col(ActionRecord.customer_id) == col(Customer.id), col(ActionRecord.status).in_(REAL))
        .order_by(col(ActionRecord.created_at).desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )


def customers_with_latest(dialect: str = "sqlite") -> Select[*tuple[Any, ...]]:
    """Customers (id, short label, owner, stage, created, last action, block reason) joined to their newest
    real record (id, next touch, type), if any; callers add the WHERE.

    PostgreSQL gets a LATERAL join: given ``id = (correlated subquery)`` as a join condition it hashes
    the whole action_record table instead (a cost that grows with history); SQLite has no LATERAL and
    runs the subquery per customer, one backwards index step each."""
    customer = (col(Customer.id), short_label().label("label"), col(Customer.owner_id), col(Customer.stage),
                col(Customer.created_at), col(Customer.last_action_at), col(Customer.block_reason))
    if dialect == "postgresql":
        latest = (
            select(col(ActionRecord.id), col(ActionRecord.next_touch), col(ActionRecord.type))
            .where(col(ActionRecord.customer_id) == col(Customer.id), col(ActionRecord.status).in_(REAL))
            .order_by(col(ActionRecord.created_at).desc()).limit(1).lateral("latest")
        )
        return (select(*customer, latest.c.id.label("record_id"), latest.c.next_touch, latest.c.type)
                .select_from(Customer).outerjoin(latest, true()))
    return (
        select(*customer, col(ActionRecord.id).label("record_id"), col(ActionRecord.next_touch), col(ActionRecord.type))
        .select_from(Customer)
        .outerjoin(ActionRecord, col(ActionRecord.id) == latest_record_id())
    )


def short_name(name: str, aliases: list[str] | None) -> str:
    return aliases[0] if aliases else name


def short_label() -> ColumnElement[str]:
    """``short_name`` in SQL (first alias, else the name): a scan of every customer decodes no alias lists."""
    return func.coalesce(col(Customer.aliases)[0].as_string(), col(Customer.name))

