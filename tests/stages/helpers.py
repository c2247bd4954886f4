"""Shared steps of the stage-gate tests: find a customer's checks, its stage history, its open cards."""

from __future__ import annotations

from sqlalchemy import select, update

from storage.models import ChecklistItem, Customer, StageChange
from tests.harness import Chat, Seen


async def at_stage(chat: Chat, customer_id: str, stage: str, owner: str, template: str | None = None) -> None:
    async with chat.service.db.write() as s:
        await s.execute(update(Customer).where(Customer.id == customer_id).values(
            stage=stage, template=template, owner_id=chat.person(owner).id))


async def item_id(chat: Chat, customer_id: str, stage: str, key: str) -> int:
    async with chat.service.db.session() as s:
        got = (await s.execute(select(ChecklistItem.id).where(
            ChecklistItem.customer_id == customer_id, ChecklistItem.stage == stage, ChecklistItem.key == key))).scalar_one()
    return int(got)


async def items(chat: Chat, customer_id: str, stage: str) -> dict[str, ChecklistItem]:
    async with chat.service.db.session() as s:
        rows = (await s.execute(select(ChecklistItem).where(
            ChecklistItem.customer_id == customer_id, ChecklistItem.stage == stage))).scalars()
        return {i.key: i for i in rows}


async def stage_of(chat: Chat, customer_id: str) -> str:
    async with chat.service.db.session() as s:
        c = await s.get(Customer, customer_id)
        assert c is not None
        return c.stage


async def changes(chat: Chat, customer_id: str) -> list[StageChange]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(StageChange).where(StageChange.customer_id == customer_id)
                                     .order_by(StageChange.id))).scalars())


async def checklist(chat: Chat, who: str, customer: str, stage: str, *, extra: str = "") -> Seen:
    """The newest checklist card of ``customer`` at ``stage`` shown to ``who`` (containing ``extra``)."""
    return await chat.should_send(who, card=f"{customer} · {stage}检查清单", where=lambda c: extra in c.text)
