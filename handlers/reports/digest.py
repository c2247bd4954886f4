"""The daily digest of a manager's (or supervisor's) subtree: must-dos, reds by reason, stage funnel,
KPIs against benchmarks, the top risks, and the store funnel when the store flow provides one.

Today's parts read today's rows (must-dos by local date, open red warnings); the KPIs read the window
through indexes; the funnel counts the subtree's customers by stage. Nothing reads the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cards.reason import REASONS
from handlers.reports import kpis
from handlers.reports.scope import Window
from handlers.rhythm import short_name
from handlers.store import TOTAL, store_funnel
from storage.models import Customer, MustDo, MustDoStatus, Store, WarningRecord, WarningStatus

RISK_COUNT = 3
NO_REASON = "未填原因"
WARNING_LABELS = {"stale_lead": "红灯·超时无更新", "first_contact": "红灯·线索未联系",
                  "overdue": "红灯·跟进逾期"}


@dataclass(frozen=True)
class Risk:
    customer_id: str
    name: str
    why: str


@dataclass
class Digest:
    day: date
    reps: int
    must_done: int
    must_chosen: int
    reds: dict[str, int]  # reason label → today's red must-dos
    funnel: list[tuple[str, int]]
    kpis: list[kpis.Kpi]
    risks: list[Risk]
    store: list[tuple[str, int]] | None = None
    window_days: int = 30
    extra: dict[str, str] = field(default_factory=dict)


async def today_must_dos(s: AsyncSession, reps: list[int], day: date) -> tuple[int, int, dict[str, int]]:
    rows = (await s.execute(
        select(col(MustDo.status), col(MustDo.reason), func.count())
        .where(col(MustDo.local_date) == day, col(MustDo.chosen), col(MustDo.rep_id).in_(reps))
        .group_by(col(MustDo.status), col(MustDo.reason)))).all()
    chosen = sum(n for _, _, n in rows)
    done = sum(n for st, _, n in rows if st == MustDoStatus.done)
    reds: dict[str, int] = {}
    for st, reason, n in rows:
        if st == MustDoStatus.red:
            label = REASONS.get(reason or "", NO_REASON)
            reds[label] = reds.get(label, 0) + n
    return done, chosen, reds


async def funnel(s: AsyncSession, reps: list[int], order: tuple[str, ...]) -> list[tuple[str, int]]:
    counts = dict((await s.execute(select(col(Customer.stage), func.count())
                                   .where(col(Customer.owner_id).in_(reps)).group_by(col(Customer.stage)))).all())
    return [(st, counts.get(st, 0)) for st in order] + [(st, n) for st, n in sorted(counts.items()) if st not in order]


async def risks(s: AsyncSession, reps: list[int], now: datetime, closed: tuple[str, ...]) -> list[Risk]:
    """Open red warnings first (oldest first), then the customers silent longest (not in a closed stage)."""
    out: list[Risk] = []
    rows = (await s.execute(
        select(col(WarningRecord.customer_id), col(WarningRecord.kind), col(Customer.name), col(Customer.aliases))
        .join(Customer, col(Customer.id) == col(WarningRecord.customer_id))
        .where(col(WarningRecord.status) == WarningStatus.open, col(WarningRecord.level) == "red",
               col(Customer.owner_id).in_(reps)).order_by(col(WarningRecord.created_at)).limit(20))).all()
    for cid, kind, name, aliases in rows:
        if len(out) < RISK_COUNT and all(r.customer_id != cid for r in out):
            out.append(Risk(cid, short_name(name, aliases), WARNING_LABELS.get(kind, "红灯")))
    if len(out) < RISK_COUNT:
        silent = (await s.execute(
            select(col(Customer.id), col(Customer.name), col(Customer.last_action_at), col(Customer.aliases))
            .where(col(Customer.owner_id).in_(reps), col(Customer.stage).not_in(closed),
                   col(Customer.last_action_at).is_not(None))
            .order_by(col(Customer.last_action_at)).limit(RISK_COUNT * 2))).all()
        for cid, name, last, aliases in silent:
            if last is not None and len(out) < RISK_COUNT and all(r.customer_id != cid for r in out):
                days = (now - last) // timedelta(days=1)
                out.append(Risk(cid, short_name(name, aliases), f"{days} 天未跟进"))
    return out


async def stores_funnel(s: AsyncSession, managers: list[int], day: date, tz: tzinfo) -> list[tuple[str, int]] | None:
    """Today's funnel summed over the stores run by ``managers`` (the store managers in a subtree); None: no store."""
    ids = (await s.execute(select(col(Store.id)).where(col(Store.manager_id).in_(managers)))).scalars().all()
    if not ids:
        return None
    total: dict[str, int] = {}
    for store_id in ids:
        for row in await store_funnel(s, store_id, day, tz):
            if row.staff == TOTAL:
                total[row.step] = total.get(row.step, 0) + row.count
    return list(total.items())


async def build(s: AsyncSession, reps: list[int], w: Window, order: tuple[str, ...], closed: tuple[str, ...],
                window_days: int) -> Digest:
    day = w.last_day
    done, chosen, reds = await today_must_dos(s, reps, day)
    return Digest(day=day, reps=len(reps), must_done=done, must_chosen=chosen, reds=reds,
                  funnel=await funnel(s, reps, order), kpis=await kpis.all_kpis(s, reps, w),
                  risks=await risks(s, reps, w.end, closed), window_days=window_days)
