"""Radar cards (the numbers beside the picture, which goes as an image message) and the commission card."""

from __future__ import annotations

from cards.model import Card, Fact
from handlers.reports.commission import VARIABLES, Estimate
from handlers.reports.cqi import Cqi
from handlers.reports.radar import CUSTOMER_AXES, PROCESS_AXES, CustomerHealth, ProcessHealth

CUSTOMER_KIND = "customer_radar"
PROCESS_KIND = "rep_radar"
COMMISSION_KIND = "commission"


def pct(v: float | None) -> str:
    return "无数据" if v is None else f"{v * 100:.0f}%"


def build_customer_card(rep: str, rows: list[CustomerHealth], window_days: int) -> Card:
    lines = [f"{h.name}：" + " · ".join(f"{a} {pct(v)}" for a, v in zip(CUSTOMER_AXES, h.values(), strict=True))
             for h in rows] or [f"近{window_days}天没有客户动作记录。"]
    return Card(kind=CUSTOMER_KIND, title=f"客户健康雷达 · {rep}", subtitle=f"近{window_days}天跟进的客户",
                lines=lines, note="决策链覆盖＝已接触的决策链角色÷模板要求；需求清晰度＝说出需求的跟进÷跟进；"
                                  "预算匹配＝1−|报价−预算|÷预算")


def build_process_card(rep: str, h: ProcessHealth, c: Cqi, window_days: int) -> Card:
    by_key = {k.key: k for k in h.kpis}
    detail = {"首次响应": by_key["first_response"].shown(), "阶段节奏": by_key["stage_dwell"].shown(),
              "数据完整": f"{by_key['completeness'].count} 条记录", "必做完成": f"{by_key['must_do'].count} 项必做",
              "可信度": f"待核实 {by_key['flagged'].shown()}", "清单举证": f"{h.evidence_done}/{h.evidence_total} 项"}
    facts = [Fact(a, f"{pct(h.scores[a])}（{detail[a]}）") for a in PROCESS_AXES]
    return Card(kind=PROCESS_KIND, title=f"过程健康雷达 · {rep}", subtitle=f"近{window_days}天，用于 1:1 辅导",
                color="blue", facts=facts, lines=["客户接触质量（CQI）：", *c.lines()],
                note="首次响应、阶段节奏按行业平均（0%）到前10%（100%）折算")


def money(v: float) -> str:
    return f"¥{v:,.2f}"


def build_commission_card(rep: str, e: Estimate, formula: str) -> Card:
    facts = [Fact(VARIABLES[k], money(v) if k != "contracts" else f"{v:.0f}") for k, v in e.values.items()]
    facts.append(Fact("估算提成", money(e.amount)))
    return Card(kind=COMMISSION_KIND, title=f"提成估算 · {rep} · {e.month}", color="green", facts=facts,
                lines=[f"公式：{formula}"],
                note="按本月已确认的动作记录估算，以财务核算为准")
