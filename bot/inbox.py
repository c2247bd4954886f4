"""The durable inbox: store first, ack, then dispatch from the stored row.

``accept`` is the only thing on the ack path: one INSERT keyed by (platform, event id). A
duplicate hits the unique key and is dropped. Dispatch happens afterwards in a worker, inside one
transaction with the row's "done" mark, so a crash re-runs it and a success never repeats.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import bindparam, select, update
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
BATCH_MAX = 256  # events per ack-path insert
HANDLE_BATCH = 32  # events per handling transaction
SWEEP_EVERY_S = 15.0
STRANDED_AFTER_S = 30.0  # a ``received`` row older than this and not queued here has lost its worker
SWEEP_LIMIT = 1000
GAVE_UP = "⚠️ 抱歉，这条消息没能处理成功（已记录错误），请稍后重发或联系管理员。"

_T = core_table(InboxEvent)
_CLAIM = (  # built once; its "done" mark commits together with the handler's effects
    update(_T).where(_T.c.id == bindparam("b_id"), _T.c.status == InboxStatus.received)
    .values(status=InboxStatus.done, handled_at=bindparam("b_at"), attempts=_T.c.attempts + 1)
)
_CLAIM_MANY = (  # the same mark for a whole batch in one statement; RETURNING says which rows this worker won
    update(_T).where(_T.c.id.in_(bindparam("b_ids", expanding=True)), _T.c.status == InboxStatus.received)
    .values(status=InboxStatus.done, handled_at=bindparam("b_at"), attempts=_T.c.attempts + 1)
    .returning(_T.c.id)
)

_KEY = re.compile(r"^in(\d+):")


def key_prefix(inbox_id: int) -> str:
    """Every outbox key written while handling a stored event starts with this (see ``source_event``)."""
    return f"in{inbox_id}"


def source_event(outbox_key: str) -> int | None:
    """The inbox row whose handling queued this outbox message (a channel may reply to that message)."""
    m = _KEY.match(outbox_key)
    return int(m.group(1)) if m else None


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
        sweep_every_s: float = SWEEP_EVERY_S,
        stranded_after_s: float = STRANDED_AFTER_S,
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
        self.sweep_every_s = sweep_every_s
        self.stranded_after_s = stranded_after_s
        self.failures = 0  # handling attempts that raised, since start (for /readyz and tests)
        self._known: set[int] = set()  # ids queued, being handled or waiting for a retry here
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
        self._put(inbox_id)
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
        """Resume rows a previous process stored but did not finish, then start the workers and the sweep."""
        await self.sweep(stranded_after_s=0.0)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]
        self._tasks.append(asyncio.create_task(self._sweeping()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def drain(self) -> None:
        """Wait until every queued event has been handled (tests and benchmarks)."""
        await self._queue.join()

    @property
    def in_hand(self) -> int:
        """Events queued, being handled or waiting for a retry in this process."""
        return len(self._known)

    def alive(self) -> bool:
        """Every worker and the sweep are still running (none died of an exception)."""
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    def _put(self, inbox_id: int) -> None:
        if inbox_id not in self._known:
            self._known.add(inbox_id)
            self._queue.put_nowait(inbox_id)

    async def sweep(self, stranded_after_s: float | None = None) -> int:
        """Queue ``received`` rows nobody here is working on: left by a crash, by another node that
        died, or by a failure whose bookkeeping itself failed (disk full). Claiming keeps it exactly-once."""
        age = self.stranded_after_s if stranded_after_s is None else stranded_after_s
        cutoff = self.clock.now() - timedelta(seconds=age)
        async with self.db.session() as s:
            ids = (await s.execute(
                select(col(InboxEvent.id)).where(col(InboxEvent.status) == InboxStatus.received,
                                                 col(InboxEvent.received_at) <= cutoff)
                .order_by(col(InboxEvent.id)).limit(SWEEP_LIMIT))).scalars().all()
        fresh = [i for i in ids if i is not None and i not in self._known]
        for i in fresh:
            self._put(i)
        if fresh:
            log.info("resuming unfinished events", extra={"count": len(fresh)})
        return len(fresh)

    async def _sweeping(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every_s)
            try:
                await self.sweep()
            except Exception:  # the database may be unwell right now; the next sweep tries again
                log.exception("inbox sweep failed")

    async def _work(self) -> None:
        while True:
            ids = [await self._queue.get()]
            while len(ids) < HANDLE_BATCH and not self._queue.empty():
                ids.append(self._queue.get_nowait())
            retry: list[int] = []
            try:
                retry = await self.process_many(ids)
            except Exception:  # a bug or an unwell database must not kill the worker
                log.exception("inbox worker error", extra={"count": len(ids)})
                retry = ids
            finally:
                for i in ids:
                    if i not in retry:
                        self._known.discard(i)
                    self._queue.task_done()
            for i in retry:  # still ``received``: try again shortly (the sweep is the safety net)
                asyncio.get_running_loop().call_later(RETRY_DELAY_S, self._requeue, i)

    def _requeue(self, inbox_id: int) -> None:
        self._queue.put_nowait(inbox_id)

    async def process_many(self, ids: list[int]) -> list[int]:
        """Handle stored events, many in one transaction; returns the ids to try again later.

        The common case costs one read, one write transaction and one commit for the whole batch.
        If any handler fails, the batch is rolled back and each event is handled on its own, so one
        bad event never takes its neighbours down and each one's effects commit with its "done" mark.
        """
        async with self.db.session() as s:
            rows = (await s.execute(select(InboxEvent).where(
                col(InboxEvent.id).in_(ids), col(InboxEvent.status) == InboxStatus.received))).scalars().all()
            stored = [(r.id, Event.model_validate(r.payload)) for r in rows if r.id is not None]
        ready: list[tuple[int, Event]] = []
        retry: list[int] = []
        for inbox_id, event in stored:
            try:
                ready.append((inbox_id, await self._prepare(event)))
            except Exception as exc:
                retry += await self._failed(inbox_id, event, exc)
        if len(ready) > 1:
            try:
                async with self.db.write() as s:
                    won = set((await s.execute(_CLAIM_MANY, {"b_ids": [i for i, _ in ready],
                                                             "b_at": self.clock.now()})).scalars())
                    handled = [e for i, e in ready if i in won and await self._run(s, i, e)]
            except Exception:
                log.info("batch failed; handling its events one by one", extra={"count": len(ready)})
            else:
                self._handled(handled)
                return retry
        for inbox_id, event in ready:
            try:
                async with self.db.write() as s:
                    done = await self._handle(s, inbox_id, event)
            except Exception as exc:
                retry += await self._failed(inbox_id, event, exc)
            else:
                self._handled([event] if done else [])
        return retry

    async def _prepare(self, event: Event) -> Event:
        prepare = self.preparers.get(event.platform)
        if prepare is not None:
            event = await prepare(event)
        for enrich in self.enrichers:
            event = await enrich(event)
        return event

    async def _handle(self, s: AsyncSession, inbox_id: int, event: Event) -> bool:
        """Claim the row and run its handler in the caller's transaction; False if already claimed."""
        claimed = await s.execute(_CLAIM, {"b_id": inbox_id, "b_at": self.clock.now()})
        if not changed(claimed):  # another worker or node got there first
            return False
        return await self._run(s, inbox_id, event)

    async def _run(self, s: AsyncSession, inbox_id: int, event: Event) -> bool:
        """Dispatch a claimed row in the caller's transaction."""
        ctx = self.make_context(key_prefix(inbox_id), s, None, event.platform)
        await self.dispatcher.handle(ctx, event, inbox_id)
        return True

    def _handled(self, events: list[Event]) -> None:
        for event in events:
            log.info("event handled", extra={"platform": event.platform, "event_id": event.event_id})
        if events and self.on_handled:
            self.on_handled()

    async def _failed(self, inbox_id: int, event: Event, exc: Exception) -> list[int]:
        """Count the attempt; after the last one, mark it failed and tell the person. Returns [inbox_id]
        when it should be tried again. If this bookkeeping fails too (disk full), the row stays
        ``received`` and is retried: nothing acked is ever stranded."""
        self.failures += 1
        log.warning("event handling failed", exc_info=exc,
                    extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id})
        try:
            async with self.db.write() as s:
                row = await s.get(InboxEvent, inbox_id)
                if row is None or row.status != InboxStatus.received:
                    return []
                row.attempts += 1
                row.error = f"{type(exc).__name__}: {exc}"[:500]
                if row.attempts < MAX_ATTEMPTS:
                    return [inbox_id]
                row.status = InboxStatus.failed
                if event.kind != EventKind.enter:  # tell the person instead of failing silently
                    await outbox.enqueue(
                        s, key=f"in{inbox_id}:failed", platform=event.platform, recipient=event.sender,
                        body=outbox.text_body(GAVE_UP), now=self.clock.now(),
                    )
        except Exception:
            log.exception("could not record the failure; will retry", extra={"inbox_id": inbox_id})
            return [inbox_id]
        log.error("event failed for good", extra={"platform": event.platform, "event_id": event.event_id,
                                                  "inbox_id": inbox_id, "attempts": MAX_ATTEMPTS})
        if self.on_handled:
            self.on_handled()  # wake the sender for the apology
        return []
