"""The timeline card: a customer's last items of every kind (records, tasks, approvals, evidence, stage
changes) and a link to the whole history on a page."""

from __future__ import annotations

from cards.model import Card, Fact

KIND = "timeline"


def build_timeline(customer: str, stage: str, owner: str, lines: list[str], link: str = "") -> Card:
    return Card(kind=KIND, title=f"📋 {customer} 最近进展", color="blue",
                facts=[Fact("阶段", stage), Fact("负责人", owner or "未分配")],
                lines=lines or ["还没有记录、任务或审批。"],
                note=f"完整时间线（仅负责这个客户的人可打开）：{link}" if link else "")
