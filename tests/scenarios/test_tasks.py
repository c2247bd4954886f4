"""Cross-role tasks on every platform: a rep's message that needs 售前 becomes a proposal, one tap sends the task to
the proposed presales engineer, who accepts and closes it with a note; the rep and the delivery lead follow on their
copies, the closure time is on the row, and a press by anyone but the assignee changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Task, TaskStatus
from tests.harness import Chat, Seen

RUIFENG = "无锡瑞丰精密机械有限公司"


async def tasks(chat: Chat) -> list[Task]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(Task).order_by(Task.id))).scalars())


async def confirmed(chat: Chat, text: str, rep: str = "张伟") -> Seen:
    await chat.say(rep, text)
    card = await chat.should_send(rep, card="动作记录待确认", where=lambda c: text[:6] in c.text)
    await chat.press(rep, card, "confirm")
    return await chat.should_send(rep, card="已记录", where=lambda c: c.ref == card.ref)


async def test_a_reps_message_reaches_a_presales_done_card(chat: Chat) -> None:
    await confirmed(chat, "今天拜访瑞丰机械张总，这个客户需要定制API对接，下周三再去")
    proposal = await chat.should_send("张伟", card=f"需要协同？{RUIFENG}")
    assert "售前：陈思远" in proposal.text and "API对接" in proposal.text and proposal.offers("ask:presales")
    await chat.press("张伟", proposal, "ask:presales")
    task_card = await chat.should_send("陈思远", card="协同任务 #1 · 售前", where=lambda c: c.offers("taccept"))
    assert task_card.facts["发起人"] == "张伟" and RUIFENG in task_card.facts["客户"]
    copy = await chat.should_send("黄建华", card="协同任务 #1 · 售前")  # the delivery lead's copy
    assert not copy.offered
    await chat.should_send("张伟", card=f"需要协同？{RUIFENG}", where=lambda c: "已请售前陈思远协同" in c.text)

    await chat.press("张伟", task_card, "taccept")  # the requester is not the assignee
    await chat.should_send("张伟", text="只能由任务负责人陈思远操作")
    assert (await tasks(chat))[0].status == TaskStatus.open

    await chat.press("陈思远", task_card, "taccept")
    task_card = await chat.should_send("陈思远", card=f"协同任务 #1 · 售前 · {RUIFENG}：处理中")
    await chat.press("陈思远", task_card, "tdone_ask")
    await chat.should_send("陈思远", card="协同任务 #1", where=lambda c: "请直接回复一句完成说明" in c.text)
    await chat.say("陈思远", "已和客户IT确认接口文档，REST对接两周可完成")
    done = await chat.should_send("陈思远", card="协同任务 #1 · 售前 · 无锡瑞丰精密机械有限公司：已完成")
    assert "完成说明：已和客户IT确认接口文档，REST对接两周可完成" in done.text and not done.offered
    await chat.should_send("张伟", text="陈思远完成了协同任务")
    await chat.should_send("张伟", card="协同任务 #1 · 售前 · 无锡瑞丰精密机械有限公司：已完成")
    await chat.should_send("黄建华", card="协同任务 #1 · 售前 · 无锡瑞丰精密机械有限公司：已完成")
    [task] = await tasks(chat)
    assert task.status == TaskStatus.done and task.done_at is not None and task.accepted_at is not None
    assert task.customer_id == "D001" and task.role == "presales" and task.stage


async def test_asking_twice_and_pressing_a_closed_task_change_nothing(chat: Chat) -> None:
    await confirmed(chat, "恒远化工采购说合同条款要改，违约金太高")
    proposal = await chat.should_send("张伟", card="需要协同？江苏恒远化工有限公司")
    assert proposal.offers("ask:legal") and not proposal.offers("ask:presales")
    await chat.press("李娜", proposal, "ask:legal")  # not the record's rep
    await chat.should_send("李娜", text="只能由张伟本人操作")
    await chat.press("张伟", proposal, "ask:legal")
    legal = await chat.should_send("罗晓", card="协同任务 #1 · 法务")
    await chat.press("张伟", proposal, "ask:legal")  # the button is gone: refused, no second task
    await chat.should_send("张伟", text="未做任何修改")
    await chat.press("罗晓", legal, "tdone_ask")
    await chat.should_send("罗晓", card="协同任务 #1 · 法务", where=lambda c: "请直接回复一句完成说明" in c.text)
    await chat.say("罗晓", "条款已按公司模板修改，违约金降至5%")
    await chat.should_send("罗晓", card="协同任务 #1 · 法务", where=lambda c: "已完成" in c.title)
    await chat.press("罗晓", legal, "taccept")
    await chat.should_send("罗晓", text="未做任何修改")
    [task] = await tasks(chat)
    assert task.status == TaskStatus.done and task.note == "条款已按公司模板修改，违约金降至5%"


async def test_need_collab_button_offers_every_role(chat: Chat) -> None:
    record = await confirmed(chat, "今天拜访了瑞丰机械张总，下周三再去")
    assert record.offers("collab")
    await chat.press("张伟", record, "collab")
    proposal = await chat.should_send("张伟", card=f"需要协同？{RUIFENG}")
    assert all(proposal.offers(f"ask:{r}") for r in ("presales", "delivery", "legal", "finance"))
    await chat.press("张伟", proposal, "ask:finance")
    await chat.should_send("钱敏", card="协同任务 #1 · 财务")
