"""The inbox under concurrency: group commit keeps exactly one row per (platform, event id)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from bot.service import Service
from handlers.event import Event, EventKind
from storage.models import InboxEvent, Person


def ev(event_id: str, sender: str = "4", platform: str = "local") -> Event:
    return Event(platform=platform, event_id=event_id, kind=EventKind.text, sender=sender,
                 sent_at=datetime.now(UTC), text="今天拜访了瑞丰机械")


async def test_concurrent_duplicates_store_one_row(service: Service) -> None:
    await service.db.migrate()
    results = await asyncio.gather(*(service.inbox.accept(ev(f"dup-{i % 5}")) for i in range(50)))
    assert sum(results) == 5
    again = await asyncio.gather(*(service.inbox.accept(ev(f"dup-{i}")) for i in range(5)))
    assert not any(again)
    # the same id on another platform is a different event
    assert await service.inbox.accept(ev("dup-0", platform="wecom"))
    async with service.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 6


async def test_history_shows_both_sides_in_order(client: TestClient, service: Service,
                                                 people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await client.post("/local/api/message", json={"person_id": rep.id, "client_id": "hist-0001",
                                                  "text": "今天拜访了瑞丰机械张总，下周三再去"})
    await service.inbox.drain()
    for _ in range(100):
        items = await (await client.get(f"/local/api/history?person={rep.id}")).json()
        if len(items) >= 2:
            break
        await asyncio.sleep(0.05)
    assert items[0]["direction"] == "in" and "瑞丰" in items[0]["text"]
    assert items[1]["direction"] == "out" and "动作记录待确认" in items[1]["html"]


async def test_a_batch_handles_only_the_rows_it_wins(service: Service) -> None:
    """Another node handled one row of the batch already: this worker makes records for the others only."""
    from sqlalchemy import update

    from storage.models import ActionRecord, InboxStatus

    await service.db.migrate()
    for i in range(3):
        assert await service.inbox.accept(ev(f"batch-{i}"))
    async with service.db.session() as s:
        ids = list((await s.execute(select(col(InboxEvent.id)).order_by(col(InboxEvent.id)))).scalars())
    async with service.db.write() as s:
        await s.execute(update(InboxEvent).where(col(InboxEvent.id) == ids[1]).values(status=InboxStatus.done))
    assert await service.inbox.process_many([i for i in ids if i is not None]) == []
    async with service.db.session() as s:
        made = list((await s.execute(select(col(ActionRecord.source_event_id)).where(
            col(ActionRecord.source_event_id).in_(ids)))).scalars())
        statuses = set((await s.execute(select(col(InboxEvent.status)))).scalars())
    assert sorted(m for m in made if m) == [ids[0], ids[2]]
    assert statuses == {InboxStatus.done}
