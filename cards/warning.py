"""Red/yellow warning cards (stale lead, new lead not contacted, overdue next touch) and their end states."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card, Color, Fact, Input
from cards.reason import REASONS


@dataclass
class WarningView:
    kind: str  # stale_lead | first_contact | overdue
    level: str  # nudge | yellow | red
    customer_name: str
    owner_name: str
    facts: list[Fact] = field(default_factory=list)
    hours: int = 0  # stale / first contact: hours without a touch
    workdays: int = 0  # overdue: workdays past the planned touch
    status: str = "open"  # open | cleared | blocked
    block_label: str = ""  # e.g. "资料未齐（王芳）"
    can_block: bool = False  # the audience is in the owner's supervisor chain
    problem: str = ""


def span(hours: int) -> str:
    """How long, as a rep says it: hours within a day, whole days after ("已6天", not "已154小时")."""
    return f"{hours}小时" if hours < 24 else f"{hours // 24}天"


def _title(v: WarningView) -> tuple[str, Color]:
    c = v.customer_name
    if v.kind == "stale_lead":
        return f"🔴 红灯：{c} 已{span(v.hours)}无跟进", "red"
    if v.kind == "first_contact":
        if v.level == "red":
            return f"🔴 新线索{v.hours}小时仍未联系：{c}", "red"
        return f"🟡 新线索超过{v.hours}小时未首次联系：{c}", "yellow"
    if v.level == "nudge":
        return f"⏰ 今天该跟进：{c}", "blue"
    if v.level == "yellow":
        return f"🟡 跟进已逾期：{c}", "yellow"
    return f"🔴 红灯：{c} 跟进逾期{v.workdays}个工作日", "red"


def build_warning(v: WarningView) -> Card:
    title, color = _title(v)
    facts = [Fact("客户", v.customer_name), Fact("负责人", v.owner_name), *v.facts]
    if v.status == "cleared":
        return Card(kind="warning", title=f"✅ 已解除：{v.customer_name} 有了新的动作记录", color="green",
                    facts=facts, note="原预警：" + title)
    if v.status == "blocked":
        return Card(kind="warning", title=f"⏸ 已设阻塞原因：{v.customer_name}", color="grey", facts=facts,
                    lines=[f"阻塞原因：{v.block_label}"], note="有新的动作记录时自动解除")
    buttons: list[Button] = []
    inputs: list[Input] = []
    note = "记录一次真实跟进即可解除"
    if v.can_block:
        buttons = [Button(f"block:{code}", label, "default", "block") for code, label in REASONS.items()
                   if code != "other"]
        inputs = [Input("note", "text", "其他阻塞原因（请简述）", "block:other")]
        note = "确有客观阻塞时，可设置阻塞原因暂停预警；下一次真实动作会清除它"
    return Card(kind="warning", title=title, color=color, facts=facts, buttons=buttons, inputs=inputs,
                note=v.problem or note)
