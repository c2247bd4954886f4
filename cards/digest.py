"""The daily digest card (今日简报): readable at a glance on a phone, one button per top risk."""

from __future__ import annotations

from dataclasses import dataclass

from cards.actions import CardAction
from cards.model import Button, Card, Fact
from handlers.reports.digest import Digest

KIND = "digest"


@dataclass(frozen=True)
class OpenCustomer(CardAction, prefix="open"):
    """A risk's link: answer with the customer's latest progress (the timeline)."""

    customer_id: str


def percent(done: int, total: int) -> str:
    return f"{done}/{total}（{done * 100 // total}%）" if total else "今日无必做"


def build_digest_card(d: Digest, who: str) -> Card:
    reds = " · ".join(f"{k} {n}" for k, n in sorted(d.reds.items(), key=lambda kv: -kv[1])) or "无"
    # the first six rows are what a WeCom card shows as rows (label ≤ 5, value ≤ 30 characters); the rest and
    # the lines go below them, most important first
    store = ["门店漏斗（今日）：" + "→".join(f"{st}{n}" for st, n in d.store)] if d.store is not None else []
    if not d.reps:  # a store manager: no sales team, only the store
        return Card(kind=KIND, title=f"今日简报 · {d.day:%m-%d}", subtitle=f"{who} · 门店", lines=store or ["今天还没有门店数据。"])
    facts = [Fact("今日必做", percent(d.must_done, d.must_chosen)), Fact("今日红灯", reds)]
    facts += [Fact(k.label, k.compact()) for k in d.kpis]
    lines = ["阶段漏斗：" + "→".join(f"{st}{n}" for st, n in d.funnel), *store]
    buttons = []
    for i, r in enumerate(d.risks, 1):
        lines.append(f"风险{i}：{r.name}，{r.why}")
        buttons.append(Button(OpenCustomer(r.customer_id).pack(), f"查看 {r.name[:8]}"))
    return Card(kind=KIND, title=f"今日简报 · {d.day:%m-%d}", subtitle=f"{who} 团队 · {d.reps} 名销售",
                color="red" if d.reds else "blue", facts=facts, lines=lines, buttons=buttons,
                note=f"指标为近{d.window_days}天，括号内为行业平均 → 前10%；点「查看」看客户最近进展")
