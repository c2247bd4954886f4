"""The outbox sender against a real (test) channel: retries with backoff, pacing, ordering, give-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.channels.base import Channel, ChannelError, Delivery
from bot.ratelimit import RateLimiter
from bot.sender import Sender
from handlers.clock import SystemClock
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import make_config


class FlakyChannel(Channel):
    """Fails the first ``failures`` calls the way a throttled platform does, then accepts."""

    name = "flaky"

    def __init__(self, failures: int, retryable: bool = True, limiter: RateLimiter | None = None) -> None:
        self.failures = failures
        self.retryable = retryable
        self.limiter = limiter or RateLimiter([])
        self.accepted: list[str] = []
        self.calls = 0

    async def deliver(self, msg: OutboxMessage) -> Delivery:
        self.calls += 1
        if self.calls <= self.failures:
            raise ChannelError("45009 api freq out of limit", retryable=self.retryable, retry_after=0.01)
        self.accepted.append(msg.body["text"])
        return Delivery(message_id=f"m{self.calls}")

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        raise NotImplementedError


async def _setup(tmp_path: Path, channel: Channel, texts: list[str], **outbox_cfg: Any) -> tuple[Database, Sender]:
    cfg = make_config(tmp_path, outbox=outbox_cfg)
    db = Database(cfg.database.url)
    await db.migrate()
    async with db.session() as s, s.begin():
        for i, t in enumerate(texts):
            await outbox.enqueue(s, key=f"k{i}", platform="flaky", recipient="u1", body={"text": t},
                                 now=datetime.now(UTC))
    return db, Sender(db, {"flaky": channel}, SystemClock(), cfg.outbox)


async def _drain(sender: Sender, rounds: int = 200) -> None:
    import asyncio

    for _ in range(rounds):
        await sender.tick()
        await asyncio.sleep(0.01)


async def _rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars())


async def test_throttled_sends_are_retried_in_order(tmp_path: Path) -> None:
    ch = FlakyChannel(failures=2)
    db, sender = await _setup(tmp_path, ch, ["一", "二", "三"])
    await _drain(sender)
    assert ch.accepted == ["一", "二", "三"]
    rows = await _rows(db)
    assert [r.status for r in rows] == [OutboxStatus.sent] * 3
    assert rows[0].attempts == 3 and rows[0].platform_message_id == "m3"
    await db.close()


async def test_permanent_error_fails_without_retry(tmp_path: Path) -> None:
    ch = FlakyChannel(failures=1, retryable=False)
    db, sender = await _setup(tmp_path, ch, ["一"])
    await _drain(sender, 20)
    [row] = await _rows(db)
    assert row.status == OutboxStatus.failed and row.attempts == 1 and "45009" in (row.last_error or "")
    await db.close()


async def test_gives_up_after_max_attempts(tmp_path: Path) -> None:
    ch = FlakyChannel(failures=100)
    db, sender = await _setup(tmp_path, ch, ["一"], max_attempts=3)
    await _drain(sender, 100)
    [row] = await _rows(db)
    assert row.status == OutboxStatus.failed and row.attempts == 3
    await db.close()


async def test_rate_limit_paces_instead_of_dropping(tmp_path: Path) -> None:
    ch = FlakyChannel(failures=0, limiter=RateLimiter([(2, 60.0)]))
    db, sender = await _setup(tmp_path, ch, ["1", "2", "3", "4", "5"])
    await sender.tick()
    assert ch.accepted == ["1", "2"]  # the budget is spent; the rest wait instead of being sent and dropped
    waiting = [r for r in await _rows(db) if r.status == OutboxStatus.pending]
    assert len(waiting) == 3 and all(r.attempts == 0 for r in waiting)
    # the first waiter is due when the window frees a slot (~60 s), the ones behind it with it, in order
    due = [r.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC) for r in waiting]
    assert timedelta(seconds=50) < due[0] <= timedelta(seconds=60)
    assert await sender.tick() == 0 and ch.accepted == ["1", "2"]  # nothing due yet: nothing sent early
    await db.close()


def test_rate_limiter_windows() -> None:
    rl = RateLimiter([(30, 60), (1000, 3600)])
    assert all(rl.reserve("u", float(i)) == 0 for i in range(30))
    wait = rl.reserve("u", 30.0)
    assert 29.9 < wait <= 30.0  # the first of the 30 leaves the minute window at t=60
    assert rl.reserve("other", 30.0) == 0


def test_slack_keeps_a_window_open_longer_than_the_platforms_own() -> None:
    """A send reserved a whole window after another may still arrive less than a window after it (both in
    flight, the later one faster); the slack makes the next send wait 1 % of the span longer, app windows too."""
    rl = RateLimiter([(2, 60.0)], app_windows=[(3, 100.0)], slack=0.01)
    assert rl.reserve("u", 0.0) == 0 and rl.reserve("u", 0.0) == 0
    assert rl.reserve("u", 60.0) == pytest.approx(0.6)  # the platform's minute is over, ours is not
    assert rl.reserve("u", 60.6) == 0
    assert rl.reserve("v", 60.6) == pytest.approx(40.4)  # the app's third of 100 s waits for t=101
    assert rl.with_history({}).windows == rl.windows  # a shared-history copy keeps the stretched spans


def test_a_text_in_pieces_takes_as_many_slots() -> None:
    rl = RateLimiter([(3, 60)], app_windows=[(4, 10)])
    assert rl.reserve("u", 0.0, 2) == 0
    assert rl.reserve("u", 1.0, 2) == 59.0  # 2 + 2 > 3: one of the first two must leave the minute first
    assert rl.reserve("u", 1.0, 1) == 0  # a single message still fits
    assert rl.reserve("v", 2.0, 2) == 8.0  # the app's 4 per 10 s: 3 taken by u, so 2 more wait for t=10
    assert rl.reserve("v", 2.0, 1) == 0
    copy = rl.with_history({"u": [100.0], "*": [100.0]})
    assert copy.reserve("u", 100.0, 2) == 0 and copy.taken == [("u", 100.0), ("*", 100.0)] * 2


def test_a_text_of_more_pieces_than_a_window_holds_goes_when_the_window_is_empty() -> None:
    rl = RateLimiter([(3, 60)])
    assert rl.reserve("u", 0.0, 5) == 0  # capped at the window's size: it would otherwise never go
    assert rl.reserve("u", 10.0) == 50.0  # and all five count against what follows


async def test_the_sender_reserves_a_slot_for_every_piece(tmp_path: Path) -> None:
    class Pieces(FlakyChannel):
        def sends(self, msg: OutboxMessage) -> int:
            return 2 if msg.body["text"].startswith("长") else 1

    ch = Pieces(failures=0, limiter=RateLimiter([(3, 60.0)]))
    db, sender = await _setup(tmp_path, ch, ["长一", "短", "长二"])
    await sender.tick()
    assert ch.accepted == ["长一", "短"]  # 2 + 1 slots: the second long text waits for the window
    await db.close()


async def test_a_row_another_sender_claimed_since_it_was_read_is_not_won(tmp_path: Path) -> None:
    """The batch claim checks each row's attempt count: a stale read wins nothing, a fresh one wins all."""
    db, _ = await _setup(tmp_path, FlakyChannel(failures=0), ["一", "二", "三"])
    now = datetime.now(UTC)
    async with db.session() as s:
        seen = list((await s.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))).scalars())
    async with db.write() as s:  # another sender takes the middle row first
        assert await outbox.claim(s, [seen[1]], now, 60) == {seen[1].id}
    async with db.write() as s:
        won = await outbox.claim(s, seen, now, 60)
    assert won == {seen[0].id, seen[2].id}
    assert [r.attempts for r in await _rows(db)] == [1, 1, 1]
    await db.close()


async def test_two_senders_racing_send_each_message_once(tmp_path: Path) -> None:
    import asyncio

    ch = FlakyChannel(failures=0)
    db, first = await _setup(tmp_path, ch, [str(i) for i in range(40)])
    second = Sender(db, {"flaky": ch}, SystemClock(), first.cfg)
    for _ in range(10):
        await asyncio.gather(first.tick(), second.tick())
    assert sorted(ch.accepted, key=int) == [str(i) for i in range(40)]
    assert {r.status for r in await _rows(db)} == {OutboxStatus.sent}
    await db.close()
