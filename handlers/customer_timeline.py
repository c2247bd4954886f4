"""One customer's history in time order: records, cross-role tasks, approvals, evidence and stage changes.

Each source is read newest first with its own limit (indexed on customer and time), then merged, so the
chat card's last few items and the page's longer list cost the same whatever the customer's age. Who may
see it is decided here too, from the database: the owner, the owner's supervisors up the tree, the
assignees of the customer's tasks, and managers — nobody else, whatever link they hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cards.confirmation import TYPE_LABELS, fmt_money
from handlers.people import supervisor_chain
from handlers.rhythm import REAL
from handlers.understanding.collab import ROLE_LABELS
from storage.models import (
    ActionRecord,
    ApprovalStep,
    ChecklistItem,
    ContractRequest,
    Customer,
    Person,
    Role,
    StageChange,
    Task,
    TaskStatus,
)

KINDS = {"record": "记录", "task": "协同", "approval": "审批", "evidence": "凭证", "stage": "阶段"}
EVIDENCE_LABELS = {"image": "照片", "voice": "语音", "file": "文件", "location": "定位"}


@dataclass(frozen=True)
class Item:
    at: datetime
    kind: str  # record | task | approval | evidence | stage
    text: str
    who: str = ""


async def may_see(session: AsyncSession, person: Person, customer: Customer) -> bool:
    """The owner, anyone above the owner, an assignee of one of its tasks, or a manager."""
    if person.role == Role.manager or (customer.owner_id is not None and person.id == customer.owner_id):
        return True
    if customer.owner_id is not None and any(p.id == person.id for p in await supervisor_chain(session, customer.owner_id)):
        return True
    hit = (await session.execute(select(col(Task.id)).where(
        col(Task.customer_id) == customer.id, col(Task.assignee_id) == person.id).limit(1))).first()
    return hit is not None


async def items(session: AsyncSession, customer_id: str, limit: int) -> list[Item]:
    """The newest ``limit`` items of every kind, merged, newest first."""
    names: dict[int, str] = {}

    async def name(pid: int | None) -> str:
        if pid is None:
            return ""
        if pid not in names:
            p = await session.get(Person, pid)
            names[pid] = p.name if p else "?"
        return names[pid]

    out: list[Item] = []
    records = (await session.execute(select(ActionRecord).where(
        col(ActionRecord.customer_id) == customer_id, col(ActionRecord.status).in_(REAL))
        .order_by(col(ActionRecord.created_at).desc()).limit(limit))).scalars().all()
    for r in records:
        flag = "（待核实）" if r.status.value == "to_verify" else ""
        out.append(Item(r.created_at, "record", f"{TYPE_LABELS.get(r.type.value, r.type.value)}{flag}：{r.text[:80]}",
                        await name(r.rep_id)))
        for e in r.evidence:
            label = EVIDENCE_LABELS.get(str(e.get("kind")), "凭证")
            at = _parse(e.get("at")) or r.created_at
            out.append(Item(at, "evidence", f"{label}{('「' + str(e['name']) + '」') if e.get('name') else ''}"
                            f"（附在「{r.text[:20]}」）", await name(r.rep_id)))
    tasks = (await session.execute(select(Task).where(col(Task.customer_id) == customer_id)
                                   .order_by(col(Task.created_at).desc()).limit(limit))).scalars().all()
    for t in tasks:
        role = ROLE_LABELS.get(t.role, t.role)
        out.append(Item(t.created_at, "task", f"请{role}{await name(t.assignee_id)}协同：{t.title}（{t.stage}）",
                        await name(t.requested_by)))
        if t.status == TaskStatus.done and t.done_at is not None:
            result = t.note or f"附件「{t.attachment.get('name') or '照片'}」"
            out.append(Item(t.done_at, "task", f"{role}完成协同：{result}", await name(t.assignee_id)))
    stages = (await session.execute(select(StageChange).where(col(StageChange.customer_id) == customer_id)
                                    .order_by(col(StageChange.at).desc()).limit(limit))).scalars().all()
    for s in stages:
        why = f"（主管放行：{s.override_reason}）" if s.override_reason else ""
        out.append(Item(s.at, "stage", f"{s.old} → {s.new}{why}", await name(s.by_id)))
    checks = (await session.execute(select(ChecklistItem).where(
        col(ChecklistItem.customer_id) == customer_id, col(ChecklistItem.status) == "done",
        col(ChecklistItem.done_at).is_not(None)).order_by(col(ChecklistItem.done_at).desc()).limit(limit))).scalars().all()
    for c in checks:
        kind = EVIDENCE_LABELS.get(str(c.evidence.get("kind")), "") if c.evidence else ""
        assert c.done_at is not None
        out.append(Item(c.done_at, "evidence", f"☑ {c.stage}·{c.title}" + (f"（{kind}）" if kind else ""),
                        await name(c.done_by)))
    requests = (await session.execute(select(ContractRequest).where(col(ContractRequest.customer_id) == customer_id)
                                      .order_by(col(ContractRequest.created_at).desc()).limit(limit))).scalars().all()
    for q in requests:
        out.append(Item(q.created_at, "approval", f"发起合同审批 #{q.id}（{fmt_money(q.amount)}）", await name(q.rep_id)))
        steps = (await session.execute(select(ApprovalStep).where(
            col(ApprovalStep.request_id) == q.id, col(ApprovalStep.decided_at).is_not(None)))).scalars().all()
        for st in steps:
            assert st.decided_at is not None
            verdict = "同意" if st.status.value == "approved" else f"驳回：{st.note or ''}"
            out.append(Item(st.decided_at, "approval", f"合同审批 #{q.id} · {st.name}：{verdict}",
                            await name(st.approver_id)))
    out.sort(key=lambda i: i.at, reverse=True)
    return out[:limit]


def _parse(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None
