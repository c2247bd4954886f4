"""The process KPIs of product.md section 8, for a set of reps over a window, with their benchmarks.

Every query is bounded by the window through an index (records by (rep, created_at), stage changes and
verifications by time, must-dos by local date), so a report costs what the window holds, not what the
history holds. Definitions (also in the README):

- first response: mean hours from a lead's assignment (``lead.assigned_at``, in the window) to its first
  confirmed record (``lead.first_contact_at``); leads still waiting are counted, not averaged.
- stage dwell: mean days a customer spent in a stage, for every stage move (``stage_change.at`` in the
  window): the move's time minus the customer's previous move (or its creation for the first).
- cross-role task closure: mean days from a task's creation to ``done_at``, for tasks done in the window.
- data completeness: share of the window's records that have a customer, a type other than 其他, a next
  touch, and — for visits and site surveys — evidence (a photo or a location check-in).
- must-do completion: chosen must-dos done ÷ chosen, over the window's local dates.
- credibility: records flagged 待核实 ÷ records (the window's), and mean hours to resolve a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.reports.scope import Window
from storage.models import (
    ActionRecord,
    ActionType,
    Customer,
    Lead,
    MustDo,
    RecordStatus,
    StageChange,
    Task,
    Verification,
)

NO_DATA = "无数据"
EVIDENCE_TYPES = (ActionType.visit, ActionType.site_survey)  # touches that need a photo or check-in
RECORDED = (RecordStatus.confirmed, RecordStatus.to_verify, RecordStatus.rejected)  # not drafts


@dataclass(frozen=True)
class Benchmark:
    """Industry average and the top 10% (product.md section 8); ``lower`` when smaller is better."""

    industry: float
    top: float
    lower: bool = True

    def score(self, value: float | None) -> float | None:
        """0 at the industry average, 1 at the top-10% mark, linear between, clamped to 0…1."""
        if value is None:
            return None
        span = self.industry - self.top
        s = (self.industry - value) / span
        return max(0.0, min(1.0, s))


BENCHMARKS = {
    "first_response": Benchmark(18.3, 1.2),
    "stage_dwell": Benchmark(5.7, 2.1),
    "task_closure": Benchmark(3.8, 0.9),
    "completeness": Benchmark(0.632, 0.954, lower=False),
}


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None  # None: nothing to measure in the window (shown as 无数据)
    unit: str  # 小时 | 天 | % (value is a share 0…1)
    count: int  # how many items the value is measured over
    extra: str = ""  # e.g. "另有 2 条线索未联系"

    @property
    def benchmark(self) -> Benchmark | None:
        return BENCHMARKS.get(self.key)

    def shown(self, value: float | None = None) -> str:
        v = self.value if value is None else value
        if v is None:
            return NO_DATA
        return f"{v * 100:.1f}%" if self.unit == "%" else f"{v:.1f} {self.unit}"

    def compact(self) -> str:
        """「2.4 小时（行业 18.3 → 前10% ≤1.2）」: at most 30 characters (a WeCom card row's value)."""
        b = self.benchmark
        if b is None:
            return self.shown()
        num = (lambda v: f"{v * 100:.1f}%") if self.unit == "%" else (lambda v: f"{v:g}")
        return f"{self.shown()}（行业 {num(b.industry)} → 前10% {'≤' if b.lower else '≥'}{num(b.top)}）"

    def line(self) -> str:
        """「首次响应 3.2 小时（行业 18.3 小时 → 前10% ≤ 1.2 小时）」"""
        text = f"{self.label} {self.shown()}"
        b = self.benchmark
        if b is not None:
            mark = "≤" if b.lower else "≥"
            text += f"（行业 {self.shown(b.industry)} → 前10% {mark} {self.shown(b.top)}）"
        if self.extra:
            text += f"，{self.extra}"
        return text


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600


def _in(column: Any, ids: list[int]) -> ColumnElement[bool]:
    return col(column).in_(ids)


async def first_response(s: AsyncSession, reps: list[int], w: Window) -> Kpi:
    rows = (await s.execute(select(col(Lead.assigned_at), col(Lead.first_contact_at)).where(
        _in(Lead.owner_id, reps), col(Lead.assigned_at) >= w.start, col(Lead.assigned_at) < w.end))).all()
    done = [_hours(a, f) for a, f in rows if a is not None and f is not None]
    waiting = sum(1 for _, f in rows if f is None)
    return Kpi("first_response", "首次响应", fmean(done) if done else None, "小时", len(done),
               f"另有 {waiting} 条线索未联系" if waiting else "")


async def stage_dwell(s: AsyncSession, reps: list[int], w: Window) -> Kpi:
    prev = StageChange.__table__.alias("prev")  # type: ignore[attr-defined]
    before = (select(func.max(prev.c.at)).where(prev.c.customer_id == col(StageChange.customer_id),
                                                prev.c.at < col(StageChange.at)).scalar_subquery())
    rows = (await s.execute(
        select(col(StageChange.at), before, col(Customer.created_at))
        .join(Customer, col(Customer.id) == col(StageChange.customer_id))
        .where(col(StageChange.at) >= w.start, col(StageChange.at) < w.end, _in(Customer.owner_id, reps)))).all()
    days = [_hours(p or created, at) / 24 for at, p, created in rows]
    return Kpi("stage_dwell", "阶段停留", fmean(days) if days else None, "天", len(days))


async def task_closure(s: AsyncSession, reps: list[int], w: Window) -> Kpi:
    rows = (await s.execute(
        select(col(Task.created_at), col(Task.done_at)).join(Customer, col(Customer.id) == col(Task.customer_id))
        .where(col(Task.done_at) >= w.start, col(Task.done_at) < w.end, _in(Customer.owner_id, reps)))).all()
    days = [_hours(c, d) / 24 for c, d in rows if d is not None]
    return Kpi("task_closure", "任务闭环", fmean(days) if days else None, "天", len(days))


async def record_counts(s: AsyncSession, reps: list[int], w: Window) -> tuple[int, int]:
    """(complete records, records) of the window, counted by the database along the (rep, created_at) index."""
    has_evidence = func.length(cast(col(ActionRecord.evidence), String)) > 2  # more than "[]"
    ok = and_(col(ActionRecord.customer_id).is_not(None), col(ActionRecord.type) != ActionType.other,
              col(ActionRecord.next_touch).is_not(None),
              or_(col(ActionRecord.type).not_in(EVIDENCE_TYPES), has_evidence))
    total, complete = (await s.execute(
        select(func.count(), func.coalesce(func.sum(case((ok, 1), else_=0)), 0))
        .where(_in(ActionRecord.rep_id, reps), col(ActionRecord.created_at) >= w.start,
               col(ActionRecord.created_at) < w.end, col(ActionRecord.status).in_(RECORDED)))).one()
    return int(complete or 0), int(total or 0)


async def completeness(s: AsyncSession, reps: list[int], w: Window, counts: tuple[int, int] | None = None) -> Kpi:
    ok, total = counts if counts is not None else await record_counts(s, reps, w)
    return Kpi("completeness", "数据完整度", ok / total if total else None, "%", total)


async def must_do_completion(s: AsyncSession, reps: list[int], w: Window) -> Kpi:
    rows = (await s.execute(
        select(col(MustDo.status), func.count()).where(
            col(MustDo.local_date) >= w.first_day, col(MustDo.local_date) <= w.last_day, col(MustDo.chosen),
            _in(MustDo.rep_id, reps)).group_by(col(MustDo.status)))).all()
    total = sum(n for _, n in rows)
    done = sum(n for st, n in rows if st == "done")
    return Kpi("must_do", "必做完成率", done / total if total else None, "%", total)


async def credibility(s: AsyncSession, reps: list[int], w: Window, records: int) -> tuple[Kpi, Kpi]:
    """(share of records flagged 待核实, mean hours to resolve a flag) over the window."""
    rows = (await s.execute(select(col(Verification.created_at), col(Verification.resolved_at)).where(
        _in(Verification.rep_id, reps), col(Verification.created_at) >= w.start,
        col(Verification.created_at) < w.end))).all()
    resolved = [_hours(c, r) for c, r in rows if r is not None]
    still = len(rows) - len(resolved)
    share = Kpi("flagged", "待核实占比", len(rows) / records if records else None, "%", records)
    time = Kpi("verify_time", "核实用时", fmean(resolved) if resolved else None, "小时", len(resolved),
               f"{still} 条未核实" if still else "")
    return share, time


async def all_kpis(s: AsyncSession, reps: list[int], w: Window) -> list[Kpi]:
    counts = await record_counts(s, reps, w)
    flagged, verify_time = await credibility(s, reps, w, counts[1])
    return [await first_response(s, reps, w), await stage_dwell(s, reps, w), await task_closure(s, reps, w),
            await completeness(s, reps, w, counts), await must_do_completion(s, reps, w), flagged, verify_time]
