"""Customer contact quality index (CQI) per rep and team, product.md section 8.

- touch depth: of each customer touched in the window, the decision-chain roles of its template reached
  by any confirmed record's contact role (ever) ÷ the chain's length; the mean over customers.
- need anchoring: the window's touches where the customer stated a need (``needs`` not empty) ÷ touches.
- rhythm match: for each of the window's touches carrying both the customer's expected date and our
  promised date, 1 − |expected − promised| ÷ the customer's original expected cycle (from the first record
  that stated an expected date to that date), clamped to 0…1; the mean over those touches.

Healthy thresholds: 82% / 65% / 0.73.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.reports.scope import Window
from handlers.rhythm import REAL
from storage.models import ActionRecord, Customer

HEALTHY = {"touch_depth": 0.82, "need_anchoring": 0.65, "rhythm_match": 0.73}
LABELS = {"touch_depth": "触达深度", "need_anchoring": "需求锚定", "rhythm_match": "节奏匹配"}
# chain roles that name a function rather than a title: the titles that fill them
SYNONYMS: dict[str, tuple[str, ...]] = {
    "决策人": ("总经理", "董事长", "老板", "总裁", "CEO", "决策", "一把手"),
    "技术负责人": ("技术", "工程师", "总工", "CTO"),
    "IT负责人": ("IT", "信息", "CIO"),
    "校领导": ("校长", "书记"),
    "总经理": ("总经理", "老板", "CEO"),
}


def reaches(chain_role: str, contact_role: str) -> bool:
    """Does a contact with this title fill the chain role? 「采购办/招标办」 is filled by 采购经理 or 招标办主任."""
    keys = set(SYNONYMS.get(chain_role, ()))
    for alt in chain_role.split("/"):
        core = alt.removesuffix("负责人")
        core = core[:-1] if len(core) > 2 and core[-1] in "部办科" else core
        keys.add(core or alt)
    return any(k in contact_role for k in keys if k)


def depth(chain: tuple[str, ...], contact_roles: Iterable[str]) -> float | None:
    if not chain:
        return None
    roles = [r for r in contact_roles if r]
    return sum(1 for c in chain if any(reaches(c, r) for r in roles)) / len(chain)


@dataclass(frozen=True)
class Touch:
    rep_id: int
    customer_id: str
    needs: bool
    expected: date | None
    promised: date | None


@dataclass
class Touches:
    """The window's touches and what CQI needs to know about their customers (loaded once)."""

    touches: list[Touch] = field(default_factory=list)
    roles: dict[str, set[str]] = field(default_factory=dict)  # customer → contact roles ever met
    template: dict[str, str | None] = field(default_factory=dict)
    cycle: dict[str, int] = field(default_factory=dict)  # customer → original expected cycle, days


async def load(s: AsyncSession, reps: list[int], w: Window) -> Touches:
    out = Touches()
    rows = (await s.execute(
        select(col(ActionRecord.rep_id), col(ActionRecord.customer_id), col(ActionRecord.needs),
               col(ActionRecord.expected_date), col(ActionRecord.promised_date))
        .where(col(ActionRecord.rep_id).in_(reps), col(ActionRecord.created_at) >= w.start,
               col(ActionRecord.created_at) < w.end, col(ActionRecord.status).in_(REAL),
               col(ActionRecord.customer_id).is_not(None)))).all()
    out.touches = [Touch(r, c, bool(n), e, p) for r, c, n, e, p in rows if c is not None]
    ids = sorted({t.customer_id for t in out.touches})
    for i in range(0, len(ids), 500):
        part = ids[i:i + 500]
        pairs: list[Any] = list((await s.execute(select(col(Customer.id), col(Customer.template))
                                                .where(col(Customer.id).in_(part)))).all())
        out.template.update({cid: tpl for cid, tpl in pairs})
        roles: list[Any] = list((await s.execute(
            select(col(ActionRecord.customer_id), col(ActionRecord.contact_role)).distinct()
            .where(col(ActionRecord.customer_id).in_(part), col(ActionRecord.contact_role).is_not(None),
                   col(ActionRecord.status).in_(REAL)))).all())
        for cid, role in roles:
            out.roles.setdefault(cid, set()).add(role)
        stated: list[Any] = list((await s.execute(
            select(col(ActionRecord.customer_id), col(ActionRecord.created_at), col(ActionRecord.expected_date))
            .where(col(ActionRecord.customer_id).in_(part), col(ActionRecord.expected_date).is_not(None),
                   col(ActionRecord.status).in_(REAL)).order_by(col(ActionRecord.created_at)))).all())
        for cid, created, expected in stated:
            if cid not in out.cycle and expected is not None:
                out.cycle[cid] = (expected - created.astimezone(w.tz).date()).days
    return out


@dataclass(frozen=True)
class Cqi:
    touch_depth: float | None
    need_anchoring: float | None
    rhythm_match: float | None
    customers: int
    touches: int
    promises: int  # touches with both dates (rhythm match's base)

    def parts(self) -> list[tuple[str, float | None]]:
        return [("touch_depth", self.touch_depth), ("need_anchoring", self.need_anchoring),
                ("rhythm_match", self.rhythm_match)]

    def lines(self) -> list[str]:
        out = []
        for key, v in self.parts():
            if v is None:
                out.append(f"{LABELS[key]} 无数据")
                continue
            shown = f"{v:.2f}" if key == "rhythm_match" else f"{v * 100:.0f}%"
            goal = f"{HEALTHY[key]:.2f}" if key == "rhythm_match" else f"{HEALTHY[key] * 100:.0f}%"
            out.append(f"{LABELS[key]} {shown}（健康 ≥ {goal}）{'✅' if v >= HEALTHY[key] else '⚠️'}")
        return out


def rhythm(t: Touch, cycle: int | None) -> float | None:
    if t.expected is None or t.promised is None or not cycle or cycle <= 0:
        return None
    return max(0.0, 1 - abs((t.expected - t.promised).days) / cycle)


def compute(data: Touches, chains: Any, rep_id: int | None = None) -> Cqi:
    """CQI of one rep (``rep_id``) or of everyone in ``data`` (the team). ``chains(template)`` → chain roles."""
    touches = [t for t in data.touches if rep_id is None or t.rep_id == rep_id]
    customers = sorted({t.customer_id for t in touches})
    depths = [d for c in customers if (d := depth(chains(data.template.get(c)), data.roles.get(c, ()))) is not None]
    rhythms = [r for t in touches if (r := rhythm(t, data.cycle.get(t.customer_id))) is not None]
    return Cqi(fmean(depths) if depths else None,
               sum(t.needs for t in touches) / len(touches) if touches else None,
               fmean(rhythms) if rhythms else None, len(customers), len(touches), len(rhythms))


def by_customer(data: Touches) -> dict[str, list[Touch]]:
    out: dict[str, list[Touch]] = defaultdict(list)
    for t in data.touches:
        out[t.customer_id].append(t)
    return out
