"""Run as a separate process by test_crash: does one step of real work, then SIGKILLs itself.

store-then-die: stores a rep's message in the inbox (as the ack path does) and dies before dispatch.
deliver-then-die: runs the service; the local "platform" accepts the first card, then the process dies
before the outbox records the send.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import Delivery
from bot.channels.local.channel import LocalChannel
from bot.config import load_config
from bot.service import Service
from handlers.event import Event, EventKind
from storage.models import OutboxMessage

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


def event(person_id: int, event_id: str) -> Event:
    return Event(platform="local", event_id=event_id, kind=EventKind.text, sender=str(person_id),
                 sent_at=datetime.now(UTC), text=TEXT)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DyingChannel(LocalChannel):
    """The real local channel; the process is killed right after the platform side accepted a card."""

    async def deliver_many(self, msgs: list[OutboxMessage]) -> list[Delivery | Exception]:
        results = await super().deliver_many(msgs)
        if any("card" in m.body for m in msgs):
            die()
        return results


async def main(mode: str, config: str, person_id: int) -> Any:
    cfg = load_config(config)
    service = Service(cfg)
    if mode == "store-then-die":
        await service.db.migrate()
        assert await service.inbox.accept(event(person_id, "crash-inbox-0001"))
        die()
    if mode == "deliver-then-die":
        local = DyingChannel(service.db, service.clock, cfg.channels.local.media_dir)
        service.channels["local"] = local
        await service.start()
        assert await service.inbox.accept(event(person_id, "crash-outbox-0001"))
        await asyncio.sleep(30)
    raise SystemExit("should have died")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
