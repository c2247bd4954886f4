"""The assignment rules, each with a config built here: region, nearest home position, tags, then load."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.leads import AssignmentRules, choose_rep, km
from storage.db import Database
from storage.models import Customer, Lead, Person, Role
from tests.conftest import TZ

WUXI, HANGZHOU, NINGBO = (31.49, 120.31), (30.27, 120.16), (29.87, 121.54)


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    await db.migrate()
    async with db.write() as s:
        boss = Person(name="主管", role=Role.supervisor)
        s.add(boss)
        await s.flush()
        for name, region, home in (("甲", "无锡", WUXI), ("乙", "杭州", HANGZHOU), ("丙", "杭州", HANGZHOU),
                                   ("丁", "宁波", NINGBO)):
            s.add(Person(name=name, role=Role.rep, region=region, supervisor_id=boss.id,
                         home_lat=home[0], home_lng=home[1]))
        s.add(Person(name="离职", role=Role.rep, region="无锡", active=False, home_lat=WUXI[0], home_lng=WUXI[1]))
        await s.flush()
        yield s
    await db.close()


def ctx(s: AsyncSession) -> Context:
    return Context(session=s, clock=FixedClock(datetime(2026, 11, 24, 10, tzinfo=TZ)), settings=Settings(),
                   key_prefix="t")


async def give(s: AsyncSession, name: str, n: int, stage: str = "初步接触") -> None:
    """``n`` customers owned by ``name`` in ``stage`` (the load the last rule counts)."""
    p = await person(s, name)
    for i in range(n):
        s.add(Customer(id=f"{name}{stage}{i}", name=f"{name}客户{stage}{i}", owner_id=p.id, stage=stage))
    await s.flush()


async def person(s: AsyncSession, name: str) -> Person:
    from sqlalchemy import select

    return (await s.execute(select(Person).where(Person.name == name))).scalar_one()


def lead(**kw: object) -> Lead:
    return Lead(source="t", source_lead_id="1", company="某公司", **kw)


async def chosen(s: AsyncSession, rules: AssignmentRules, **kw: object) -> tuple[str, str]:
    p, why = await choose_rep(ctx(s), rules, lead(**kw))
    assert p is not None
    return p.name, why


async def test_region_from_config_beats_load(session: AsyncSession) -> None:
    await give(session, "丁", 5)
    rules = AssignmentRules(regions={"330200": ("丁",)})
    name, why = await chosen(session, rules, region="330200")
    assert name == "丁" and "地区「330200」" in why


async def test_region_falls_back_to_the_reps_own_region_then_load(session: AsyncSession) -> None:
    await give(session, "乙", 2)
    await give(session, "丙", 1)
    name, why = await chosen(session, AssignmentRules(), region="杭州")
    assert name == "丙" and "在手新线索最少（1条）" in why  # 乙 and 丙 both cover 杭州; 丙 has less


async def test_nearest_rep_by_home_position(session: AsyncSession) -> None:
    assert 100 < km(*WUXI, *HANGZHOU) < 200
    name, why = await chosen(session, AssignmentRules(), lat=31.55, lng=120.40)  # just outside 无锡
    assert name == "甲" and "距离最近" in why  # the inactive rep at the same spot is never chosen
    name, _ = await chosen(session, AssignmentRules(), lat=29.95, lng=121.70)
    assert name == "丁"


async def test_too_far_from_everyone_goes_by_load(session: AsyncSession) -> None:
    for who, n in (("甲", 3), ("乙", 1), ("丙", 2)):
        await give(session, who, n)
    name, why = await chosen(session, AssignmentRules(max_distance_km=50), lat=39.9, lng=116.4)  # Beijing
    assert name == "丁" and "距离" not in why


async def test_tags_pick_among_the_near_reps(session: AsyncSession) -> None:
    await give(session, "丙", 4)
    rules = AssignmentRules(rep_tags={"丙": ("注塑", "汽配"), "乙": ("机床",)})
    name, why = await chosen(session, rules, lat=30.30, lng=120.20, tags=["注塑"])
    assert name == "丙" and "标签「注塑」" in why  # 乙 is as near and less loaded, but 丙 has the tag
    name, _ = await chosen(session, rules, lat=30.30, lng=120.20, tags=["医疗"])
    assert name == "乙"  # no one has the tag: load decides


async def test_lowest_open_load_counts_only_the_open_stage(session: AsyncSession) -> None:
    await give(session, "甲", 1)
    await give(session, "乙", 1)
    await give(session, "丙", 1)
    await give(session, "丁", 9, stage="签约")  # signed customers are not open leads
    name, why = await chosen(session, AssignmentRules())
    assert name == "丁" and "在手新线索最少（0条）" in why


async def test_a_hand_back_excludes_who_returned_it(session: AsyncSession) -> None:
    first, _ = await chosen(session, AssignmentRules(), region="杭州")
    p, _ = await choose_rep(ctx(session), AssignmentRules(), lead(region="杭州"),
                            exclude=frozenset({(await person(session, first)).id or 0}))
    assert p is not None and p.name in {"乙", "丙"} - {first}
    everyone = frozenset(x.id or 0 for x in [await person(session, n) for n in "甲乙丙丁"])
    assert (await choose_rep(ctx(session), AssignmentRules(), lead(), exclude=everyone))[0] is None
