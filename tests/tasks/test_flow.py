"""Cross-role tasks in detail (local emulator, tasks configured): skills then load pick the person, the overdue
job warns once by the injected clock and never for a closed task, the closure time feeds the KPI, a file can be
the result, and bad results or presses by others change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.tasks import closure_hours, cross_role_kpi
from storage.models import Card, Task, TaskStatus
from tests.harness import LocalChat, Seen

RUIFENG = "无锡瑞丰精密机械有限公司"


async def tasks(chat: LocalChat) -> list[Task]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(Task).order_by(Task.id))).scalars())


async def asked(chat: LocalChat, text: str, role: str, rep: str = "张伟") -> Seen:
    """The rep records ``text``, confirms it, and asks the proposed person of ``role``; returns the proposal."""
    await chat.say(rep, text)
    card = await chat.should_send(rep, card="动作记录待确认", where=lambda c: text[:6] in c.text)
    await chat.press(rep, card, "confirm")
    proposal = await chat.should_send(rep, card="需要协同？", where=lambda c: text[:6] in c.text)
    await chat.press(rep, proposal, f"ask:{role}")
    return await chat.should_send(rep, card="需要协同？", where=lambda c: c.ref == proposal.ref and "✅ 已请" in c.text)


async def test_skills_then_load_pick_the_presales_engineer(chat: LocalChat) -> None:
    await asked(chat, "瑞丰机械要和他们的MES系统做API对接", "presales")
    await chat.should_send("林浩然", card="协同任务 #1 · 售前")  # 技能「API对接」
    await chat.say("李娜", "恒远化工说要出技术方案，下周二再聊")
    card = await chat.should_send("李娜", card="动作记录待确认")
    await chat.press("李娜", card, "confirm")
    proposal = await chat.should_send("李娜", card="需要协同？江苏恒远化工有限公司")
    assert "售前：陈思远（在办任务0件）" in proposal.text  # no skill matches: the fewest open tasks


async def test_overdue_warns_once_and_a_closed_task_never(chat: LocalChat, clock: FixedClock) -> None:
    await asked(chat, "瑞丰机械张总说合同条款要改", "legal")
    await asked(chat, "恒远化工希望账期90天", "finance")
    t1, t2 = await tasks(chat)
    legal = await chat.should_send("罗晓", card="协同任务 #1 · 法务")
    await chat.press("罗晓", legal, "tdone", "已出修改意见")
    await chat.should_send("罗晓", card="协同任务 #1", where=lambda c: "已完成" in c.title)
    start = clock.now()
    assert await chat.run("task_overdue", start + timedelta(hours=7, minutes=45)) == "协同任务超时提醒：处理 0 项，发出 0 张卡片"
    assert "发出 3 张卡片" in await chat.run("task_overdue", start + timedelta(hours=8, minutes=15))
    for who in ("钱敏", "张伟", "黄建华"):
        warn = await chat.should_send(who, card="协同任务超时：江苏恒远化工有限公司 · 财务")
        assert "钱敏尚未完成" in warn.text
    await chat.should_send("钱敏", card="协同任务 #2", where=lambda c: "（已超时）" in c.text and c.offers("taccept"))
    assert "处理 0 项" in await chat.run("task_overdue", start + timedelta(hours=9))
    assert len(await chat.cards("钱敏", "协同任务超时")) == 1
    assert not await chat.cards("罗晓", "协同任务超时")
    [t1, t2] = await tasks(chat)
    assert t1.warned_at is None and t2.warned_at is not None


async def test_closure_time_feeds_the_kpi(chat: LocalChat, clock: FixedClock) -> None:
    await asked(chat, "瑞丰机械要求API对接", "presales")
    card = await chat.should_send("林浩然", card="协同任务 #1")
    clock.set(clock.now() + timedelta(hours=6))
    await chat.press("林浩然", card, "taccept")
    await chat.should_send("林浩然", card="协同任务 #1", where=lambda c: "处理中" in c.title)
    clock.set(clock.now() + timedelta(hours=6))
    await chat.press("林浩然", card, "tdone", "接口方案已发客户")
    await chat.should_send("林浩然", card="协同任务 #1", where=lambda c: "已完成" in c.title and "用时12.0小时" in c.text)
    [task] = await tasks(chat)
    assert closure_hours(task) == 12.0 and task.accepted_at == task.created_at + timedelta(hours=6)
    async with chat.service.db.session() as s:
        ctx = Context(session=s, clock=clock, settings=Settings(), key_prefix="kpi")
        kpi = await cross_role_kpi(ctx, clock.now() - timedelta(days=1), clock.now() + timedelta(seconds=1))
    assert kpi.done == 1 and kpi.avg_closure_days == 0.5 and kpi.open == 0
    await chat.say("张伟", "我的协同任务")
    await chat.should_send("张伟", text="🤝 我发起的：\n#1 无锡瑞丰精密机械有限公司 · 售前林浩然 · 「瑞丰机械要求API对接」· 已完成（用时12.0小时）")
    await chat.say("林浩然", "我的协同任务")
    await chat.should_send("林浩然", text="🔧 请我协同的：")


async def test_a_file_can_be_the_result(chat: LocalChat, tmp_path: Path) -> None:
    await asked(chat, "瑞丰机械要定制报表", "presales")
    card = await chat.should_send("陈思远", card="协同任务 #1")
    await chat.press("陈思远", card, "tdone_ask")
    await chat.should_send("陈思远", card="协同任务 #1", where=lambda c: "请直接回复" in c.text)
    doc = tmp_path / "report-plan.pdf"
    doc.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    await chat.send_file("陈思远", doc)
    done = await chat.should_send("陈思远", card="协同任务 #1", where=lambda c: "已完成" in c.title)
    assert "附件：report-plan.pdf" in done.text
    await chat.should_send("张伟", text="陈思远完成了协同任务「瑞丰机械要定制报表」（无锡瑞丰精密机械有限公司）：附件「report-plan.pdf」")
    [task] = await tasks(chat)
    assert task.note is None and task.attachment["name"] == "report-plan.pdf" and task.attachment["sha256"]


async def test_bad_results_and_other_presses_change_nothing(chat: LocalChat) -> None:
    await asked(chat, "瑞丰机械张总希望账期60天", "finance")
    card = await chat.should_send("钱敏", card="协同任务 #1")
    await chat.press("钱敏", card, "tdone", "长" * 201)
    await chat.should_send("钱敏", card="协同任务 #1", where=lambda c: "请写一句完成说明（200字以内）" in c.text)
    await chat.press("钱敏", card, "tdone", "   ")
    await chat.press("马俊", card, "tdone", "我来完成")  # delivery, not the assignee
    await chat.should_send("马俊", text="只能由任务负责人钱敏操作")
    copy = await chat.should_send("张伟", card="协同任务 #1 · 财务")
    await chat.press("张伟", copy, "taccept")  # a copy has no handler: nothing to press on it
    await chat.should_send("张伟", text="这张卡片不能再操作了")
    await chat.settle()
    [task] = await tasks(chat)
    assert task.status == TaskStatus.open and task.note is None and task.done_at is None
    async with chat.service.db.session() as s:
        kinds = sorted((await s.execute(select(Card.kind).where(Card.kind.like("task%")))).scalars())
    assert kinds == ["task", "task_copy", "task_copy", "task_proposal"]
