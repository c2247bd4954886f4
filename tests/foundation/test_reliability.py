"""Nothing acked is stranded: a failing disk, a failing bookkeeping write, a node that died with rows in
hand. And /readyz says what it claims: the database, every loop, and how long the oldest work waits."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Config
from bot.service import Service
from handlers.clock import FixedClock
from handlers.event import Event, EventKind
from storage.models import InboxEvent, InboxStatus, Person
from tests.conftest import eventually, make_config, seeded
from tests.foundation.test_capture_flow import card_message, say

FULL = "CREATE TRIGGER disk_full BEFORE UPDATE ON inbox_event BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"


def db_path(cfg: Config) -> str:
    return cfg.database.url.split("///", 1)[1]


def sql(cfg: Config, statement: str) -> None:
    """Another connection changes the database under the running service (as a full disk would)."""
    with sqlite3.connect(db_path(cfg)) as c:
        c.execute(statement)


async def status_of(service: Service, event_id: str) -> tuple[InboxStatus, int]:
    async with service.db.session() as s:
        row = (await s.execute(select(InboxEvent).where(InboxEvent.event_id == event_id))).scalar_one()
    return row.status, row.attempts


async def test_acked_rows_are_not_stranded_when_every_write_fails(cfg: Config, client: TestClient, service: Service,
                                                                  people: dict[str, Person]) -> None:
    """While the disk is "full" both the handling and the failure bookkeeping raise; the worker survives,
    the row stays ``received``, and once space is back it is handled without a restart."""
    rep = people["张伟"]
    sql(cfg, FULL)
    status, _ = await say(client, rep, "今天拜访了瑞丰机械张总，下周三再去", cid="disk-full-1")
    assert status == 200  # acked: the insert itself still works

    await eventually(lambda: _failed_at_least(service, 2))  # the first try and a retry, both refused
    assert await status_of(service, "disk-full-1") == (InboxStatus.received, 0)  # bookkeeping could not count
    assert service.inbox.alive()
    sql(cfg, "DROP TRIGGER disk_full")
    assert await eventually(lambda: card_message(service, rep, "待确认"), within=15)
    assert (await status_of(service, "disk-full-1"))[0] == InboxStatus.done


async def _failed_at_least(service: Service, n: int) -> bool:
    return service.inbox.failures >= n


async def test_sweep_picks_up_rows_a_dead_node_left(tmp_path: Path, clock: FixedClock, aiohttp_client: Any) -> None:
    cfg = make_config(tmp_path, inbox={"sweep_every_s": 0.05, "stranded_after_s": 30})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    assert client is not None
    async with service.db.session() as s:
        rep = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
    event = Event(platform="local", event_id="left-behind", sender=str(rep.id), kind=EventKind.text,
                  text="今天拜访了瑞丰机械张总，下周三再去", sent_at=clock.now())
    async with service.db.write() as s:  # stored and acked by another node, which then died
        s.add(InboxEvent(platform="local", event_id=event.event_id, sender=event.sender, kind="text",
                         payload=event.model_dump(mode="json"), status=InboxStatus.received, attempts=0,
                         received_at=clock.now() - timedelta(seconds=5)))
    assert await service.inbox.sweep() == 0  # 5 s old: its node may still be working on it
    clock.advance(seconds=60)  # now it is stranded; the periodic sweep (not a restart) must find it
    assert await eventually(lambda: card_message(service, rep, "待确认"))
    assert (await status_of(service, "left-behind"))[0] == InboxStatus.done


async def test_readyz_reports_stuck_work_and_dead_loops(cfg: Config, client: TestClient, service: Service,
                                                        people: dict[str, Person], clock: FixedClock) -> None:
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 200 and body["ok"] and body["oldest_unhandled_s"] == 0 and all(body["loops"].values())

    sql(cfg, FULL)
    assert (await say(client, people["张伟"], "今天拜访了瑞丰机械张总，下周三再去", cid="stuck-0001"))[0] == 200
    clock.advance(seconds=cfg.inbox.stuck_after_s + 1)
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 503 and body["stuck"] == ["oldest_unhandled_s"], body
    assert body["oldest_unhandled_s"] > cfg.inbox.stuck_after_s

    sql(cfg, "DROP TRIGGER disk_full")
    await eventually(lambda: _ready(client))

    await service.sender.stop()  # a loop that died
    r = await client.get("/readyz")
    body = await r.json()
    assert r.status == 503 and body["loops"]["sender"] is False


async def _ready(client: TestClient) -> bool:
    return (await client.get("/readyz")).status == 200


async def test_a_writer_waiting_for_the_lock_does_not_block_the_holder(tmp_path: Path) -> None:
    """Two connections to one SQLite file in one process (two nodes in a test, or the CLI beside the
    service): while one holds the write lock across an await, the other waits by yielding, not by
    blocking the loop — so the holder can finish, and both writes land."""
    from storage.db import Database
    from storage.models import Customer

    cfg = make_config(tmp_path)
    a, b = Database(cfg.database.url), Database(cfg.database.url)
    await a.migrate()
    holding = asyncio.Event()

    async def holder() -> None:
        async with a.write() as s:
            s.add(Customer(id="LOCK1", name="甲公司"))
            await s.flush()  # the write lock is taken here
            holding.set()
            await asyncio.sleep(0.2)  # keep it across an await, as a handler awaiting anything would

    async def waiter() -> None:
        await holding.wait()
        async with b.write() as s:
            s.add(Customer(id="LOCK2", name="乙公司"))

    await asyncio.wait_for(asyncio.gather(holder(), waiter()), timeout=30)
    async with a.session() as s:
        assert {c.id for c in (await s.execute(select(Customer))).scalars()} >= {"LOCK1", "LOCK2"}
    await a.close()
    await b.close()
