"""The approval chain through the local channel: a stuck step warns once (injected clock), bad requests and
bad presses are refused and change nothing, the contract file reaches each approver, a redelivered press is a
no-op, 「我的合同审批」 shows every step's wait, and the last approval publishes ``ContractApproved``."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from bot.service import Service
from handlers.clock import FixedClock
from handlers.context import Context
from handlers.domain import ContractApproved
from storage.models import ApprovalStepStatus, ContractStatus, Identity
from tests.conftest import make_config, seeded
from tests.contracts.helpers import HENGYUAN, NAME, card_count, own, requests, steps, submitted
from tests.evidence.photos import photo
from tests.harness import Chat, LocalChat, open_local, people_of
from tests.stages.test_walk import pdf


@pytest.fixture
async def chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
               monkeypatch: pytest.MonkeyPatch) -> Chat:
    return await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)


async def approve_first(chat: Chat, tmp_path: Path) -> None:
    await chat.press("王芳", await submitted(chat, tmp_path), "cok")
    await chat.should_send("周建国", card="财务信用评估（2/3）：待你审批")


async def test_a_step_past_its_limit_warns_its_approver_and_the_reps_supervisor_once(chat: Chat, tmp_path: Path) -> None:
    await approve_first(chat, tmp_path)
    started = chat.clock.now()
    assert "处理 0 项" in await chat.run("contract_overdue", started + timedelta(hours=23, minutes=59))
    assert await card_count(chat, "contract_overdue") == 0  # inside its 24 h limit: nothing yet
    said = await chat.run("contract_overdue", started + timedelta(hours=24, minutes=30))
    assert "发出 2 张卡片" in said
    to_approver = await chat.should_send("周建国", card=f"合同审批超时：{NAME} · 财务信用评估")
    assert "请尽快在审批卡片上处理" in to_approver.text and "已等待1天" in to_approver.text
    to_supervisor = await chat.should_send("王芳", card=f"合同审批超时：{NAME} · 财务信用评估")
    assert "请督促周建国处理" in to_supervisor.text
    await chat.should_send("张伟", card=f"{NAME}：财务信用评估审批中", where=lambda c: "已超时" in c.text)
    await chat.should_send("周建国", card="财务信用评估（2/3）", where=lambda c: "已超时" in c.text)
    assert (await steps(chat))[1].warned_at == started + timedelta(hours=24, minutes=30)
    await chat.run("contract_overdue", started + timedelta(hours=26))
    assert await card_count(chat, "contract_overdue") == 2  # once per step, not once per scan


async def test_bad_requests_are_refused_and_change_nothing(chat: Chat) -> None:
    await own(chat, HENGYUAN, "张伟")
    await chat.say("张伟", "发起合同审批 不存在的公司 50万")
    await chat.should_send("张伟", text="没有找到客户「不存在的公司」")
    await chat.say("张伟", "发起合同审批 恒远化工")
    await chat.should_send("张伟", text="请写明合同金额")
    await chat.say("李娜", "发起合同审批 恒远化工 50万")  # 张伟's customer, not hers
    await chat.should_send("李娜", text="不是你或你团队负责的客户")
    await chat.say("郑丽", "发起合同审批 恒远化工 50万")  # store staff do not request contracts
    await chat.should_send("郑丽", text="没有记录为客户动作")
    await chat.settle()
    assert await requests(chat) == [] and await card_count(chat, "contract") == 0
    await chat.say("张伟", "发起合同审批 恒远化工 50万")
    await chat.should_send("张伟", card=f"{NAME}：待上传合同")
    await chat.say("张伟", "发起合同审批 恒远化工 60万")
    await chat.should_send("张伟", text="已有一份进行中的合同审批（#1）")
    await chat.settle()
    assert len(await requests(chat)) == 1 and await card_count(chat, "contract") == 1


async def chain_of(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, steps: list[dict[str, Any]]) -> Chat:
    """The local emulator with its own contracts.steps."""
    cfg = make_config(tmp_path, contracts={"steps": steps})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    return LocalChat(service, await aiohttp_client(service.app()), clock, await people_of(service))


async def test_a_chain_with_nobody_to_approve_a_step_is_not_started(tmp_path: Path, clock: FixedClock,
                                                                    aiohttp_client: Any) -> None:
    chat = await chain_of(tmp_path, clock, aiohttp_client, [{"name": "法务初审", "approvers": ["不在公司的人"]}])
    await own(chat, HENGYUAN, "张伟")
    await chat.say("张伟", "发起合同审批 恒远化工 50万")
    await chat.should_send("张伟", text="审批链的「法务初审」找不到审批人")
    assert await requests(chat) == []


async def test_approvers_by_name_fall_back_in_order_and_never_the_requester(tmp_path: Path, clock: FixedClock,
                                                                            aiohttp_client: Any) -> None:
    chat = await chain_of(tmp_path, clock, aiohttp_client, [
        {"name": "法务初审", "approvers": ["不在公司的人", "陈磊"], "wait_hours": 4},
        {"name": "用印", "approvers": ["role:supervisor"], "wait_hours": 2}])
    await own(chat, HENGYUAN, "张伟")
    await chat.say("王芳", "发起合同审批 恒远化工 50万")  # a supervisor, for her rep's customer
    await chat.should_send("王芳", card=f"{NAME}：待上传合同")
    await chat.send_photo("王芳", photo(tmp_path / "c.jpg"))
    await chat.press("陈磊", await chat.should_send("陈磊", card="法务初审（1/2）：待你审批"), "cok")
    # no supervisor above 王芳 (周建国 is a manager): the first other supervisor, never 王芳 herself
    await chat.should_send("刘强", card="用印（2/2）：待你审批", where=lambda c: "本步时限" in c.text and "2小时" in c.text)
    assert [s.approver_id for s in await steps(chat)] == [chat.person("陈磊").id, chat.person("刘强").id]


async def test_an_approver_nobody_can_reach_is_passed_over(chat: Chat, tmp_path: Path) -> None:
    async with chat.service.db.write() as s:  # 王芳 left the chat platform: a card to her would never arrive
        await s.execute(delete(Identity).where(Identity.person_id == chat.person("王芳").id))
    await own(chat, HENGYUAN, "张伟")
    await chat.say("张伟", "发起合同审批 恒远化工 50万")
    await chat.should_send("张伟", card=f"{NAME}：待上传合同")
    assert [s.approver_id for s in await steps(chat)][0] == chat.person("刘强").id


async def test_a_later_approver_cannot_press_an_earlier_step(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    await chat.press("周建国", first, "cok")  # in the chain, but 财务信用评估 has not started
    await chat.should_send("周建国", text="只能由「法务初审」的审批人王芳操作")
    await chat.settle()
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.waiting, ApprovalStepStatus.queued,
                                                     ApprovalStepStatus.queued]


async def test_a_withdrawn_request_frees_the_customer_and_retires_the_approvers_card(chat: Chat, tmp_path: Path) -> None:
    await own(chat, HENGYUAN, "张伟")
    await chat.say("张伟", "发起合同审批 恒远化工 50万")
    draft = await chat.should_send("张伟", card=f"{NAME}：待上传合同")
    await chat.press("张伟", draft, "cwithdraw")  # a typo in the amount: take it back before sending the file
    await chat.should_send("张伟", card="#1", where=lambda c: "已撤回" in c.title)
    assert (await people_of(chat.service))["张伟"].awaiting_card_id is None  # a file sent now is no contract
    first = await submitted(chat, tmp_path, text="发起合同审批 恒远化工 55万")  # the customer is free again
    mine = await chat.should_send("张伟", card=f"合同审批 #2 · {NAME}：法务初审审批中")
    await chat.press("王芳", first, "crej_ask")  # she meant to reject, but …
    await chat.press("张伟", mine, "cwithdraw")
    await chat.should_send("王芳", text="张伟撤回了合同审批 #2，「法务初审」无需再审批")
    retired = await chat.should_send("王芳", card="合同审批 #2 · 法务初审", where=lambda c: "申请人已撤回" in c.title)
    assert not retired.offered
    await chat.say("王芳", "价格太低")  # … her reply comes after the withdrawal
    await chat.should_send("王芳", text="申请人已撤回这份申请，未做任何修改")
    assert "处理 0 项" in await chat.run("contract_overdue", chat.clock.now() + timedelta(days=2))
    assert [r.status for r in await requests(chat)] == [ContractStatus.withdrawn, ContractStatus.withdrawn]
    assert (await requests(chat))[1].reason == "申请人撤回"
    await chat.say("王芳", "我的合同审批")
    assert "等我审批" not in (await chat.should_send("王芳", text="合同审批")).text


async def test_a_reject_needs_a_short_reason(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    await chat.press("王芳", first, "crej", "   ")
    await chat.should_send("王芳", card="法务初审", where=lambda c: "驳回需要写明原因" in c.text)
    await chat.press("王芳", first, "crej", "太" * 101)
    await chat.should_send("王芳", card="法务初审", where=lambda c: "原因请控制在100字以内" in c.text)
    assert (await steps(chat))[0].status == ApprovalStepStatus.waiting
    await chat.press("王芳", first, "crej", "金额与报价单不符")
    await chat.should_send("张伟", text="被王芳驳回：金额与报价单不符")
    [req] = await requests(chat)
    assert req.status == ContractStatus.rejected and req.reason == "金额与报价单不符"


async def test_the_contract_file_reaches_the_approver_and_the_button_asks_for_it_again(chat: Chat, tmp_path: Path) -> None:
    await own(chat, HENGYUAN, "张伟")
    await chat.say("张伟", "发起合同审批 恒远化工 金额50万")
    card = await chat.should_send("张伟", card=f"{NAME}：待上传合同")
    chat.clock.set(chat.clock.now() + timedelta(minutes=11))  # the wait for the file has lapsed
    await chat.press("张伟", card, "cfile")
    await chat.should_send("张伟", card=f"{NAME}：待上传合同", where=lambda c: "请直接在聊天里发送合同文件" in c.text)
    await chat.send_file("张伟", pdf(tmp_path, "hengyuan-contract.pdf"))
    await chat.should_send("张伟", text="合同文件已收到，已提交「法务初审」（王芳）")
    approval = await chat.should_send("王芳", card="法务初审（1/3）：待你审批")
    assert approval.facts["合同文件"] == "hengyuan-contract.pdf"
    files = [m.raw["file"]["name"] for m in await chat.seen("王芳") if not m.is_card and m.raw.get("type") == "file"]
    assert files == ["hengyuan-contract.pdf"]
    [req] = await requests(chat)
    assert req.attachment["kind"] == "file" and req.attachment["sha256"]


async def test_a_redelivered_press_changes_nothing(chat: Chat, tmp_path: Path) -> None:
    first = await submitted(chat, tmp_path)
    body = {"person_id": chat.person("王芳").id, "client_id": uuid.uuid4().hex, "card_id": first.card_id,
            "action": "cok", "value": ""}
    assert isinstance(chat, LocalChat)
    for _ in range(2):  # the same press delivered twice (a client retry)
        r = await chat.client.post("/local/api/action", json=body)
        assert r.status == 200
    await chat.should_send("周建国", card="财务信用评估（2/3）：待你审批")
    await chat.settle()
    assert [s.status for s in await steps(chat)] == [ApprovalStepStatus.approved, ApprovalStepStatus.waiting, ApprovalStepStatus.queued]
    assert await card_count(chat, "contract_step") == 2
    assert not [t for t in await chat.texts("王芳") if "未做任何修改" in t]


async def test_my_contracts_shows_how_long_each_step_waited(chat: Chat, tmp_path: Path) -> None:
    await approve_first(chat, tmp_path)
    chat.clock.set(chat.clock.now() + timedelta(hours=2, minutes=30))
    await chat.say("张伟", "我的合同审批")
    mine = (await chat.should_send("张伟", text="我发起的合同审批")).text
    assert f"#1 {NAME} 50万元 · 审批中" in mine
    assert "1. 法务初审 · 王芳 · 已同意，用时不到1分钟" in mine
    assert "2. 财务信用评估 · 周建国 · 已等待2小时30分，10:00起等待（时限24小时）" in mine
    await chat.say("周建国", "我的合同审批")
    theirs = (await chat.should_send("周建国", text="等我审批")).text
    assert f"#1 {NAME} 50万元 · 财务信用评估 · 已等待2小时30分" in theirs
    await chat.say("李娜", "我的合同审批")
    await chat.should_send("李娜", text="你还没有合同审批")


async def test_the_last_approval_publishes_contract_approved(chat: Chat, tmp_path: Path) -> None:
    heard: list[ContractApproved] = []

    async def listen(ctx: Context, event: ContractApproved) -> None:
        heard.append(event)

    chat.service.router.subscriptions.setdefault(ContractApproved, []).append(listen)
    await approve_first(chat, tmp_path)
    assert heard == []
    await chat.press("周建国", await chat.should_send("周建国", card="财务信用评估（2/3）"), "cok")
    await chat.press("周建国", await chat.should_send("周建国", card="用印（3/3）"), "cok")
    await chat.should_send("张伟", text="已全部通过")
    [event] = heard
    assert (event.request_id, event.customer_id, event.rep_id, event.amount) == (1, HENGYUAN, chat.person("张伟").id, 500_000)
