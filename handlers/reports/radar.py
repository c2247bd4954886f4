"""The two radars: a rep's customers' health (weekly) and a rep's process health (1:1 coaching).

Customer health, per customer the rep touched in the window (the most recently touched first, up to
``MAX_CUSTOMERS``): decision-chain coverage (CQI touch depth of that customer), need clarity (its touches
with a stated need ÷ its touches), budget match (1 − |latest quote − latest budget| ÷ budget, clamped;
无数据 until both are known).

Process health, six scores 0…1: first response and stage rhythm scored against their benchmarks
(industry average = 0, top 10% = 1), data completeness and must-do completion as shares, credibility
= 1 − the share of records flagged 待核实, checklist evidence = required evidence checks of the rep's
customers done with their evidence ÷ all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.reports import cqi, kpis
from handlers.reports.scope import Window
from handlers.rhythm import REAL, short_name
from storage.models import ActionRecord, ChecklistItem, Customer

MAX_CUSTOMERS = 6
CUSTOMER_AXES = ("决策链覆盖", "需求清晰度", "预算匹配")
PROCESS_AXES = ("首次响应", "阶段节奏", "数据完整", "必做完成", "可信度", "清单举证")


@dataclass(frozen=True)
class CustomerHealth:
    customer_id: str
    name: str
    coverage: float | None
    clarity: float | None
    budget: float | None

    def values(self) -> list[float | None]:
        return [self.coverage, self.clarity, self.budget]


def budget_match(budget: int | None, quote: int | None) -> float | None:
    if not budget or quote is None:
        return None
    return max(0.0, 1 - abs(quote - budget) / budget)


async def _latest(s: AsyncSession, customer_id: str, column: Any) -> int | None:
    return (await s.execute(select(column).where(
        col(ActionRecord.customer_id) == customer_id, column.is_not(None), col(ActionRecord.status).in_(REAL))
        .order_by(col(ActionRecord.created_at).desc()).limit(1))).scalar_one_or_none()


async def customer_health(s: AsyncSession, rep_id: int, w: Window, chains: Any) -> list[CustomerHealth]:
    data = await cqi.load(s, [rep_id], w)
    per = cqi.by_customer(data)
    if not per:
        return []
    rows = (await s.execute(select(col(Customer.id), col(Customer.name), col(Customer.last_action_at),
                                   col(Customer.aliases)).where(col(Customer.id).in_(list(per))))).all()
    names = {cid: short_name(name, aliases) for cid, name, _, aliases in rows}  # a phone-sized label
    recent = sorted(rows, key=lambda r: (r[2] is not None, r[2], r[0]), reverse=True)[:MAX_CUSTOMERS]
    out = []
    for cid, _, _, _ in recent:
        touches = per[cid]
        out.append(CustomerHealth(
            cid, names[cid], cqi.depth(chains(data.template.get(cid)), data.roles.get(cid, ())),
            sum(t.needs for t in touches) / len(touches),
            budget_match(await _latest(s, cid, col(ActionRecord.budget)),
                         await _latest(s, cid, col(ActionRecord.quote_amount)))))
    return out


@dataclass(frozen=True)
class ProcessHealth:
    scores: dict[str, float | None]  # axis label → 0…1 or None
    kpis: list[kpis.Kpi]
    evidence_done: int
    evidence_total: int

    def values(self) -> list[float | None]:
        return [self.scores[a] for a in PROCESS_AXES]


async def checklist_evidence(s: AsyncSession, reps: list[int]) -> tuple[int, int]:
    """(required evidence checks done with their evidence, all required evidence checks) of the reps' customers."""
    rows = (await s.execute(  # JSON cannot be grouped on PostgreSQL: the rows are counted here
        select(col(ChecklistItem.status), col(ChecklistItem.evidence))
        .join(Customer, col(Customer.id) == col(ChecklistItem.customer_id))
        .where(col(Customer.owner_id).in_(reps), col(ChecklistItem.required),
               col(ChecklistItem.evidence_kind).is_not(None)))).all()
    return sum(1 for st, ev in rows if st == "done" and ev), len(rows)


async def process_health(s: AsyncSession, reps: list[int], w: Window) -> ProcessHealth:
    ks = {k.key: k for k in await kpis.all_kpis(s, reps, w)}
    done, total = await checklist_evidence(s, reps)
    flagged = ks["flagged"].value
    scores: dict[str, float | None] = {
        "首次响应": kpis.BENCHMARKS["first_response"].score(ks["first_response"].value),
        "阶段节奏": kpis.BENCHMARKS["stage_dwell"].score(ks["stage_dwell"].value),
        "数据完整": ks["completeness"].value,
        "必做完成": ks["must_do"].value,
        "可信度": None if flagged is None else 1 - flagged,
        "清单举证": done / total if total else None,
    }
    return ProcessHealth(scores, list(ks.values()), done, total)
