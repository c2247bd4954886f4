"""The supervisor's team board: each rep's must-do progress today, red items and overdue reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cards.model import Card, Color, Fact
from cards.must_do import day_label


@dataclass
class RepProgress:
    name: str
    chosen: int = 0  # items in today's set (0 = not picked yet)
    auto: int = 0  # of those, put in by the end-of-day run because the rep never picked
    done: int = 0
    red: int = 0
    reasons_missing: int = 0  # red items still without a reason
    escalated: int = 0  # red items whose reason was not given by the deadline


@dataclass
class BoardView:
    supervisor_name: str
    day: date
    count: int
    reps: list[RepProgress] = field(default_factory=list)
    escalated_to: str = ""  # who got the escalations (the supervisor's own supervisor)


def build_team_board(v: BoardView) -> Card:
    lines = []
    for r in v.reps:
        if not r.chosen:
            lines.append(f"{r.name}：还没选今日{v.count}件")
            continue
        line = f"{r.name}：✅{r.done}/{r.chosen}"
        if r.auto:
            line = f"{r.name}：未选定（系统按建议计入{r.auto}件）· ✅{r.done}/{r.chosen}"
        if r.red:
            line += f" · 🔴{r.red}"
            if r.reasons_missing:
                line += f"（{r.reasons_missing}件待填原因）"
        lines.append(line)
    escalated = sum(r.escalated for r in v.reps)
    picked = [r for r in v.reps if r.chosen and not r.auto]  # only a rep's own choice counts as picked
    unpicked = [r.name for r in v.reps if r not in picked]
    items = sum(r.chosen for r in v.reps)
    facts = [
        Fact("已选定", f"{len(picked)}/{len(v.reps)}人"),
        Fact("已完成", f"{sum(r.done for r in v.reps)}/{items}件"),
        Fact("红灯", f"{sum(r.red for r in v.reps)}件"),
    ]
    if unpicked:
        facts.append(Fact("未选定", "、".join(unpicked)))
    note = ""
    if escalated:
        facts.append(Fact("原因逾期", f"{escalated}件"))
        note = f"⚠ {escalated}件红灯未在截止时间前填写原因" + (f"，已上报{v.escalated_to}" if v.escalated_to else "")
    color: Color = "red" if escalated else ("yellow" if any(r.red for r in v.reps) else "blue")
    return Card(kind="team_board", title=f"📋 团队今日必做 · {day_label(v.day)}", color=color,
                subtitle=f"{v.supervisor_name}的团队", facts=facts, lines=lines, note=note)
