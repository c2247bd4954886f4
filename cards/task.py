"""Cross-role task cards: the rep's proposal (which role and person to ask), the assignee's task card
(accept / done with a note or attachment), the read-only copies, and the overdue warning."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card, Color, Fact, Input

PROPOSAL_KIND = "task_proposal"
KIND = "task"
COPY_KIND = "task_copy"
OVERDUE_KIND = "task_overdue"
STATUS_LABELS = {"open": "待接受", "accepted": "处理中", "done": "已完成", "cancelled": "已取消"}


@dataclass
class Proposal:
    role: str
    label: str  # 售前
    person: str  # who the rules picked ("" when the role has nobody)
    why: str  # 技能「API对接」，在办任务1件
    needs: list[str] = field(default_factory=list)
    asked: str = ""  # the task's assignee when it was already created


@dataclass
class ProposalView:
    customer: str
    stage: str
    text: str
    proposals: list[Proposal]
    all_roles: bool = False  # the rep asked for every role (「其他角色」or 需要协同)
    skipped: bool = False
    problem: str = ""


def build_proposal(v: ProposalView) -> Card:
    """What the rep sees after a record that needs another role: one tap asks the proposed person."""
    facts = [Fact("客户", f"{v.customer}（{v.stage}）")]
    lines = [f"原话：{v.text[:120]}"]
    for p in v.proposals:
        if p.asked:
            lines.append(f"✅ 已请{p.label}{p.asked}协同")
        elif p.person:
            lines.append(f"• {p.label}：{p.person}（{p.why}）" + (f" — {'、'.join(p.needs)}" if p.needs else ""))
        else:
            lines.append(f"• {p.label}：暂无可分配的人")
    if v.skipped:
        return Card(kind=PROPOSAL_KIND, title=f"🤝 协同建议：{v.customer}", color="grey", facts=facts, lines=lines,
                    note="已选择不需要协同；需要时可在记录卡片上点「需要协同」")
    buttons = [Button(f"ask:{p.role}", f"请{p.label}{p.person}协同", "primary" if n == 0 else "default")
               for n, p in enumerate(q for q in v.proposals if q.person and not q.asked)]
    if not v.all_roles:
        buttons.append(Button("roles", "其他角色"))
    if not any(p.asked for p in v.proposals):
        buttons.append(Button("skip", "不需要"))
    done = bool(v.proposals) and all(p.asked or not p.person for p in v.proposals)
    return Card(kind=PROPOSAL_KIND, title=f"🤝 需要协同？{v.customer}", color="green" if done else "blue",
                subtitle="按技能和在办任务推荐；发起后对方会收到任务卡片", facts=facts, lines=lines, buttons=buttons,
                note=v.problem)


@dataclass
class TaskView:
    task_id: int
    customer: str
    stage: str
    role_label: str
    title: str
    need: str
    assignee: str
    requester: str
    status: str  # open | accepted | done | cancelled
    created: str  # local "MM-DD HH:MM"
    due: str
    overdue: bool = False
    accepted: str = ""
    done: str = ""
    took: str = ""  # created → done, e.g. 5.5小时
    note: str = ""
    attachment: str = ""
    asking: bool = False  # the assignee pressed 完成 and the next message is the result
    problem: str = ""


def _facts(v: TaskView) -> list[Fact]:
    facts = [Fact("客户", f"{v.customer}（{v.stage}）"), Fact("需求", v.need), Fact("发起人", v.requester),
             Fact("负责人", f"{v.role_label} · {v.assignee}"), Fact("状态", STATUS_LABELS.get(v.status, v.status)),
             Fact("发起时间", v.created), Fact("时限", v.due + ("（已超时）" if v.overdue else ""))]
    if v.done:
        facts.append(Fact("完成时间", f"{v.done}（用时{v.took}）"))
    if v.note:
        facts.append(Fact("完成说明", v.note))
    if v.attachment:
        facts.append(Fact("附件", v.attachment))
    return facts


def _title(v: TaskView) -> str:
    return f"协同任务 #{v.task_id} · {v.role_label} · {v.customer}"


def build_task(v: TaskView) -> Card:
    """The assignee's card: accept, then done with a note (typed, or replied) or a file/photo as the result."""
    lines = [f"「{v.title}」"]
    if v.status == "done":
        return Card(kind=KIND, title=f"✅ {_title(v)}：已完成", color="green", facts=_facts(v), lines=lines,
                    note="结果已同步给发起人")
    if v.status == "cancelled":
        return Card(kind=KIND, title=f"{_title(v)}：已取消", color="grey", facts=_facts(v), lines=lines)
    buttons = [] if v.status == "accepted" else [Button("taccept", "接受", "primary")]
    buttons.append(Button("tdone_ask", "完成（回复说明或发附件）", "default" if v.status == "open" else "primary"))
    note = "完成时写一句结果，或直接发文件/照片作为附件"
    if v.asking:
        note = "👉 请直接回复一句完成说明，或发送文件/照片作为附件（10分钟内）"
    color: Color = "red" if v.overdue else ("yellow" if v.status == "open" else "blue")
    head = "🆕" if v.status == "open" else "🔧"
    return Card(kind=KIND, title=f"{head} {_title(v)}：{STATUS_LABELS[v.status]}", color=color,
                subtitle=f"{v.requester}请你协同", facts=_facts(v), lines=lines, buttons=buttons,
                inputs=[Input("note", "text", "完成说明", "tdone")], note=v.problem or note)


def build_copy(v: TaskView) -> Card:
    """The requester's and the delivery lead's copy: the same facts, no buttons, updated as the task moves."""
    color: Color = "green" if v.status == "done" else ("red" if v.overdue else "blue")
    return Card(kind=COPY_KIND, title=f"📋 {_title(v)}：{STATUS_LABELS.get(v.status, v.status)}", color=color,
                facts=_facts(v), lines=[f"「{v.title}」"], note="抄送：任务状态变化时这张卡片会更新")


def build_overdue(v: TaskView, for_assignee: bool) -> Card:
    ask = "请尽快处理，完成后在任务卡片上点「完成」" if for_assignee else f"请跟进{v.assignee}的处理进度"
    return Card(kind=OVERDUE_KIND, title=f"⏰ 协同任务超时：{v.customer} · {v.role_label}", color="red",
                subtitle=f"时限{v.due}已过，{v.assignee}尚未完成", facts=_facts(v), lines=[f"「{v.title}」"], note=ask)
