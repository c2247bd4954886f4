"""The contract approval chain on every platform: a rep asks in chat and sends the contract, each step's approver
approves in turn (the rep's card follows), a rejection returns to the rep with the reason typed as a reply, and a
press by someone outside the chain or a second press on a decided step changes nothing."""

from __future__ import annotations

from pathlib import Path

from storage.models import ApprovalStepStatus, ContractStatus
from tests.contracts.helpers import NAME, card_count, requests, steps, submitted
from tests.harness import Chat


async def test_every_step_approves_and_the_rep_is_told(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    assert "江苏恒远化工有限公司" in first.text and "50万元" in first.text
    await chat.press("王芳", first, "cok")
    rep_card = await chat.should_send("张伟", card=f"{NAME}：财务信用评估审批中")
    assert "✅ 1. 法务初审 · 王芳 · 已同意" in rep_card.text and "⏳ 2. 财务信用评估 · 周建国 · 10:00起等待（时限24小时）" in rep_card.text
    second = await chat.should_send("周建国", card="财务信用评估（2/3）：待你审批")
    await chat.press("周建国", second, "cok")
    third = await chat.should_send("周建国", card="用印（3/3）：待你审批")
    await chat.press("周建国", third, "cok")
    await chat.should_send("张伟", text="已全部通过")
    done = await chat.should_send("张伟", card=f"{NAME}：审批通过")
    assert "✅ 3. 用印 · 周建国 · 已同意" in done.text
    [req] = await requests(chat)
    assert req.status == ContractStatus.approved and req.closed_at is not None
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.approved] * 3


async def test_a_rejection_returns_to_the_rep_with_its_reason(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    await chat.press("王芳", first, "crej_ask")
    await chat.should_send("王芳", card="法务初审", where=lambda c: "请直接回复一句驳回原因" in c.text)
    await chat.say("王芳", "违约金条款缺失")
    await chat.should_send("张伟", text="被王芳驳回：违约金条款缺失")
    card = await chat.should_send("张伟", card=f"{NAME}：已驳回")
    assert card.facts.get("驳回原因") == "违约金条款缺失"
    [req] = await requests(chat)
    assert req.status == ContractStatus.rejected and req.reason == "违约金条款缺失"
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.rejected, ApprovalStepStatus.queued, ApprovalStepStatus.queued]
    assert await card_count(chat, "contract_step") == 1  # nobody after the rejecting step was asked


async def test_outsiders_and_repeated_presses_change_nothing(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    await chat.press("刘强", first, "cok")  # another team's supervisor, not in this chain
    await chat.should_send("刘强", text="只能由「法务初审」的审批人王芳操作")
    await chat.press("张伟", first, "cok")  # the requester cannot approve his own contract
    await chat.should_send("张伟", text="只能由「法务初审」的审批人王芳操作")
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.waiting, ApprovalStepStatus.queued, ApprovalStepStatus.queued]
    await chat.press("王芳", first, "cok")
    await chat.should_send("周建国", card="财务信用评估（2/3）：待你审批")
    await chat.press("王芳", first, "cok")  # the card she saw before: the button is gone now
    await chat.should_send("王芳", text="未做任何修改")
    await chat.settle()
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.approved, ApprovalStepStatus.waiting, ApprovalStepStatus.queued]
    assert await card_count(chat, "contract_step") == 2
