"""The scheduler on its own: slots and cut-offs, claims under a crash, two nodes, catch-up at start."""

from __future__ import annotations

import asyncio
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock import Clock, FixedClock
from handlers.context import Context, Settings
from scheduler.registry import Registry, Timetable, unit_job
from scheduler.runner import Scheduler
from scheduler.workdays import Workdays
from storage.db import Database
from storage.models import JobRun, OutboxMessage
from tests.conftest import TZ
from tests.rhythm.conftest import at

WED, SAT, HOLIDAY = date(2026, 5, 6), date(2026, 5, 9), date(2026, 5, 4)


def registry(fail: set[str]) -> Registry:
    async def units(ctx: Context) -> list[str]:
        return [f"u{i}" for i in range(10)]

    async def run_unit(ctx: Context, unit: str) -> int:
        if unit in fail:
            raise RuntimeError("boom")
        await ctx.send_text(f"hi {ctx.key_prefix}", to=("local", unit))
        return 1

    reg = Registry()
    reg.add(unit_job("demo", "演示", "工作日 08:45", units, run_unit, Timetable((time(8, 45),), cutoff=time(11, 0))))
    scan_times = tuple(time(9 + m // 60, m % 60) for m in range(0, 9 * 60 + 1, 30))
    reg.add(unit_job("scan", "扫描", "每30分钟", units, run_unit,
                     Timetable(scan_times, every=timedelta(minutes=30))))
    return reg


def scheduler(db: Database, clock: Clock, fail: set[str] | None = None) -> Scheduler:
    def make(prefix: str, s: AsyncSession, c: Clock) -> Context:
        return Context(session=s, clock=c, settings=Settings(), key_prefix=prefix)

    return Scheduler(db, registry(fail if fail is not None else set()), clock, make, TZ, Workdays(), batch=3)


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    d = Database(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    await d.migrate()
    return d


async def sent(db: Database) -> list[str]:
    async with db.session() as s:
        return sorted(r.body["text"] for r in (await s.execute(select(OutboxMessage))).scalars())


def test_slots_follow_workdays_and_cut_offs(tmp_path: Path) -> None:
    sch = scheduler(Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), FixedClock(at(WED, 9)))
    demo, scan = sch.registry.jobs["demo"], sch.registry.jobs["scan"]
    assert sch.slot(demo, at(WED, 8, 44)) is None
    assert sch.slot(demo, at(WED, 8, 45)) == time(8, 45) == sch.slot(demo, at(WED, 10, 59))
    assert sch.slot(demo, at(WED, 11, 0)) is None  # too late to be useful
    assert sch.slot(demo, at(HOLIDAY, 9)) is None  # Labour Day
    assert sch.slot(demo, at(SAT, 9)) == time(8, 45)  # 调休 Saturday
    assert sch.slot(scan, at(WED, 9, 29)) == time(9, 0)
    assert sch.slot(scan, at(WED, 18, 29)) == time(18, 0)
    assert sch.slot(scan, at(WED, 18, 30)) is None and sch.slot(scan, at(WED, 8, 59)) is None


async def test_run_twice_sends_once(db: Database) -> None:
    sch = scheduler(db, FixedClock(at(WED, 8, 45)))
    assert "处理 10 项" in (await sch.run_due())["demo"]
    assert "已运行过" in (await sch.run_due())["demo"]
    assert "10 项此前已处理" in await sch.run("demo", force=True)
    assert len(await sent(db)) == 10


async def test_a_failing_unit_leaves_the_rest_done_and_is_retried(db: Database) -> None:
    clock = FixedClock(at(WED, 8, 45))
    summary = await scheduler(db, clock, fail={"u4"}).run("demo")
    assert "处理 9 项" in summary and "1 项失败" in summary
    clock.advance(minutes=20)  # the next ask (a trigger, a restart) does only what is missing
    summary = await scheduler(db, clock).run("demo")
    assert "处理 1 项" in summary and "9 项此前已处理" in summary
    texts = await sent(db)
    assert len(texts) == len(set(texts)) == 10


async def test_two_nodes_share_the_work_without_doubling(db: Database, tmp_path: Path) -> None:
    other = Database(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    clock = FixedClock(at(SAT, 9, 40))
    a, b = scheduler(db, clock), scheduler(other, clock)
    ra, rb = await asyncio.gather(a.run_due(), b.run_due())
    texts = await sent(db)
    assert len(texts) == len(set(texts)) == 20  # demo + the 09:30 scan slot
    async with db.session() as s:
        claims = (await s.execute(select(func.count()).select_from(JobRun).where(JobRun.scope.like("u%")))).scalar_one()
    assert claims == 20
    await other.close()


async def test_catch_up_at_start_only_before_the_cut_off(db: Database) -> None:
    clock = FixedClock(at(WED, 11, 30))
    sch = scheduler(db, clock)
    await sch.start()
    assert sch.catch_up_task is not None
    assert set(await sch.catch_up_task) == {"scan"}  # the morning job's cut-off (11:00) has passed
    assert any(j.startswith("demo@0845") for j in sch.next_runs())
    await sch.stop()
    clock.set(at(WED + timedelta(days=1), 9, 10))
    sch = scheduler(db, clock)
    await sch.start()
    assert sch.catch_up_task is not None
    assert set(await sch.catch_up_task) == {"demo", "scan"}
    await sch.stop()
    assert len(await sent(db)) == 30
