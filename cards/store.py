"""Store answers in chat: a staff member's task links, a scanned code's page, the store manager's funnel of today."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from cards.model import Card, Fact

FUNNEL = "store_funnel"


class Row(Protocol):
    """One funnel step of one staff member (``handlers.store.FunnelRow``)."""

    @property
    def staff(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def drop(self) -> int: ...


# Links go in text messages, not cards: WeCom's text_notice clips its quote to 100 characters, and a signed
# link is longer than that; a text keeps the whole link clickable on every platform.

def tasks_text(store: str, tasks: list[tuple[str, str]]) -> str:
    """One line per QR task with its page link (the same link its printed QR code carries)."""
    lines = [f"• {name}：{link}" if link else f"• {name}" for name, link in tasks] or ["本店还没有任务二维码。"]
    return "\n".join([f"🏬 {store} · 门店任务（扫门店二维码或点链接打开接待页）", *lines])


def scan_text(store: str, task: str, link: str) -> str:
    """The answer to a scanned task code: its page (opened inside the app, it knows who you are)."""
    return f"🔳 {store} · {task}\n新顾客进店：打开接待页，从「进店迎宾」开始逐步完成。\n接待页：{link}"


def funnel_lines(rows: Sequence[Row]) -> list[str]:
    """「全店：进店 12 → 探询 9 (-3) → …」, then one line per staff member."""
    out: list[str] = []
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r.staff, []).append(r)
    for staff, steps in by.items():
        out.append(f"{staff}：" + " → ".join(
            f"{r.step} {r.count}" + (f"（流失 {r.drop}）" if r.drop else "") for r in steps))
    return out


def build_funnel(store: str, day: date, rows: Sequence[Row]) -> Card:
    total = [r for r in rows if r.staff == rows[0].staff] if rows else []
    facts = [Fact(r.step, str(r.count)) for r in total]
    return Card(kind=FUNNEL, title=f"📊 {store} · 今日门店漏斗（{day:%m-%d}）", color="green", facts=facts,
                lines=funnel_lines(rows) or ["今天还没有接待记录。"])
