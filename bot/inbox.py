"""The durable inbox: store first, ack, then dispatch from the stored row.

``accept`` is the only thing on the ack path: one INSERT keyed by (platform, event id). A
duplicate hits the unique key and is dropped. Dispatch happens afterwards in a worker, inside one
transaction with the row's "done" mark, so a crash re-runs it and a success never repeats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.clock import Clock
from handlers.context import Context
from handlers.dispatch import Dispatcher
from handlers.event import Event, EventKind
from storage import outbox
from storage.db import Database
from storage.models import InboxEvent, InboxStatus
from storage.upsert import changed, insert_ignore_stmt
from storage.upsert import table as core_table

log = logging.getLogger("actionflow.inbox")

MAX_ATTEMPTS = 3
RETRY_DELAY_S = 0.5
BATCH_MAX = 256
GAVE_UP = "⚠️ 抱歉，这条消息没能处理成功（已记录错误），请稍后重发或联系管理员。"

# (key prefix, session, clock or None for the inbox's own, platform of the event) → handler Context
ContextFactory = Callable[[str, AsyncSession, Clock | None, str | None], Context]
Prepare = Callable[[Event], Awaitable[Event]]  # slow per-event work after the ack (media download, ASR)


class Inbox:
    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
        clock: Clock,
        make_context: ContextFactory,
        *,
        on_handled: Callable[[], None] | None = None,
        workers: int = 4,
    ) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock
        self.make_context = make_context
        self.on_handled = on_handled
        self.preparers: dict[str, Prepare] = {}  # platform → slow preparation step (media download)
        self.enrichers: list[Prepare] = []  # then, for every platform (LLM understanding)
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: list[tuple[dict[str, object], asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, event: Event) -> bool:
        """Store the event; False when (platform, event id) was seen before. Nothing else runs here.

        Concurrent calls share one transaction (group commit): under load, one commit covers many
        events, which is what keeps the ack path close to a bare handler's speed.
        """
        values: dict[str, object] = {
            "platform": event.platform, "event_id": event.event_id, "sender": event.sender,
            "kind": event.kind.value, "payload": event.model_dump(mode="json"), "status": InboxStatus.received,
            "attempts": 0, "received_at": self.clock.now(),
        }
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.append((values, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        inbox_id = await future
        if inbox_id is None:
            log.info("duplicate event dropped", extra={"platform": event.platform, "event_id": event.event_id})
            return False
        log.info("event stored", extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id})
        self._queue.put_nowait(inbox_id)
        return True

    async def _write(self) -> None:
        """Drain pending accepts in batches: one existence check, one multi-row insert, one commit."""
        while self._pending:
            await asyncio.sleep(0)  # let requests already parsed in this loop turn join the batch
            batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
            try:
                ids = await self._insert_batch([values for values, _ in batch])
            except Exception as exc:  # the caller answers 5xx and the platform redelivers
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for values, fut in batch:
                if not fut.done():
                    fut.set_result(ids.pop((values["platform"], values["event_id"]), None))

    async def _insert_batch(self, rows: list[dict[str, object]]) -> dict[tuple[object, object], int]:
        """Returns the new rows' ids by (platform, event id); keys seen before (or twice here) get none.

        One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: the database itself says which rows
        were new, so there is no read-then-write race between nodes.
        """
        table = core_table(InboxEvent)
        fresh: dict[tuple[object, object], dict[str, object]] = {}
        for r in rows:
            fresh.setdefault((r["platform"], r["event_id"]), r)
        async with self.db.write_conn() as conn:
            stmt = insert_ignore_stmt(conn.dialect.name, table).returning(
                table.c.id, table.c.platform, table.c.event_id
            )
            got = await conn.execute(stmt, list(fresh.values()))
            return {(p, e): i for i, p, e in got}

    async def start(self) -> None:
        """Resume rows a previous process stored but did not finish, then start the workers."""
        async with self.db.session() as s:
            ids = (
                await s.execute(
                    select(col(InboxEvent.id)).where(col(InboxEvent.status) == InboxStatus.received).order_by(col(InboxEvent.id))
                )
            ).scalars().all()
        for i in ids:
            if i is not None:
                self._queue.put_nowait(i)
        if ids:
            log.info("resuming unfinished events", extra={"count": len(ids)})
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def drain(self) -> None:
        """Wait until every queued event has been handled (tests and benchmarks)."""
        await self._queue.join()

    async def _work(self) -> None:
        while True:
            inbox_id = await self._queue.get()
            try:
                await self.process(inbox_id)
            except Exception:  # a bug must not kill the worker; the row stays for a retry
                log.exception("inbox worker error", extra={"inbox_id": inbox_id})
            finally:
                self._queue.task_done()

    async def process(self, inbox_id: int) -> bool:
        """Handle one stored event exactly once; returns True when this call handled it."""
        async with self.db.session() as s:
            row = await s.get(InboxEvent, inbox_id)
            if row is None or row.status != InboxStatus.received:
                return False
            event = Event.model_validate(row.payload)
        prepare = self.preparers.get(event.platform)
        try:
            if prepare is not None:
                event = await prepare(event)
            for enrich in self.enrichers:
                event = await enrich(event)
            async with self.db.write() as s:
                claimed = await s.execute(
                    update(InboxEvent)
                    .where(col(InboxEvent.id) == inbox_id, col(InboxEvent.status) == InboxStatus.received)
                    .values(status=InboxStatus.done, handled_at=self.clock.now(), attempts=col(InboxEvent.attempts) + 1)
                )
                if not changed(claimed):  # another worker or node got there first
                    return False
                ctx = self.make_context(f"in{inbox_id}", s, None, event.platform)
                await self.dispatcher.handle(ctx, event, inbox_id)
        except Exception as exc:
            await self._failed(inbox_id, event, exc)
            return False
        log.info("event handled", extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id})
        if self.on_handled:
            self.on_handled()
        return True

    async def _failed(self, inbox_id: int, event: Event, exc: Exception) -> None:
        async with self.db.write() as s:
            row = await s.get(InboxEvent, inbox_id)
            if row is None:
                return
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = InboxStatus.failed
                if event.kind != EventKind.enter:  # tell the person instead of failing silently
                    await outbox.enqueue(
                        s, key=f"in{inbox_id}:failed", platform=event.platform, recipient=event.sender,
                        body=outbox.text_body(GAVE_UP), now=self.clock.now(),
                    )
        log.exception(
            "event handling failed",
            extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id, "attempts": row.attempts},
            exc_info=exc,
        )
        if row.status == InboxStatus.received:
            asyncio.get_running_loop().call_later(RETRY_DELAY_S * row.attempts, self._queue.put_nowait, inbox_id)
        elif self.on_handled:
            self.on_handled()  # wake the sender for the apology
