"""「瑞丰机械 最近进展」: one card with the customer's latest records, tasks, approvals, evidence and stage changes,
newest first, for the people who work on the customer only."""

from __future__ import annotations

from datetime import timedelta

from handlers.clock import FixedClock
from storage.models import (
    ApprovalStep,
    ApprovalStepStatus,
    ChecklistItem,
    ContractRequest,
    ContractStatus,
    StageChange,
)
from tests.harness import LocalChat
from tests.tasks.test_flow import asked

RUIFENG = "无锡瑞丰精密机械有限公司"


async def history(chat: LocalChat, clock: FixedClock) -> None:
    """A stage move, a ticked check with its photo and a decided approval step on 瑞丰 (张伟's customer)."""
    now = clock.now()
    p = chat.people
    async with chat.service.db.write() as s:
        s.add(StageChange(customer_id="D001", old="需求确认", new="方案报价", by_id=p["张伟"].id,
                          at=now - timedelta(hours=3)))
        s.add(ChecklistItem(customer_id="D001", stage="方案报价", key="site_photo", title="现场照片", status="done",
                            done_at=now - timedelta(hours=2), done_by=p["张伟"].id, evidence={"kind": "image"}))
        req = ContractRequest(customer_id="D001", rep_id=p["张伟"].id or 0, amount=500000,
                              status=ContractStatus.pending, created_at=now - timedelta(hours=1, minutes=30))
        s.add(req)
        await s.flush()
        s.add(ApprovalStep(request_id=req.id or 0, idx=0, name="法务初审", approver_id=p["王芳"].id or 0,
                           status=ApprovalStepStatus.approved, decided_at=now - timedelta(hours=1)))


async def test_every_kind_in_time_order(chat: LocalChat, clock: FixedClock) -> None:
    await history(chat, clock)
    clock.set(clock.now() + timedelta(minutes=5))
    await asked(chat, "瑞丰机械要求API对接", "presales")
    await chat.say("张伟", "瑞丰机械 最近进展")
    card = await chat.should_send("张伟", card=f"{RUIFENG} 最近进展")
    lines = card.raw["lines"]
    kinds = [line.split("[")[1].split("]")[0] for line in lines]
    assert kinds[:6] == ["记录", "协同", "审批", "审批", "凭证", "阶段"], lines  # a tie keeps records first
    assert len(lines) == 8 and set(kinds[6:]) == {"记录"}  # then the demo's older records, up to the card's 8
    assert "请售前林浩然协同：瑞丰机械要求API对接" in lines[1] and "需求确认 → 方案报价" in lines[5]
    assert "合同审批 #1 · 法务初审：同意 · 王芳" in lines[2] and "☑ 方案报价·现场照片（照片）" in lines[4]


async def test_only_people_who_work_on_the_customer_see_it(chat: LocalChat) -> None:
    await asked(chat, "瑞丰机械要求API对接", "presales")
    for who in ("王芳", "周建国", "林浩然"):  # the owner's supervisor, a manager, the task's assignee
        await chat.say(who, "瑞丰机械 最近进展")
        await chat.should_send(who, card=f"{RUIFENG} 最近进展")
    for who in ("刘强", "李娜", "陈思远"):  # another team's supervisor, a colleague, presales without a task there
        await chat.say(who, "瑞丰机械 最近进展")
        await chat.should_send(who, text="只对负责这个客户的人可见")
        assert not await chat.cards(who, "最近进展")
