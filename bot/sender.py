"""The outbox sender: delivers queued messages under each platform's limits, retries with backoff.

Order of a send: claim the row (status ``sending`` + attempt + lease, committed) → call the platform
with the row's idempotency key → record the platform message id. A crash after the platform
accepted leaves ``sending``; after the lease the retry carries the same key, which the platform
(or our local channel) uses to drop the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot import metrics
from bot.channels.base import Channel, ChannelError, Delivery
from bot.config import OutboxConfig
from bot.ratelimit import APP, RateLimiter
from handlers.clock import Clock
from storage import outbox, send_slots
from storage.db import Database
from storage.models import Card as CardRow
from storage.models import OutboxMessage

log = logging.getLogger("actionflow.outbox")

CONCURRENT_RECIPIENTS = 16
CARD_NOT_SENT_RETRY_S = 0.5


@dataclass(frozen=True)
class Failure:
    error: str
    retryable: bool
    retry_after: float | None
    code: str = ""  # the platform's error code (or the exception type), for the send-errors metric


class _Released:
    """Claimed but not tried, because an earlier message to the same person failed."""


RELEASED: Final = _Released()
Planned = tuple[OutboxMessage, Channel, dict[str, object]]
Outcome = tuple[OutboxMessage, Delivery | Failure | _Released]


@dataclass
class Plan:
    go: list[Planned] = field(default_factory=list)
    deferred: list[tuple[int, datetime]] = field(default_factory=list)  # (id, due again at)
    orphans: list[OutboxMessage] = field(default_factory=list)  # their platform is not enabled
    app_full_until: datetime | None = None  # an app-wide budget is spent: its rows wait, left as they are


def _failure(exc: Exception) -> Failure:
    if isinstance(exc, ChannelError):
        return Failure(str(exc), exc.retryable, exc.retry_after, metrics.error_code(exc))
    return Failure(f"{type(exc).__name__}: {exc}", True, None, metrics.error_code(exc))  # network errors, timeouts: retry


def _id(msg: OutboxMessage) -> int:
    assert msg.id is not None
    return msg.id


class Sender:
    def __init__(self, db: Database, channels: dict[str, Channel], clock: Clock, cfg: OutboxConfig) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.cfg = cfg
        self._wake = asyncio.Event()
        self.next_due: datetime | None = None  # the earliest message this tick put off (rate limits)
        self._task: asyncio.Task[None] | None = None
        self.shared = db.engine.dialect.name == "postgresql"  # other processes send from the same outbox

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.tick()
            except Exception:
                log.exception("sender tick failed")
                busy = 0
            if busy:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_s())
            except TimeoutError:
                pass

    def _idle_s(self) -> float:
        """Sleep until the next poll, or sooner when a message put off by a budget falls due: a fan-out
        paced at 50/s must not lose most of every second to the poll interval."""
        if self.next_due is None:
            return self.cfg.poll_interval_s
        return min(self.cfg.poll_interval_s, max(0.0, (self.next_due - self.clock.now()).total_seconds()))

    async def tick(self) -> int:
        """Deliver what is due now; returns how many messages were sent.

        One read, one claim transaction and one record transaction per tick, however many messages:
        under load the commits, not the sends, were the cost. The order of a send is unchanged —
        claimed (committed) before the platform call, recorded after it.
        """
        now = self.clock.now()
        plan, claimed = await (self._take_shared(now) if self.shared else self._take(now))
        dues = [at for _, at in plan.deferred] + ([plan.app_full_until] if plan.app_full_until else [])
        self.next_due = min(dues, default=None)
        for msg in plan.orphans:
            log.error("no channel for message", extra={"outbox_id": msg.id, "platform": msg.platform})
        groups: OrderedDict[tuple[str, str], list[Planned]] = OrderedDict()
        for item in claimed:
            item[0].attempts += 1
            groups.setdefault((item[0].platform, item[0].recipient), []).append(item)
        sem = asyncio.Semaphore(CONCURRENT_RECIPIENTS)
        outcomes = await self._send_batched(claimed)
        batched = {id(m) for m, _ in outcomes}

        async def run(group: list[Planned]) -> None:
            async with sem:
                for n, (msg, channel, refs) in enumerate(group):  # one recipient's messages stay in order
                    if id(msg) in batched:
                        continue
                    outcome = await self._call(msg, channel, refs)
                    outcomes.append(outcome)
                    if not isinstance(outcome[1], Delivery):
                        outcomes.extend((m, RELEASED) for m, _, _ in group[n + 1:] if id(m) not in batched)
                        return

        await asyncio.gather(*(run(g) for g in groups.values()))
        await self._record(outcomes)
        return sum(isinstance(o, Delivery) for _, o in outcomes)

    async def _take(self, now: datetime) -> tuple[Plan, list[Planned]]:
        """One process (SQLite): read, plan against the in-memory budgets, then claim by attempt count."""
        async with self.db.session() as s:
            rows = await outbox.due(s, now)
            cards = await self._cards(s, rows)
        plan = self._plan(rows, cards, now, {}, time.monotonic())
        if not plan.go and not plan.deferred and not plan.orphans:
            return plan, []
        async with self.db.write() as s:
            return plan, await self._claim(s, plan, now)

    async def _take_shared(self, now: datetime) -> tuple[Plan, list[Planned]]:
        """Many processes (PostgreSQL), all in one transaction: rows read ``FOR UPDATE SKIP LOCKED`` (another
        sender reads other rows), the recipients' budgets locked and read from ``send_slot``, recipients
        whose earlier messages are still unsent (another sender has them in hand) held back, then claim
        and the budget slots taken written, and commit."""
        async with self.db.write() as s:
            rows = await outbox.due(s, now, skip_locked=True)
            if not rows:
                return Plan(), []
            limited = {(r.platform, r.recipient) for r in rows
                       if r.platform in self.channels and self.channels[r.platform].limiter.limited}
            apps = {(p, APP) for p, _ in limited if self.channels[p].limiter.app is not None}
            clock_s = await send_slots.lock(s, limited | apps)
            limiters: dict[str, RateLimiter] = {}
            for platform in {p for p, _ in limited}:
                base = self.channels[platform].limiter
                keys = sorted({k for p, k in limited | apps if p == platform})
                limiters[platform] = base.with_history(
                    await send_slots.recent(s, platform, keys, clock_s - base.longest))
            plan = self._plan(rows, await self._cards(s, rows), now, limiters, clock_s,
                              earlier=await outbox.first_unsent(s, rows))
            claimed = await self._claim(s, plan, now)
            for platform, lim in limiters.items():
                await send_slots.take(s, platform, lim.taken, clock_s - lim.longest)
        return plan, claimed

    async def _cards(self, s: AsyncSession, rows: Sequence[OutboxMessage]) -> dict[str, CardRow]:
        """The cards that updates in ``rows`` change (an update waits until its card was sent)."""
        wanted = {r.card_id for r in rows if r.op == "update" and r.card_id}
        return {c.id: c for c in (await s.execute(
            select(CardRow).where(col(CardRow.id).in_(wanted)))).scalars()} if wanted else {}

    async def _claim(self, s: AsyncSession, plan: Plan, now: datetime) -> list[Planned]:
        for msg_id, at in plan.deferred:
            await outbox.defer(s, msg_id, at)
        for msg in plan.orphans:
            await outbox.mark_retry(s, _id(msg), now, f"channel {msg.platform} is not enabled", failed=True)
        won = await outbox.claim(s, [m for m, _, _ in plan.go], now, self.cfg.lease_s)
        return [(m, ch, refs) for m, ch, refs in plan.go if m.id in won]

    def _plan(self, rows: Sequence[OutboxMessage], cards: dict[str, CardRow], now: datetime,
              limiters: dict[str, RateLimiter], clock_s: float,
              earlier: dict[tuple[str, str], int] | None = None) -> Plan:
        """Which due messages go now; a recipient's queue stops at its first message that must wait.

        ``limiters``: budgets read from the shared table, by platform (else the channel's own);
        ``earlier``: each recipient's oldest unsent message id, when other senders may hold some of them."""
        plan = Plan()
        held: set[tuple[str, str]] = set()
        if earlier:  # rows are read in id order: the first one read of each recipient must be its oldest unsent
            first: dict[tuple[str, str], int] = {}
            for msg in rows:
                first.setdefault((msg.platform, msg.recipient), _id(msg))
            held = {key for key, i in first.items() if earlier.get(key, i) < i}
        sending_cards: set[str] = set()
        paced: dict[tuple[str, str], datetime] = {}  # recipients whose queue waits for a rate window, until when
        for msg in rows:
            key = (msg.platform, msg.recipient)
            if key in paced:  # behind a paced message: due with it, never before it (order per recipient)
                plan.deferred.append((_id(msg), paced[key]))
                continue
            if key in held:
                continue
            channel = self.channels.get(msg.platform)
            if channel is None:
                plan.orphans.append(msg)
                continue
            refs: dict[str, object] = {}
            if msg.op == "update":
                card = cards.get(msg.card_id or "")
                if card is None or not card.refs.get("sent"):
                    if msg.card_id not in sending_cards:  # its first send goes in this tick: just wait a tick
                        plan.deferred.append((_id(msg), now + timedelta(seconds=CARD_NOT_SENT_RETRY_S)))
                    held.add(key)
                    continue
                refs = dict(card.refs)
            limiter = limiters.get(msg.platform, channel.limiter)
            if (app_wait := limiter.app_wait(clock_s)) > 0:  # nothing of this app goes now: no write per row
                until = now + timedelta(seconds=app_wait)
                plan.app_full_until = min(plan.app_full_until or until, until)
                held.add(key)
                continue
            wait = limiter.reserve(msg.recipient, clock_s, channel.sends(msg) if msg.op != "update" else 1)
            if wait > 0:
                paced[key] = now + timedelta(seconds=wait)
                plan.deferred.append((_id(msg), paced[key]))
                continue
            if msg.op != "update" and msg.card_id:
                sending_cards.add(msg.card_id)
            plan.go.append((msg, channel, refs))
        return plan

    async def _send_batched(self, claimed: list[Planned]) -> list[Outcome]:
        """New messages of channels that take many at once (the emulator's transcript): one call each.
        Updates still go one by one, after, in each recipient's order."""
        by_channel: dict[str, tuple[Channel, list[OutboxMessage]]] = {}
        for msg, channel, _ in claimed:
            if channel.batch_sends and msg.op != "update":
                by_channel.setdefault(channel.name, (channel, []))[1].append(msg)
        outcomes: list[Outcome] = []
        for channel, msgs in by_channel.values():
            try:
                results = await channel.deliver_many(msgs)
            except Exception as exc:  # the whole call failed: every message is retried
                results = [exc] * len(msgs)
            for msg, result in zip(msgs, results, strict=True):
                outcomes.append((msg, result if isinstance(result, Delivery) else _failure(result)))
        return outcomes

    async def _call(self, msg: OutboxMessage, channel: Channel, refs: dict[str, object]) -> Outcome:
        try:
            return msg, await (channel.update_card(msg, refs) if msg.op == "update" else channel.deliver(msg))
        except Exception as exc:
            return msg, _failure(exc)

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Every result of the tick in one transaction: sent ids and card refs, retries, released rows."""
        if not outcomes:
            return
        now = self.clock.now()
        card_ids = {m.card_id for m, o in outcomes if m.card_id and isinstance(o, Delivery)}
        async with self.db.write() as s:
            cards = {c.id: c for c in (await s.execute(
                select(CardRow).where(col(CardRow.id).in_(card_ids)))).scalars()} if card_ids else {}
            await outbox.mark_sent(s, [(_id(m), o.message_id) for m, o in outcomes if isinstance(o, Delivery)], now)
            retry_at: dict[tuple[str, str], datetime] = {}
            for msg, outcome in outcomes:
                if isinstance(outcome, Delivery):
                    card = cards.get(msg.card_id or "")
                    if card is not None:
                        card.refs = {**card.refs, **outcome.refs, "sent": True}
                elif isinstance(outcome, Failure):
                    retry_at[(msg.platform, msg.recipient)] = await self._retry(s, msg, outcome)
                else:  # claimed but not tried: due together with the one that failed, which goes first (by id)
                    await outbox.release(s, _id(msg), retry_at.get((msg.platform, msg.recipient), now))
        metrics.sends((m.platform, m.op, None if isinstance(o, Delivery) else o.code)
                      for m, o in outcomes if not isinstance(o, _Released))
        for msg, outcome in outcomes:
            if isinstance(outcome, Delivery):
                log.info("message sent", extra={"outbox_id": msg.id, "platform": msg.platform, "op": msg.op,
                                                "platform_message_id": outcome.message_id})

    async def _retry(self, s: AsyncSession, msg: OutboxMessage, f: Failure) -> datetime:
        """Schedule the next attempt (or give up); returns when it is due."""
        failed = not f.retryable or msg.attempts >= self.cfg.max_attempts
        delay = f.retry_after or min(self.cfg.backoff_base_s * 2 ** (msg.attempts - 1), self.cfg.backoff_max_s)
        at = self.clock.now() + timedelta(seconds=delay)
        await outbox.mark_retry(s, _id(msg), at, f.error, failed)
        (log.error if failed else log.warning)(
            "send failed", extra={"outbox_id": msg.id, "platform": msg.platform, "attempts": msg.attempts,
                                  "error": f.error, "final": failed},
        )
        return at
