"""Several senders on one PostgreSQL (each a process in production; here each with its own engine, its
own channel and its own in-memory limiter, as a process would have): the outbox is split between them
(``FOR UPDATE SKIP LOCKED``), nothing is sent twice, and rate-limit budgets hold for all of them together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.channels.base import Channel, Delivery
from bot.config import OutboxConfig
from bot.ratelimit import RateLimiter
from bot.sender import Sender
from handlers.clock import SystemClock
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, SendSlot


class Recorder(Channel):
    """A platform that accepts everything and remembers what it was asked to show."""

    name = "rec"

    def __init__(self, limiter: RateLimiter, delay_s: float = 0.0) -> None:
        self.limiter = limiter
        self.delay_s = delay_s
        self.accepted: list[str] = []

    async def deliver(self, msg: OutboxMessage) -> Delivery:
        await asyncio.sleep(self.delay_s)  # a platform call takes time: the other sender works meanwhile
        self.accepted.append(msg.body["text"])
        return Delivery(message_id=f"m-{msg.id}")

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        raise NotImplementedError


async def _queue(db: Database, rows: list[tuple[str, str]]) -> None:
    async with db.write() as s:
        await outbox.enqueue_many(s, [outbox.Outgoing(key=f"k{i}", platform="rec", recipient=who,
                                                      body=outbox.text_body(text))
                                      for i, (who, text) in enumerate(rows)], now=datetime.now(UTC))


async def _nodes(url: str, make_limiter: Any, delay_s: float = 0.0) -> list[tuple[Database, Sender, Recorder]]:
    out = []
    for _ in range(2):
        db = Database(url)
        ch = Recorder(make_limiter(), delay_s)
        out.append((db, Sender(db, {"rec": ch}, SystemClock(), OutboxConfig(poll_interval_s=0.05)), ch))
    return out


async def _tick_together(nodes: list[tuple[Database, Sender, Recorder]], rounds: int) -> None:
    for _ in range(rounds):
        await asyncio.gather(*(sender.tick() for _, sender, _ in nodes))


async def _count(db: Database, *where: Any) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(OutboxMessage).where(*where))).scalar_one())


async def test_two_senders_split_the_outbox_and_send_each_message_once(pg_url: str) -> None:
    nodes = await _nodes(pg_url, lambda: RateLimiter([]), delay_s=0.001)
    texts = [f"消息{i}" for i in range(600)]
    await _queue(nodes[0][0], [(f"u{i}", t) for i, t in enumerate(texts)])
    for _ in range(30):
        await _tick_together(nodes, 1)
        if not await _count(nodes[0][0], OutboxMessage.status != OutboxStatus.sent):
            break
    a, b = nodes[0][2].accepted, nodes[1][2].accepted
    assert sorted(a + b) == sorted(texts)  # every message shown, none twice
    assert a and b  # both senders took a share (rows one had locked, the other skipped)
    for db, _, _ in nodes:
        await db.close()


async def test_one_recipients_budget_holds_across_senders(pg_url: str) -> None:
    """2 per minute per recipient: two senders with their own limiters would send 4; together they send 2."""
    nodes = await _nodes(pg_url, lambda: RateLimiter([(2, 60.0)]))
    await _queue(nodes[0][0], [("u1", f"第{i}条") for i in range(6)])
    await _tick_together(nodes, 3)
    a, b = nodes[0][2].accepted, nodes[1][2].accepted
    assert sorted(a + b) == ["第0条", "第1条"]  # the budget, in the recipient's order
    assert await _count(nodes[0][0], OutboxMessage.status == OutboxStatus.pending) == 4  # waiting, not dropped
    for db, _, _ in nodes:
        await db.close()


async def test_app_wide_budget_holds_across_senders_and_old_slots_are_forgotten(pg_url: str) -> None:
    nodes = await _nodes(pg_url, lambda: RateLimiter([(5, 1.0)], app_windows=[(3, 60.0)]))
    await _queue(nodes[0][0], [(f"u{i}", f"给{i}") for i in range(10)])
    async with nodes[0][0].write() as s:  # a slot older than any window: the next tick deletes it
        s.add(SendSlot(platform="rec", key="u9", at=0.0))
    await _tick_together(nodes, 3)
    assert len(nodes[0][2].accepted) + len(nodes[1][2].accepted) == 3
    async with nodes[0][0].session() as s:
        slots = [(k, at > 0) for k, at in await s.execute(select(SendSlot.key, SendSlot.at))]
    assert sorted(k for k, _ in slots).count("*") == 3 and all(fresh for _, fresh in slots)
    for db, _, _ in nodes:
        await db.close()
