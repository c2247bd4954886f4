"""Contract approval cards: the requester's card (it follows the chain step by step), each approver's
approve / reject card, and the warning sent when a step waits longer than its limit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cards.confirmation import fmt_money
from cards.model import Button, Card, Color, Fact, Input

KIND = "contract"  # the requester's card
STEP_KIND = "contract_step"  # an approver's card
OVERDUE_KIND = "contract_overdue"  # the warning of a stuck step (no buttons)
ICONS = {"queued": "⬜", "waiting": "⏳", "approved": "✅", "rejected": "⛔"}
WITHDRAW = Button("cwithdraw", "撤回申请", "danger")


def fmt_wait(d: timedelta) -> str:
    """A wait as people say it: 5分钟, 2小时5分, 1天3小时."""
    minutes = max(0, int(d.total_seconds() // 60))
    if minutes < 1:
        return "不到1分钟"
    if minutes < 60:
        return f"{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}小时" + (f"{rest}分" if rest else "")
    days, hours = divmod(hours, 24)
    return f"{days}天" + (f"{hours}小时" if hours else "")


def fmt_hours(h: float) -> str:
    return f"{h:g}小时"


@dataclass
class StepLine:
    name: str
    approver: str
    status: str  # queued | waiting | approved | rejected
    limit_hours: float
    waited: timedelta | None = None  # waiting: so far; decided: how long it took
    overdue: bool = False
    note: str = ""
    since: str = ""  # local start time of the step ("14:05", or "12-03 14:05" when not today)


def step_line(n: int, s: StepLine, live: bool = False) -> str:
    """One step as a line. A card is a snapshot that stays in the chat, so a waiting step shows since when it
    waits; ``live`` (an answer computed now, like 「我的合同审批」) also says for how long."""
    head = f"{ICONS.get(s.status, '⬜')} {n}. {s.name} · {s.approver}"
    waited = fmt_wait(s.waited) if s.waited is not None else ""
    match s.status:
        case "approved":
            return f"{head} · 已同意，用时{waited}"
        case "rejected":
            return f"{head} · 已驳回（用时{waited}）：{s.note}"
        case "waiting":
            late = "，⚠️ 已超时" if s.overdue else ""
            how_long = f"已等待{waited}，" if live else ""
            return f"{head} · {how_long}{s.since}起等待（时限{fmt_hours(s.limit_hours)}{late}）"
    return f"{head}（时限{fmt_hours(s.limit_hours)}）"


@dataclass
class ContractView:
    request_id: int
    customer: str
    amount: int
    requester: str
    status: str  # draft | pending | approved | rejected | withdrawn
    steps: list[StepLine] = field(default_factory=list)
    attachment: str = ""  # the contract file's name
    created: str = ""  # local "MM-DD HH:MM"
    reason: str = ""
    total: timedelta | None = None  # from the file's arrival to the end (closed requests)
    asking_file: bool = False
    problem: str = ""


def _facts(v: ContractView) -> list[Fact]:
    facts = [Fact("客户", v.customer), Fact("金额", fmt_money(v.amount)), Fact("申请人", v.requester)]
    facts.append(Fact("合同文件", v.attachment or "未上传"))
    if v.created:
        facts.append(Fact("发起时间", v.created))
    return facts


def _lines(v: ContractView) -> list[str]:
    return [step_line(n, s) for n, s in enumerate(v.steps, 1)]


def build_request(v: ContractView) -> Card:
    """The requester's card: asks for the file, then shows every step's wait until the chain ends."""
    title = f"合同审批 #{v.request_id} · {v.customer}"
    facts, lines = _facts(v), _lines(v)
    if v.status == "draft":
        note = ("👉 请直接在聊天里发送合同文件（PDF、Word 或照片），10分钟内有效" if v.asking_file
                else "发送合同文件后提交审批；超过10分钟请先点「上传合同文件」")
        return Card(kind=KIND, title=f"📄 {title}：待上传合同", color="blue", subtitle="收到合同文件后依次送审", facts=facts,
                    lines=lines, buttons=[Button("cfile", "📎 上传合同文件", "primary"), WITHDRAW], note=v.problem or note)
    if v.status == "approved":
        took = f"，全程用时{fmt_wait(v.total)}" if v.total is not None else ""
        return Card(kind=KIND, title=f"✅ {title}：审批通过", color="green", facts=facts, lines=lines,
                    note=f"全部{len(v.steps)}步已同意{took}")
    if v.status == "withdrawn":
        return Card(kind=KIND, title=f"↩️ {title}：已撤回", color="grey", facts=facts, lines=lines,
                    note="需要时请重新发起：发起合同审批 客户名 金额")
    if v.status == "rejected":
        return Card(kind=KIND, title=f"⛔ {title}：已驳回", color="grey", facts=facts + [Fact("驳回原因", v.reason)],
                    lines=lines, note="可修改合同后重新发起：发起合同审批 客户名 金额")
    current = next((s for s in v.steps if s.status == "waiting"), None)
    color: Color = "red" if current and current.overdue else "yellow"
    return Card(kind=KIND, title=f"⏳ {title}：{current.name if current else ''}审批中", color=color, facts=facts,
                lines=lines, buttons=[WITHDRAW], note=v.problem or "发「我的合同审批」查看每一步已等待多久")


@dataclass
class ApprovalView:
    request: ContractView
    step_idx: int  # 0-based: which step this card is for
    status: str  # this step's status (queued never shows: a card is sent when the step starts)
    by: str = ""
    asking_reason: bool = False
    problem: str = ""


def build_approval(v: ApprovalView) -> Card:
    """An approver's card: approve, or reject with a reason (typed in the input or as a reply)."""
    r = v.request
    step = r.steps[v.step_idx]
    title = f"合同审批 #{r.request_id} · {step.name}（{v.step_idx + 1}/{len(r.steps)}）"
    facts = _facts(r) + [Fact("本步时限", fmt_hours(step.limit_hours))]
    lines = _lines(r)
    if r.status == "withdrawn" and v.status == "waiting":
        return Card(kind=STEP_KIND, title=f"↩️ {title}：申请人已撤回", color="grey", facts=facts, lines=lines,
                    note="无需再审批")
    if v.status == "approved":
        return Card(kind=STEP_KIND, title=f"✅ {title}：已同意", color="green", facts=facts, lines=lines,
                    note="已转下一步" if v.step_idx + 1 < len(r.steps) else "审批链已完成")
    if v.status == "rejected":
        return Card(kind=STEP_KIND, title=f"⛔ {title}：已驳回", color="grey", facts=facts + [Fact("驳回原因", step.note)],
                    lines=lines, note=f"已退回{r.requester}")
    note = "请查看合同文件后选择；驳回需要写明原因"
    if v.asking_reason:
        note += "\n👉 请直接回复一句驳回原因（10分钟内）"
    return Card(kind=STEP_KIND, title=f"🖋️ {title}：待你审批", color="red" if step.overdue else "yellow",
                subtitle=f"{r.requester}申请{r.customer}的合同，{fmt_money(r.amount)}", facts=facts, lines=lines,
                buttons=[Button("cok", "同意", "primary"), Button("crej_ask", "驳回（回复原因）", "danger")],
                inputs=[Input("reason", "text", "驳回原因（必填）", "crej")], note=v.problem or note)


def build_overdue(r: ContractView, step_idx: int, for_approver: bool) -> Card:
    """The once-per-step warning: to the approver (please decide) and to the requester's supervisor (please chase)."""
    step = r.steps[step_idx]
    ask = "请尽快在审批卡片上处理" if for_approver else f"请督促{step.approver}处理"
    waited = fmt_wait(step.waited) if step.waited is not None else ""
    return Card(kind=OVERDUE_KIND, title=f"⏰ 合同审批超时：{r.customer} · {step.name}", color="red",
                subtitle=f"{step.approver}已等待{waited}，超过时限{fmt_hours(step.limit_hours)}",
                facts=_facts(r), lines=_lines(r), note=ask)
