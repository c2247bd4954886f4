"""The morning card "今日3件必做": ranked proposals to pick from, then the chosen items with "done" buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cards.model import Button, Card, Color, Input

WEEKDAYS = "一二三四五六日"
SOURCE_LABELS = {
    "overdue": "逾期跟进",
    "stale": "久未跟进",
    "new": "新线索",
    "checklist": "待办检查",
    "today": "今日计划",
    "custom": "自己添加",
}
MARKS = {"done": "✅", "red": "🔴", "open": "⬜"}
NEVER_PICKED = "（未选定，系统按建议计入）"


@dataclass
class MustDoItem:
    id: int
    title: str
    status: str  # open | done | red | dropped
    source: str
    chosen: bool = False  # one of today's set, not just a proposal
    auto: bool = False  # put into the set at the end of the day because the rep never picked

    @property
    def label(self) -> str:
        return f"{self.title}{NEVER_PICKED if self.auto else ''}"


@dataclass
class MustDoView:
    rep_name: str
    day: date
    count: int
    items: list[MustDoItem] = field(default_factory=list)
    locked: bool = False  # the rep confirmed the set (or the day closed)
    closed: bool = False  # end of day: no more presses
    problem: str = ""


def short(text: str, n: int = 16) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def day_label(d: date) -> str:
    return f"{d.month}月{d.day}日（周{WEEKDAYS[d.weekday()]}）"


def build_must_do(v: MustDoView) -> Card:
    if not v.locked:
        return _picking(v)
    chosen = [i for i in v.items if i.chosen]
    done = sum(i.status == "done" for i in chosen)
    red = sum(i.status == "red" for i in chosen)
    lines = [f"{MARKS.get(i.status, '⬜')} {n}. {i.label}" for n, i in enumerate(chosen, 1)]
    buttons = [] if v.closed else [
        Button(f"done:{i.id}", f"完成 {n}. {short(i.title.split('：')[0], 10)}", "primary", "done")
        for n, i in enumerate(chosen, 1) if i.status == "open"
    ]
    color: Color
    if red:
        color, title, note = "red", f"🔴 今日{v.count}件必做：{red}件未完成", "未完成的事项已转给主管填写原因"
    elif done == len(chosen) and chosen:
        color, title, note = "green", f"🎉 今日{v.count}件必做全部完成", ""
    else:
        color, title = "blue", f"📌 今日{v.count}件必做"
        note = "做完点「完成」；发来对应客户的动作记录也会自动打勾"
    return Card(kind="must_do", title=title, color=color, subtitle=f"{v.rep_name} · {day_label(v.day)} · 已完成 {done}/{len(chosen)}",
                lines=lines, buttons=buttons, note=v.problem or note)


def _picking(v: MustDoView) -> Card:
    offered = [i for i in v.items if i.status != "dropped"]
    chosen = sum(i.chosen for i in offered)
    lines = []
    for n, i in enumerate(offered, 1):
        mark = "✅ " if i.status == "done" else ""
        lines.append(f"{n}. {mark}【{SOURCE_LABELS.get(i.source, i.source)}】{i.title}")
    if not offered:
        lines.append("今天没有系统建议的事项，请自己写3件")
    buttons = [
        Button(f"pick:{i.id}:{'off' if i.chosen else 'on'}", f"{n}. {short(i.title.split('：')[0], 12)}", "primary" if i.chosen else "default",
               "pick")
        for n, i in enumerate(offered, 1)
    ]
    inputs = []
    if chosen < v.count:
        inputs.append(Input("custom", "text", "自己写一件", "custom"))
    else:
        buttons.append(Button("lock", f"就这{v.count}件", "primary"))
    return Card(kind="must_do", title=f"☀️ 今日{v.count}件必做", color="blue",
                subtitle=f"{v.rep_name} · {day_label(v.day)} · 请选{v.count}件（已选 {chosen}/{v.count}）",
                lines=lines, buttons=buttons, inputs=inputs,
                note=v.problem or "按紧急程度排列：逾期跟进 → 久未跟进 → 待办检查 → 今日计划；再点一次取消")
