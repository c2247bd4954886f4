"""Credibility checks with real JPEGs (EXIF GPS/time written in the test), real distances and an injected clock:
a record whose evidence does not fit its customer becomes 待核实 and its supervisor must verify it within 2 h."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from handlers.clock import FixedClock
from handlers.credibility import distance_m
from storage.models import ActionRecord, Contact, RecordStatus, Verification, VerifyStatus
from tests.evidence.photos import photo
from tests.harness import Chat, open_local

RUIFENG_AT = (31.4912, 120.3567)  # 无锡瑞丰精密机械 in the demo directory
METRES_PER_DEG_LAT = 111_195.0


@pytest.fixture
async def chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
               monkeypatch: pytest.MonkeyPatch) -> Chat:
    return await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)


def north(metres: float) -> tuple[float, float]:
    return RUIFENG_AT[0] + metres / METRES_PER_DEG_LAT, RUIFENG_AT[1]


def test_distances_are_great_circle_metres() -> None:
    assert abs(distance_m(*RUIFENG_AT, *north(500)) - 500) < 1
    shanghai, beijing = (31.2304, 121.4737), (39.9087, 116.3975)  # 人民广场 → 天安门: about 1,068 km
    assert 1_060_000 < distance_m(*shanghai, *beijing) < 1_075_000
    assert distance_m(*RUIFENG_AT, *RUIFENG_AT) == 0


async def confirmed(chat: Chat, text: str = "今天拜访了瑞丰机械张总，下周三再去") -> int:
    await chat.say("张伟", text)
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: text[:8] in c.text)
    await chat.press("张伟", card, "confirm")
    await chat.settle()
    async with chat.service.db.session() as s:
        return int((await s.execute(select(ActionRecord.id).where(ActionRecord.text == text))).scalar_one())


async def verification(chat: Chat, record_id: int) -> Verification | None:
    async with chat.service.db.session() as s:
        return (await s.execute(select(Verification).where(Verification.record_id == record_id))).scalar()


async def status(chat: Chat, record_id: int) -> RecordStatus:
    async with chat.service.db.session() as s:
        r = await s.get(ActionRecord, record_id)
        assert r is not None
        return r.status


CASES = [  # (name, photo kwargs relative to the 10:00 report, the finding expected or None)
    ("gps 400 m, taken 1 min before", {"at": north(400), "taken": "2026:11:24 09:59:00"}, None),
    ("gps 650 m", {"at": north(650), "taken": "2026:11:24 09:59:30"}, "photo_far"),
    ("taken 2 min 59 s before", {"at": north(50), "taken": "2026:11:24 09:57:01"}, None),
    ("taken 3 min before", {"at": north(50), "taken": "2026:11:24 09:57:00"}, "photo_time"),
    ("taken the evening before", {"at": north(50), "taken": "2026:11:23 19:10:00"}, "photo_time"),
    ("no exif at all", {}, "photo_no_exif"),
]


@pytest.mark.parametrize(("name", "shot", "finding"), CASES, ids=[c[0] for c in CASES])
async def test_a_visit_photo_is_checked_against_the_customer(chat: Chat, tmp_path: Path, name: str,
                                                             shot: dict[str, Any], finding: str | None) -> None:
    record_id = await confirmed(chat)
    at = shot.get("at")
    await chat.send_photo("张伟", photo(tmp_path / "visit.jpg", lat=at[0] if at else None, lng=at[1] if at else None,
                                        taken=shot.get("taken")))
    await chat.should_send("张伟", text=f"#{record_id}")
    await chat.settle()
    v = await verification(chat, record_id)
    if finding is None:
        assert v is None and await status(chat, record_id) == RecordStatus.confirmed
        return
    assert v is not None and [r["code"] for r in v.reasons] == [finding]
    assert await status(chat, record_id) == RecordStatus.to_verify
    card = await chat.should_send("王芳", card=f"待核实：张伟的记录 #{record_id}")
    assert card.offers("vok") and card.offers("vrej_ask")
    await chat.should_send("张伟", text="已标记为待核实")


async def test_a_check_in_far_from_the_customer_is_flagged_and_a_near_one_is_not(chat: Chat) -> None:
    near = await confirmed(chat)
    await chat.send_location("张伟", *north(120), "长江南路18号")
    await chat.should_send("张伟", text=f"#{near}")
    await chat.settle()
    assert await verification(chat, near) is None
    far = await confirmed(chat, "下午去瑞丰机械送样品，周五回访")
    await chat.send_location("张伟", *north(1200), "新吴区某咖啡馆")
    await chat.should_send("王芳", card=f"待核实：张伟的记录 #{far}", where=lambda c: "1.2 公里" in c.text)


async def test_a_call_to_a_number_that_is_not_the_contacts_is_flagged(chat: Chat) -> None:
    async with chat.service.db.write() as s:
        await s.execute(update(Contact).where(Contact.customer_id == "D001").values(phone="13912345678"))
    fine = await confirmed(chat, "给瑞丰机械打电话 13912345678，约了下周二拜访")
    odd = await confirmed(chat, "电话联系瑞丰机械采购 138-0000-1111，明天发报价")
    await chat.settle()
    assert await verification(chat, fine) is None
    v = await verification(chat, odd)
    assert v is not None and v.reasons[0]["code"] == "call_number" and "138****1111" in v.reasons[0]["detail"]


async def test_unverified_after_2_hours_goes_one_level_up(chat: Chat, clock: FixedClock, tmp_path: Path) -> None:
    record_id = await confirmed(chat)
    await chat.send_photo("张伟", photo(tmp_path / "shot.jpg"))  # no EXIF
    card = await chat.should_send("王芳", card=f"待核实：张伟的记录 #{record_id}")
    start = clock.now()
    await chat.run("verify_overdue", start + timedelta(hours=1, minutes=59))
    assert await chat.cards("周建国", "待核实") == []
    await chat.run("verify_overdue", start + timedelta(hours=2, minutes=1))
    up = await chat.should_send("周建国", card=f"待核实：张伟的记录 #{record_id}", where=lambda c: "上报自" in c.text)
    await chat.should_send("王芳", card="待核实", where=lambda c: "已逾期" in c.text)
    await chat.run("verify_overdue", start + timedelta(hours=2, minutes=31))  # escalated once only
    assert len(await chat.cards("周建国", "待核实")) == 1

    await chat.press("张伟", card, "vok")  # the rep cannot verify their own record
    await chat.should_send("张伟", text="只能由张伟的上级主管操作")
    assert await status(chat, record_id) == RecordStatus.to_verify
    await chat.press("周建国", up, "vok")
    await chat.should_send("王芳", card=f"已核实：张伟的记录 #{record_id}")
    await chat.should_send("张伟", text="周建国已核实你的记录")
    v = await verification(chat, record_id)
    assert v is not None and v.status == VerifyStatus.confirmed and v.escalated_at is not None
    assert v.resolved_by == chat.person("周建国").id and await status(chat, record_id) == RecordStatus.confirmed
    await chat.press("王芳", card, "vrej", "晚了一步")  # too late: already decided, the card offers nothing now
    await chat.should_send("王芳", text="这个按钮已失效")
    assert (await verification(chat, record_id)).status == VerifyStatus.confirmed  # type: ignore[union-attr]


async def test_a_reject_needs_a_reason_given_as_a_reply(chat: Chat, tmp_path: Path) -> None:
    record_id = await confirmed(chat)
    await chat.send_photo("张伟", photo(tmp_path / "far.jpg", lat=north(5000)[0], lng=north(5000)[1],
                                        taken="2026:11:24 09:59:00"))
    card = await chat.should_send("王芳", card=f"待核实：张伟的记录 #{record_id}", where=lambda c: "5.0 公里" in c.text)
    await chat.press("王芳", card, "vrej", "")
    await chat.should_send("王芳", card="待核实", where=lambda c: "驳回需要写明原因" in c.text)
    await chat.press("王芳", card, "vrej_ask")
    await chat.should_send("王芳", card="待核实", where=lambda c: "请直接回复一句驳回原因" in c.text)
    await chat.say("王芳", "电话核实客户当天没有接待")
    await chat.should_send("王芳", card=f"已驳回：张伟的记录 #{record_id}")
    await chat.should_send("张伟", text="驳回了你的记录")
    v = await verification(chat, record_id)
    assert v is not None and v.status == VerifyStatus.rejected and v.note == "电话核实客户当天没有接待"
    assert await status(chat, record_id) == RecordStatus.rejected


async def test_the_2_hour_clock_starts_when_the_record_is_flagged(chat: Chat, clock: FixedClock, tmp_path: Path) -> None:
    clock.set(datetime(2026, 11, 24, 16, 30, tzinfo=clock.now().tzinfo))
    record_id = await confirmed(chat)
    await chat.send_photo("张伟", photo(tmp_path / "shot.jpg"))
    await chat.settle()
    v = await verification(chat, record_id)
    assert v is not None and v.due_at == clock.now() + timedelta(hours=2)
