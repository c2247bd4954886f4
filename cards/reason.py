"""The reason card: a supervisor picks why each of a rep's must-dos stayed unfinished, by the deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cards.model import Button, Card, Fact, Input
from cards.must_do import day_label

REASONS = {"change": "客户临时变更", "docs": "资料未齐", "permission": "权限不足", "other": "其他"}


@dataclass
class ReasonItem:
    id: int
    title: str
    reason: str | None = None
    note: str | None = None
    by_name: str = ""
    late: bool = False  # answered after the deadline


@dataclass
class ReasonView:
    rep_name: str
    day: date
    deadline: str  # "17:00"
    items: list[ReasonItem] = field(default_factory=list)
    escalated_from: str = ""  # the supervisor who did not answer in time (on the escalated copy)
    problem: str = ""


def reason_label(code: str | None, note: str | None) -> str:
    label = REASONS.get(code or "", "")
    return f"{label}：{note}" if code == "other" and note else label


def build_reason(v: ReasonView) -> Card:
    lines = []
    for n, i in enumerate(v.items, 1):
        if i.reason:
            who = f"（{i.by_name}{'，逾期填写' if i.late else ''}）" if i.by_name else ""
            lines.append(f"✅ {n}. {i.title} → {reason_label(i.reason, i.note)}{who}")
        else:
            lines.append(f"🔴 {n}. {i.title}")
    facts = [Fact("销售", v.rep_name), Fact("日期", day_label(v.day)), Fact("截止", f"今天 {v.deadline}")]
    if v.escalated_from:
        facts.append(Fact("上报自", f"{v.escalated_from}（未按时填写）"))
    current = next((i for i in v.items if not i.reason), None)
    if current is None:
        return Card(kind="reason", title=f"✅ {v.rep_name}的未完成事项原因已填写", color="green", facts=facts,
                    lines=lines, note=v.problem)
    n = v.items.index(current) + 1
    buttons = [Button(f"reason:{current.id}:{code}", label, "default", "reason")
               for code, label in REASONS.items() if code != "other"]
    inputs = [Input("note", "text", "其他（请简述原因）", f"other:{current.id}")]
    subtitle = (f"{v.escalated_from}未在{v.deadline}前填写，请你选择原因" if v.escalated_from
                else f"请在{v.deadline}前为每件选择原因，未填将上报上级")
    return Card(kind="reason", title=f"🔴 {v.rep_name}：{len(v.items)}件必做未完成", color="red", subtitle=subtitle,
                facts=facts, lines=lines + [f"👉 现在填写第{n}件：{current.title}"], buttons=buttons, inputs=inputs,
                note=v.problem or "选「其他」需要在输入框里写一句说明")
