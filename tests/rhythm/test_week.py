"""A whole week through the local channel: Labour Day 2026 (Mon 4 and Tue 5 May off, Sat 9 May 调休 on).

Two services share one database and both ask "what is due?" at every step (two scheduler instances);
the second one is stopped overnight and restarted after 08:45 (catch-up), and restarted again on a day
whose run already happened (nothing repeats). Time only moves when the test moves the clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.config import Config
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import (
    ActionRecord,
    ActionType,
    Customer,
    LocalChatMessage,
    MustDo,
    MustDoStatus,
    OutboxMessage,
    OutboxStatus,
    Person,
    RecordStatus,
    WarningRecord,
)
from storage.models import Card as CardRow
from tests.conftest import TZ, eventually, make_config, seeded
from tests.foundation.test_capture_flow import press, say
from tests.rhythm.conftest import actions, at, card_rows, items, latest, texts

MON = date(2026, 5, 4)
TUE, WED, THU, FRI, SAT, SUN = (MON + timedelta(days=i) for i in range(1, 7))
WORKDAYS = {WED, THU, FRI, SAT}
STEPS = [(8, 45)] + [(h, m) for h in range(9, 19) for m in (0, 30) if (h, m) <= (18, 0)]


@dataclass
class World:
    cfg: Config
    clock: FixedClock
    a: Service
    b: Service
    client: TestClient
    people: dict[str, Person]

    async def tick(self, day: date, hh: int, mm: int) -> None:
        """Both nodes ask the scheduler what is due at this moment, at the same time."""
        self.clock.set(at(day, hh, mm))
        await asyncio.gather(self.a.scheduler.run_due(), self.b.scheduler.run_due())
        await self.settle()

    async def ticks(self, day: date, start: tuple[int, int] = (0, 0), end: tuple[int, int] = (23, 59)) -> None:
        for hh, mm in STEPS:
            if start <= (hh, mm) <= end:
                await self.tick(day, hh, mm)

    async def settle(self) -> None:
        await self.a.inbox.drain()
        await self.b.inbox.drain()

    async def restart_b(self, now: datetime) -> str:
        """Stop the second node, move the clock, start a fresh one: its catch-up runs at start-up."""
        await self.b.stop()
        self.clock.set(now)
        self.b = Service(self.cfg, clock=self.clock, scheduler=True)
        await self.b.start()
        assert self.b.scheduler.catch_up_task is not None
        done = await self.b.scheduler.catch_up_task
        return " / ".join(done.values())

    async def act(self, who: str, card_id: str, action: str, value: str = "") -> None:
        self.clock.advance(minutes=1)
        assert await press(self.client, self.people[who], card_id, action, value) == 200
        await self.settle()

    async def record(self, who: str, text: str, customer_id: str) -> ActionRecord:
        """A rep reports a touch through the chat and confirms the card."""
        person = self.people[who]
        assert (await say(self.client, person, text))[0] == 200
        await self.settle()
        conf = (await card_rows(self.a, "confirmation", person))[-1]
        await self.act(who, conf.id, "confirm")
        async with self.a.db.session() as s:
            rec = await s.get(ActionRecord, conf.subject["record_id"])
        assert rec is not None and rec.customer_id == customer_id and rec.status == RecordStatus.confirmed
        return rec


@pytest.fixture
async def world(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[World]:
    clock = FixedClock(at(MON, 7))
    cfg = make_config(tmp_path)
    await seeded(cfg, clock.now())
    a = Service(cfg, clock=clock, scheduler=False)  # driven by the test's ticks only
    client = await aiohttp_client(a.app())
    async with a.db.write() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
        # T001: a touch promised for Wed 6 May (the overdue ladder); T002: quiet since 28 Apr (stale lead)
        s.add(Customer(id="T001", name="苏州恒泰机电有限公司", aliases=["恒泰机电"], owner_id=people["陈磊"].id,
                       created_at=at(MON, 7) - timedelta(days=40), last_action_at=at(date(2026, 4, 30), 10)))
        s.add(Customer(id="T002", name="南京博远仪器有限公司", aliases=["博远仪器"], owner_id=people["张伟"].id,
                       created_at=at(MON, 7) - timedelta(days=40), last_action_at=at(date(2026, 4, 28), 10)))
        await s.flush()
        for cid, rep, when, nxt in (("T001", "陈磊", date(2026, 4, 30), WED), ("T002", "张伟", date(2026, 4, 28), None)):
            s.add(ActionRecord(type=ActionType.visit, customer_id=cid, rep_id=people[rep].id or 0, text="拜访",
                               next_touch=nxt, status=RecordStatus.confirmed, created_at=at(when, 10),
                               confirmed_at=at(when, 10)))
    b = Service(cfg, clock=clock, scheduler=True)  # the second node: timers armed, catch-up at start
    await b.start()
    w = World(cfg, clock, a, b, client, people)
    yield w
    await w.b.stop()


async def warnings_for(w: World, customer_id: str) -> list[WarningRecord]:
    async with w.a.db.session() as s:
        q = select(WarningRecord).where(WarningRecord.customer_id == customer_id).order_by(WarningRecord.id)
        return list((await s.execute(q)).scalars())


def local_day(row: CardRow | WarningRecord) -> date:
    return row.created_at.astimezone(TZ).date()


async def test_labour_day_week(world: World) -> None:
    w, p = world, world.people
    reps = [p[n] for n in ("张伟", "李娜", "陈磊", "赵敏", "孙浩", "周婷")]

    # ---- Mon, Tue: statutory holiday — nothing at all ----------------------------------------
    await w.ticks(MON)
    await w.ticks(TUE)
    async with w.a.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(CardRow))).scalar_one() == 0

    # ---- Wed: morning cards, picks, done by button and by record, warnings, reasons ---------
    await w.tick(WED, 8, 30)
    assert await card_rows(w.a, "must_do") == []  # not yet 08:45
    await w.tick(WED, 8, 45)
    assert {c.audience_id for c in await card_rows(w.a, "must_do")} == {r.id for r in reps}
    assert {c.audience_id for c in await card_rows(w.a, "team_board")} == {p["王芳"].id, p["刘强"].id}

    zw = p["张伟"]
    [card] = await card_rows(w.a, "must_do", zw)
    mine = await items(w.a, zw, WED)
    assert len(mine) >= 3 and mine[0].source == "overdue"
    first3 = mine[:3]
    for i in first3:
        await w.act("张伟", card.id, f"pick:{i.id}:on")
    body = await latest(w.a, card.id)
    assert "已选 3/3" in body["subtitle"] and "lock" in actions(body)
    await w.act("张伟", card.id, "lock")
    await w.act("张伟", card.id, f"done:{first3[0].id}")
    body = await latest(w.a, card.id)
    assert body["lines"][0].startswith("✅") and f"done:{first3[1].id}" in actions(body)

    await w.tick(WED, 9, 0)  # first warning scan
    [t001_nudge] = [x for x in await warnings_for(w, "T001") if x.audience_id == p["陈磊"].id]
    assert t001_nudge.level == "nudge"
    [t002] = await warnings_for(w, "T002")
    assert (t002.kind, t002.level, t002.audience_id) == ("stale_lead", "red", p["王芳"].id)
    assert t002.card_id is not None and "block:docs" in actions(await latest(w.a, t002.card_id))

    await w.tick(WED, 9, 30)
    w.clock.set(at(WED, 10))
    await w.act("王芳", t002.card_id, "block:docs")
    body = await latest(w.a, t002.card_id)
    assert body["color"] == "grey" and "资料未齐（王芳）" in body["lines"][0]

    # item 2 done by a matching record through the chat; the customer's warnings clear
    target = first3[1]
    assert target.customer_id is not None
    async with w.a.db.session() as s:
        cust = await s.get(Customer, target.customer_id)
    assert cust is not None
    before = [x for x in await warnings_for(w, cust.id) if x.status == "open"]
    await w.record("张伟", f"今天拜访了{cust.name}张总，下周三再去", cust.id)
    [done_item] = [i for i in await items(w.a, zw, WED) if i.id == target.id]
    assert done_item.status == MustDoStatus.done and done_item.done_record_id is not None
    for x in before:
        assert x.card_id is not None and (await latest(w.a, x.card_id))["title"].startswith("✅ 已解除")

    await w.ticks(WED, (10, 30), (15, 30))
    blocked_t002 = await warnings_for(w, "T002")
    assert len(blocked_t002) == 1  # a block reason silences further cards

    await w.tick(WED, 16, 0)  # end of day: open items red, reason cards to the supervisors
    body = await latest(w.a, card.id)
    assert body["color"] == "red" and "1件未完成" in body["title"] and not body["buttons"]
    reason_cards = {c.subject["rep_id"]: c for c in await card_rows(w.a, "reason")}
    assert {c.audience_id for c in reason_cards.values()} == {p["王芳"].id, p["刘强"].id}
    assert set(reason_cards) == {r.id for r in reps}
    assert len(reason_cards[zw.id].subject["item_ids"]) == 1
    assert len(reason_cards[p["李娜"].id].subject["item_ids"]) == 3  # never picked: the top 3 were hers

    w.clock.set(at(WED, 16, 10))
    zw_reason = reason_cards[zw.id]
    [red_id] = zw_reason.subject["item_ids"]
    await w.act("王芳", zw_reason.id, f"reason:{red_id}:change")
    assert (await latest(w.a, zw_reason.id))["color"] == "green"
    cl_reason = reason_cards[p["陈磊"].id]
    first_cl = cl_reason.subject["item_ids"][0]
    await w.act("王芳", cl_reason.id, f"other:{first_cl}", "   ")  # 其他 needs a short text
    assert "需要写一句说明" in (await latest(w.a, cl_reason.id))["note"]
    await w.act("王芳", cl_reason.id, f"other:{first_cl}", "客户临时停电")
    assert "其他：客户临时停电（王芳）" in (await latest(w.a, cl_reason.id))["lines"][0]

    await w.ticks(WED, (16, 30), (16, 30))
    assert await card_rows(w.a, "reason", p["周建国"]) == []
    await w.tick(WED, 17, 0)  # the deadline: unanswered cards go one level up, boards get a mark
    escalated = {c.subject["rep_id"]: c for c in await card_rows(w.a, "reason", p["周建国"])}
    assert set(escalated) == {r.id for r in reps} - {zw.id}  # 张伟's was answered in time
    board = (await card_rows(w.a, "team_board", p["王芳"]))[0]
    body = await latest(w.a, board.id)
    facts = {f["label"]: f["value"] for f in body["facts"]}
    assert facts["原因逾期"] == f"{3 + len(cl_reason.subject['item_ids']) - 1}件" and "周建国" in body["note"]

    ln = escalated[p["李娜"].id]
    first_ln = ln.subject["item_ids"][0]
    await w.act("周建国", ln.id, f"reason:{first_ln}:permission")
    original = reason_cards[p["李娜"].id]
    line = (await latest(w.a, original.id))["lines"][0]
    assert line.startswith("✅ 1.") and "权限不足（周建国，逾期填写）" in line
    await w.ticks(WED, (17, 30))

    # ---- Thu: node B was down over night and comes back at 09:10 (catch-up) ------------------
    summary = await w.restart_b(at(THU, 9, 10))  # nobody ran Thursday's 08:45
    assert "今日3件必做：处理 8 项" in summary  # 6 reps + 2 boards, late but before the 11:00 cut-off
    assert "已运行过" in (await w.a.scheduler.run_due())["morning_must_do"]
    await w.ticks(THU, (9, 30), (9, 30))
    assert [x.level for x in await warnings_for(w, "T001") if x.audience_id == p["陈磊"].id] == ["nudge", "yellow"]

    # a new lead at 10:00: 2 h → the supervisor (yellow), 4 h → the region director (red)
    w.clock.set(at(THU, 10))
    async with w.a.db.write() as s:
        s.add(Customer(id="T003", name="杭州青禾科技有限公司", aliases=["青禾科技"], owner_id=p["孙浩"].id,
                       created_at=at(THU, 10)))
    await w.ticks(THU, (10, 0), (11, 30))
    assert await warnings_for(w, "T003") == []
    await w.ticks(THU, (12, 0), (12, 0))
    assert [(x.level, x.audience_id) for x in await warnings_for(w, "T003")] == [("yellow", p["刘强"].id)]
    await w.ticks(THU, (12, 30), (14, 0))
    lead = await warnings_for(w, "T003")
    assert [(x.level, x.audience_id) for x in lead] == [("yellow", p["刘强"].id), ("red", p["周建国"].id)]
    w.clock.set(at(THU, 14, 40))
    await w.record("孙浩", "今天电话联系了青禾科技李经理，下周一上门拜访", "T003")
    for x in lead:
        assert x.card_id is not None and (await latest(w.a, x.card_id))["title"].startswith("✅ 已解除")
    await w.ticks(THU, (15, 0))
    assert len(await warnings_for(w, "T003")) == 2  # cleared stays cleared

    # ---- Fri: a restart after the morning run repeats nothing; a real action lifts a block ----
    await w.ticks(FRI, (8, 45), (9, 0))
    assert "已运行过" in await w.restart_b(at(FRI, 9, 5))
    w.clock.set(at(FRI, 10, 5))
    await w.record("张伟", "给博远仪器王工打了电话，下周二去现场", "T002")
    async with w.a.db.session() as s:
        t002c = await s.get(Customer, "T002")
    assert t002c is not None and t002c.block_reason is None
    assert (await latest(w.a, t002.card_id))["title"].startswith("✅ 已解除")
    await w.ticks(FRI, (10, 30))

    # ---- Sat (调休): a workday; the overdue touch reaches red after 3 workdays (Thu, Fri, Sat) --
    await w.ticks(SAT)
    t001 = [x for x in await warnings_for(w, "T001") if x.kind == "overdue"]
    assert [(x.level, local_day(x)) for x in t001] == [("nudge", WED), ("yellow", THU), ("red", SAT)]
    assert {x.audience_id for x in t001} == {p["陈磊"].id}  # 王芳 already holds the stale-lead red for it

    # ---- Sun: nothing -------------------------------------------------------------------------
    await w.ticks(SUN)

    # ---- the whole week -----------------------------------------------------------------------
    mornings = Counter((c.audience_id, c.subject["date"]) for c in await card_rows(w.a, "must_do"))
    assert set(mornings.values()) == {1}
    assert set(mornings) == {(r.id, d.isoformat()) for r in reps for d in WORKDAYS}
    boards = Counter((c.audience_id, c.subject["date"]) for c in await card_rows(w.a, "team_board"))
    assert set(boards.values()) == {1} and len(boards) == 2 * len(WORKDAYS)
    async with w.a.db.session() as s:
        every_card = list((await s.execute(select(CardRow).where(CardRow.kind != "confirmation"))).scalars())
        every_warning = list((await s.execute(select(WarningRecord))).scalars())
        done_items = (await s.execute(select(func.count()).select_from(MustDo)
                                      .where(MustDo.status == MustDoStatus.done))).scalar_one()
    assert {local_day(c) for c in every_card} == WORKDAYS
    assert {local_day(x) for x in every_warning} <= WORKDAYS
    assert done_items == 2  # 张伟 on Wed: one by button, one by a record
    assert not [t for r in reps for t in await texts(w.a, r) if t.startswith("⛔")]

    async def delivered() -> bool:  # both nodes' senders share the outbox: each card shows once
        async with w.a.db.session() as s:
            pending = (await s.execute(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status != OutboxStatus.sent))).scalar_one()
            shown = Counter((await s.execute(select(LocalChatMessage.card_id).where(
                LocalChatMessage.card_id.in_([c.id for c in every_card])))).scalars())
        return pending == 0 and set(shown.values()) == {1} and len(shown) == len(every_card)

    await eventually(delivered, within=30)
