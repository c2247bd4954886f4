"""Leads on every platform: a supervisor types 「新线索 …」, the rules give it to the region's rep, whose card
only they may press; nobody touching it for 2 h warns the supervisor, 4 h the director, and a real touch
stops the clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.leads import first_response_minutes
from storage.models import Customer, Lead
from tests.harness import Chat, Seen

LEAD = "新线索 无锡新锐数控有限公司 联系人李总 13900001111 地区无锡"
COMPANY = "无锡新锐数控有限公司"


async def entered(chat: Chat, text: str = LEAD, company: str = COMPANY) -> Seen:
    await chat.say("王芳", text)
    return await chat.should_send("张伟", card=f"新线索：{company}")


async def test_supervisor_enters_a_lead_the_region_rep_accepts(chat: Chat) -> None:
    card = await entered(chat)
    assert card.offers("accept") and card.facts["电话"] == "13900001111" and "地区「无锡」" in card.text
    board = await chat.should_send("王芳", card=f"线索已分配：{COMPANY} → 张伟")
    assert any(a.startswith("reassign:") for a in board.actions())
    await chat.press("张伟", card, "accept")
    done = await chat.should_send("张伟", card=f"已接受线索：{COMPANY}")
    assert not done.actions()
    await chat.should_send("王芳", card=f"线索已分配：{COMPANY} → 张伟", where=lambda c: "已接受" in c.text)
    async with chat.service.db.session() as s:
        [lead] = (await s.execute(select(Lead))).scalars().all()
        customer = await s.get(Customer, lead.customer_id)
    assert lead.status == "accepted" and customer is not None and customer.stage == "初步接触"
    assert customer.owner_id == chat.person("张伟").id


async def test_a_colleague_cannot_accept_or_hand_back_the_reps_lead(chat: Chat) -> None:
    card = await entered(chat)
    await chat.press("李娜", card, "accept")
    await chat.should_send("李娜", text="只能由张伟本人操作")
    await chat.press("李娜", card, card.actions("return:")[0])
    async with chat.service.db.session() as s:
        [lead] = (await s.execute(select(Lead))).scalars().all()
    assert lead.status == "assigned" and lead.owner_id == chat.person("张伟").id and not lead.returned


async def test_a_hand_back_goes_to_the_next_rep_and_the_supervisor_can_reassign(chat: Chat) -> None:
    card = await entered(chat)
    await chat.press("张伟", card, "return:area")
    await chat.should_send("张伟", card=f"线索已退回：{COMPANY}")
    board = await chat.should_send("王芳", card=f"线索已分配：{COMPANY}", where=lambda c: "张伟：不在我的区域" in c.text)
    owner = board.title.rsplit("→ ", 1)[1]
    assert owner != "张伟"
    await chat.should_send(owner, card=f"新线索：{COMPANY}")
    target = next(a for a in board.actions("reassign:") if a != f"reassign:{chat.person(owner).id}")
    await chat.press("张伟", board, target)  # a rep cannot re-assign
    await chat.should_send("张伟", text="⛔")
    await chat.press("王芳", board, target)
    new_owner = next(p.name for p in chat.people.values() if f"reassign:{p.id}" == target)
    await chat.should_send(new_owner, card=f"新线索：{COMPANY}")
    await chat.should_send(owner, card=f"线索已改派：{COMPANY}")


async def test_untouched_lead_warns_the_supervisor_at_2h_then_the_director(chat: Chat) -> None:
    start = chat.clock.now()
    await entered(chat)
    await chat.run("warning_scan", start + timedelta(hours=1, minutes=30))
    assert not await chat.cards("王芳", f"未首次联系：{COMPANY}")
    await chat.run("warning_scan", start + timedelta(hours=2))
    warning = await chat.should_send("王芳", card=f"新线索超过2小时未首次联系：{COMPANY}")
    assert warning.facts["负责人"] == "张伟"
    await chat.run("warning_scan", start + timedelta(hours=4))
    await chat.should_send("周建国", card=f"新线索4小时仍未联系：{COMPANY}")


async def test_a_touch_stops_the_first_contact_clock(chat: Chat) -> None:
    start = chat.clock.now()
    card = await entered(chat)
    await chat.press("张伟", card, "accept")
    chat.clock.set(start + timedelta(minutes=40))
    await chat.say("张伟", "刚给无锡新锐数控李总打了电话，下周一上门")
    draft = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: "新锐" in c.text)
    await chat.press("张伟", draft, "confirm")
    await chat.should_send("张伟", card="已记录")
    await chat.run("warning_scan", start + timedelta(hours=2, minutes=30))
    assert not await chat.cards("王芳", f"未首次联系：{COMPANY}")
    async with chat.service.db.session() as s:
        [lead] = (await s.execute(select(Lead))).scalars().all()
    assert first_response_minutes(lead) == 40  # the first-response KPI: assignment → the confirmed touch


async def test_a_rep_cannot_enter_a_lead_and_nothing_is_recorded(chat: Chat) -> None:
    await chat.say("张伟", LEAD)
    await chat.should_send("张伟", text="新线索由主管或经理录入")
    async with chat.service.db.session() as s:
        assert not (await s.execute(select(Lead))).scalars().all()
