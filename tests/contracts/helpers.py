"""Shared steps of the contract tests: give the rep the customer, start a request, read its rows back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from storage.models import ApprovalStep, Card, ContractRequest, Customer
from tests.evidence.photos import photo
from tests.harness import Chat, Seen

HENGYUAN, NAME = "D002", "江苏恒远化工有限公司"


async def own(chat: Chat, customer_id: str, owner: str) -> None:
    async with chat.service.db.write() as s:
        await s.execute(update(Customer).where(Customer.id == customer_id).values(owner_id=chat.person(owner).id))


async def submitted(chat: Chat, tmp: Path, rep: str = "张伟", text: str = "发起合同审批 恒远化工 金额50万") -> Seen:
    """The rep asks, then sends the contract (a photo of the signed pages: every platform can send one);
    returns the first approver's card."""
    await own(chat, HENGYUAN, rep)
    await chat.say(rep, text)
    await chat.should_send(rep, card=f"{NAME}：待上传合同", where=lambda c: "请直接在聊天里发送合同文件" in c.text)
    await chat.send_photo(rep, photo(tmp / "contract.jpg", taken="2026:11:24 09:58:00"))
    await chat.should_send(rep, text="合同文件已收到")
    return await chat.should_send("王芳", card="法务初审（1/3）：待你审批")


async def requests(chat: Chat) -> list[ContractRequest]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(ContractRequest).order_by(ContractRequest.id))).scalars())


async def steps(chat: Chat, request_id: int = 1) -> list[ApprovalStep]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(ApprovalStep).where(ApprovalStep.request_id == request_id)
                                     .order_by(ApprovalStep.idx))).scalars())


async def card_count(chat: Chat, kind: str) -> int:
    async with chat.service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(Card).where(Card.kind == kind))).scalar_one())
