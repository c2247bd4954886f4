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
from datetime import timedelta

from bot.channels.base import Channel, ChannelError, Delivery
from bot.config import OutboxConfig
from handlers.clock import Clock
from storage import outbox
from storage.db import Database
from storage.models import Card as CardRow
from storage.models import OutboxMessage

log = logging.getLogger("actionflow.outbox")

CONCURRENT_RECIPIENTS = 16
CARD_NOT_SENT_RETRY_S = 0.5


class Sender:
    def __init__(self, db: Database, channels: dict[str, Channel], clock: Clock, cfg: OutboxConfig) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.cfg = cfg
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

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
                await asyncio.wait_for(self._wake.wait(), timeout=self.cfg.poll_interval_s)
            except TimeoutError:
                pass

    async def tick(self) -> int:
        """Deliver what is due now; returns how many messages were sent."""
        async with self.db.session() as s:
            rows = await outbox.due(s, self.clock.now())
        groups: OrderedDict[tuple[str, str], list[OutboxMessage]] = OrderedDict()
        for r in rows:
            groups.setdefault((r.platform, r.recipient), []).append(r)
        sem = asyncio.Semaphore(CONCURRENT_RECIPIENTS)

        async def run(group: list[OutboxMessage]) -> int:
            async with sem:
                sent = 0
                for msg in group:  # one recipient's messages stay in order
                    if not await self._send_one(msg):
                        break
                    sent += 1
                return sent

        return sum(await asyncio.gather(*(run(g) for g in groups.values())))

    async def _send_one(self, msg: OutboxMessage) -> bool:
        """False stops this recipient's queue for this tick (rate limit, waiting, failure)."""
        assert msg.id is not None
        now = self.clock.now()
        channel = self.channels.get(msg.platform)
        if channel is None:
            async with self.db.write() as s:
                await outbox.mark_retry(s, msg.id, now, f"channel {msg.platform} is not enabled", failed=True)
            log.error("no channel for message", extra={"outbox_id": msg.id, "platform": msg.platform})
            return True
        refs: dict[str, object] = {}
        if msg.op == "update":
            async with self.db.session() as s:
                card = await s.get(CardRow, msg.card_id) if msg.card_id else None
            if card is None or not card.refs.get("sent"):
                async with self.db.write() as s:
                    await outbox.defer(s, msg.id, now + timedelta(seconds=CARD_NOT_SENT_RETRY_S))
                return False
            refs = dict(card.refs)
        wait = channel.limiter.reserve(msg.recipient, time.monotonic())
        if wait > 0:
            async with self.db.write() as s:
                await outbox.defer(s, msg.id, now + timedelta(seconds=wait))
            return False
        async with self.db.write() as s:
            if not await outbox.claim(s, msg, now, self.cfg.lease_s):
                return False  # another sender has it
        msg.attempts += 1
        try:
            delivery = await (channel.update_card(msg, refs) if msg.op == "update" else channel.deliver(msg))
        except ChannelError as exc:
            await self._retry(msg, str(exc), exc.retryable, exc.retry_after)
            return False
        except Exception as exc:  # network errors, timeouts: retry
            await self._retry(msg, f"{type(exc).__name__}: {exc}", True, None)
            return False
        await self._record(msg, delivery)
        return True

    async def _record(self, msg: OutboxMessage, delivery: Delivery) -> None:
        assert msg.id is not None
        async with self.db.write() as s:
            await outbox.mark_sent(s, msg.id, self.clock.now(), delivery.message_id)
            if msg.card_id:
                card = await s.get(CardRow, msg.card_id)
                if card is not None:
                    card.refs = {**card.refs, **delivery.refs, "sent": True}
        log.info("message sent", extra={"outbox_id": msg.id, "platform": msg.platform, "op": msg.op,
                                        "platform_message_id": delivery.message_id})

    async def _retry(self, msg: OutboxMessage, error: str, retryable: bool, retry_after: float | None) -> None:
        assert msg.id is not None
        failed = not retryable or msg.attempts >= self.cfg.max_attempts
        delay = retry_after or min(self.cfg.backoff_base_s * 2 ** (msg.attempts - 1), self.cfg.backoff_max_s)
        async with self.db.write() as s:
            await outbox.mark_retry(s, msg.id, self.clock.now() + timedelta(seconds=delay), error, failed)
        (log.error if failed else log.warning)(
            "send failed", extra={"outbox_id": msg.id, "platform": msg.platform, "attempts": msg.attempts,
                                  "error": error, "final": failed},
        )
