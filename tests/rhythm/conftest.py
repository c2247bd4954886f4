"""Helpers for the daily-rhythm tests: moments in the org's zone, cards by kind, a card's latest version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from bot.service import Service
from storage.models import Card as CardRow
from storage.models import MustDo, OutboxMessage, Person
from tests.conftest import TZ


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


async def card_rows(service: Service, kind: str, person: Person | None = None) -> list[CardRow]:
    async with service.db.session() as s:
        q = select(CardRow).where(CardRow.kind == kind)
        if person is not None:
            q = q.where(CardRow.audience_id == person.id)
        return list((await s.execute(q.order_by(CardRow.created_at, CardRow.id))).scalars())


async def latest(service: Service, card_id: str) -> dict[str, Any]:
    """The newest queued version of a card (its first send or its latest update), as a dict."""
    async with service.db.session() as s:
        msg = (await s.execute(select(OutboxMessage).where(OutboxMessage.card_id == card_id)
                               .order_by(OutboxMessage.id.desc()).limit(1))).scalar_one()
    card: dict[str, Any] = msg.body["card"]
    return card


async def texts(service: Service, person: Person) -> list[str]:
    async with service.db.session() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.person_id == person.id,
                                                            OutboxMessage.card_id.is_(None)))).scalars()
        return [str(r.body.get("text", "")) for r in rows]


async def items(service: Service, person: Person, day: date) -> list[MustDo]:
    async with service.db.session() as s:
        q = select(MustDo).where(MustDo.rep_id == person.id, MustDo.local_date == day).order_by(MustDo.rank)
        return list((await s.execute(q)).scalars())


def actions(card: dict[str, Any]) -> list[str]:
    return [b["action"] for b in card["buttons"]] + [i["action"] for i in card["inputs"]]
