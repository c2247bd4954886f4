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
from sqlalchemy.exc import IntegrityError

from handlers.clock import Clock
from handlers.context import Context, Settings
from handlers.customers import DirectoryCache
from handlers.dispatch import Dispatcher
from handlers.event import Event
from storage.db import Database
from storage.models import InboxEvent, InboxStatus

log = logging.getLogger("actionflow.inbox")

MAX_ATTEMPTS = 3
RETRY_DELAY_S = 2.0

Prepare = Callable[[Event], Awaitable[Event]]  # slow per-event work after the ack (media download, ASR)


class Inbox:
    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
        clock: Clock,
        settings: Settings,
        *,
        directory: DirectoryCache | None = None,
        on_handled: Callable[[], None] | None = None,
        workers: int = 4,
    ) -> None:
        self.db = db
        self.dispatcher = dispatcher
        self.clock = clock
        self.settings = settings
        self.directory = directory or DirectoryCache()
        self.on_handled = on_handled
        self.preparers: dict[str, Prepare] = {}  # platform → slow preparation step
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    async def accept(self, event: Event) -> bool:
        """Store the event; False when (platform, event id) was seen before. Nothing else runs here."""
        row = InboxEvent(
            platform=event.platform, event_id=event.event_id, kind=event.kind.value,
            payload=event.model_dump(mode="json"), received_at=self.clock.now(),
        )
        try:
            async with self.db.session() as s:
                s.add(row)
                await s.commit()
        except IntegrityError:
            log.info("duplicate event dropped", extra={"platform": event.platform, "event_id": event.event_id})
            return False
        assert row.id is not None
        log.info("event stored", extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": row.id})
        self._queue.put_nowait(row.id)
        return True

    async def start(self) -> None:
        """Resume rows a previous process stored but did not finish, then start the workers."""
        async with self.db.session() as s:
            ids = (
                await s.execute(
                    select(InboxEvent.id).where(InboxEvent.status == InboxStatus.received).order_by(InboxEvent.id)
                )
            ).scalars().all()
        for i in ids:
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
            async with self.db.session() as s, s.begin():
                claimed = await s.execute(
                    update(InboxEvent)
                    .where(InboxEvent.id == inbox_id, InboxEvent.status == InboxStatus.received)
                    .values(status=InboxStatus.done, handled_at=self.clock.now(), attempts=InboxEvent.attempts + 1)
                )
                if not claimed.rowcount:  # another worker or node got there first
                    return False
                ctx = Context(
                    session=s, clock=self.clock, settings=self.settings, key_prefix=f"in{inbox_id}",
                    platform=event.platform, directory=self.directory,
                )
                await self.dispatcher.handle(ctx, event, inbox_id)
        except Exception as exc:
            await self._failed(inbox_id, event, exc)
            return False
        log.info("event handled", extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id})
        if self.on_handled:
            self.on_handled()
        return True

    async def _failed(self, inbox_id: int, event: Event, exc: Exception) -> None:
        async with self.db.session() as s, s.begin():
            row = await s.get(InboxEvent, inbox_id)
            if row is None:
                return
            row.attempts += 1
            row.error = f"{type(exc).__name__}: {exc}"[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = InboxStatus.failed
        log.exception(
            "event handling failed",
            extra={"platform": event.platform, "event_id": event.event_id, "inbox_id": inbox_id, "attempts": row.attempts},
            exc_info=exc,
        )
        if row.status == InboxStatus.received:
            asyncio.get_running_loop().call_later(RETRY_DELAY_S * row.attempts, self._queue.put_nowait, inbox_id)
