"""The daily rhythm on every platform: the morning must-do card is picked, locked and ticked; unfinished
items turn red at 16:00 and the supervisor gives reasons; overdue customers raise warnings that a real
touch clears."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import MustDo, Person
from tests.conftest import TZ
from tests.harness import Chat, Seen

MORNING = datetime(2026, 11, 24, 8, 45, tzinfo=TZ)  # a Tuesday
AFTERNOON = MORNING.replace(hour=16, minute=0)


async def pick_three(chat: Chat, who: str) -> Seen:
    card = await chat.should_send(who, card="必做")
    for n in range(3):
        action = card.actions("pick:")[n]
        assert action.endswith(":on")
        await chat.press(who, card, action)
        card = await chat.should_send(who, card="必做", where=lambda c, n=n: f"已选 {n + 1}/3" in c.text)
    await chat.press(who, card, "lock")
    return await chat.should_send(who, card="必做", where=lambda c: bool(c.actions("done:")))


async def items(chat: Chat, who: str) -> list[MustDo]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(MustDo).where(MustDo.rep_id == chat.person(who).id)
                                     .order_by(MustDo.rank))).scalars())


async def test_rep_picks_locks_and_finishes_must_dos(chat: Chat) -> None:
    await chat.run("morning_must_do", MORNING)
    locked = await pick_three(chat, "张伟")
    assert len(locked.actions("done:")) == 3 and "已完成 0/3" in locked.text
    await chat.press("张伟", locked, locked.actions("done:")[0])
    after = await chat.should_send("张伟", card="必做", where=lambda c: "已完成 1/3" in c.text)
    assert after.ref == locked.ref and len(after.actions("done:")) == 2
    assert sorted(i.status for i in await items(chat, "张伟") if i.chosen) == ["done", "open", "open"]


async def test_someone_else_cannot_pick_for_the_rep(chat: Chat) -> None:
    await chat.run("morning_must_do", MORNING)
    card = await chat.should_send("张伟", card="必做")
    await chat.press("李娜", card, card.actions("pick:")[0])
    await chat.should_send("李娜", text="只能由张伟本人操作")
    assert not any(i.chosen for i in await items(chat, "张伟"))


async def test_a_confirmed_record_ticks_the_must_do(chat: Chat) -> None:
    await chat.run("morning_must_do", MORNING)
    await pick_three(chat, "张伟")
    [first, *_] = [i for i in await items(chat, "张伟") if i.chosen]
    async with chat.service.db.session() as s:
        from storage.models import Customer

        customer = await s.get(Customer, first.customer_id)
    assert customer is not None
    chat.clock.set(MORNING.replace(hour=11))
    await chat.say("张伟", f"刚给{customer.name}打了电话，下周一再联系")
    draft = await chat.should_send("张伟", card="动作记录待确认")
    await chat.press("张伟", draft, "confirm")
    ticked = await chat.should_send("张伟", card="必做", where=lambda c: "已完成 1/3" in c.text)
    assert len(ticked.actions("done:")) == 2


async def test_unfinished_items_turn_red_and_the_supervisor_gives_reasons(chat: Chat) -> None:
    await chat.run("morning_must_do", MORNING)
    await pick_three(chat, "张伟")
    await chat.run("end_of_day", AFTERNOON)
    card = await chat.should_send("王芳", card="张伟：3件必做未完成")
    first = card.actions("reason:")[0]
    await chat.press("张伟", card, first)  # the rep cannot excuse himself
    await chat.should_send("张伟", text="张伟的上级主管")
    await chat.press("王芳", card, first)
    nxt = await chat.should_send("王芳", card="张伟", where=lambda c: "第2件" in c.text)
    assert nxt.ref == card.ref
    reasons = [i.reason for i in await items(chat, "张伟") if i.chosen]
    assert reasons.count(None) == 2 and first.rsplit(":", 1)[1] in reasons


async def overdue_warning(chat: Chat, reps: list[Person]) -> tuple[str, Seen]:
    for rep in reps:
        got = [c for c in await chat.cards(rep.name) if c.raw is not None and ("逾期" in c.title or "红灯" in c.title)]
        if got:
            return rep.name, got[0]
    raise AssertionError("no warning card reached any rep")


async def test_overdue_customer_warns_and_a_real_touch_clears_it(chat: Chat) -> None:
    reps = [p for p in chat.people.values() if p.role == "rep"]
    await chat.run("warning_scan", MORNING.replace(hour=10))
    who, warning = await overdue_warning(chat, reps)
    name = warning.facts["客户"]
    chat.clock.set(MORNING.replace(hour=11))
    await chat.say(who, f"今天拜访了{name}，下周二再去")
    draft = await chat.should_send(who, card="动作记录待确认")
    await chat.press(who, draft, "confirm")
    # updated in place where the platform can (local); a notice card without buttons is re-sent (WeCom)
    cleared = await chat.should_send(who, card=f"已解除：{name}")
    assert cleared.ref == warning.ref or chat.platform != "local"


async def test_supervisor_pauses_a_warning_with_a_block_reason(chat: Chat) -> None:
    await chat.run("warning_scan", MORNING.replace(hour=10))
    blockable = [(name, c) for name in ("王芳", "刘强", "周建国") for c in await chat.cards(name) if c.actions("block:")]
    assert blockable, "no supervisor got a warning they may pause"
    who, card = blockable[0]
    await chat.press(card.facts["负责人"], card, card.actions("block:")[0])  # the owner may not pause it
    await chat.should_send(card.facts["负责人"], text="⛔")
    await chat.press(who, card, card.actions("block:")[0])
    await chat.should_send(who, card=f"已设阻塞原因：{card.facts['客户']}")


async def test_board_counts_only_reps_who_picked_and_names_the_others(chat: Chat) -> None:
    """Only 张伟 picks; at 16:00 the others' proposals are taken for them. The board must not say 3/3
    picked, must name who did not pick, and every card showing those items must say they were never chosen."""
    await chat.run("morning_must_do", MORNING)
    await pick_three(chat, "张伟")
    board = await chat.should_send("王芳", card="团队今日必做")
    assert board.facts["已选定"] == "1/3人" and board.facts["未选定"] == "李娜、陈磊"
    await chat.run("end_of_day", AFTERNOON)
    board = await chat.should_send("王芳", card="团队今日必做", where=lambda c: "系统按建议" in c.text)
    assert board.facts["已选定"] == "1/3人"
    assert any(line.startswith("李娜：未选定（系统按建议计入3件）") for line in board.text.splitlines())
    never = "未选定，系统按建议计入"
    red = await chat.should_send("李娜", card="件未完成")
    assert red.text.count(never) == 3
    mine = await chat.should_send("张伟", card="必做", where=lambda c: "件未完成" in c.title)
    assert never not in mine.text  # 张伟 chose his own
    reason = await chat.should_send("王芳", card="李娜：3件必做未完成")
    assert never in reason.text
