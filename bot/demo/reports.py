"""Report history for the demo org, so the manager's first 今日简报 and every rep's 我的雷达 have something to
say: two weeks of chosen must-dos (some done, some red with a reason), stage moves, leads answered within
hours, the customers' expected and our promised dates, and a contract and a payment this month for 张伟 and
李娜 (我的提成). Today is left empty: the morning job makes today's rows, as it would in a real org."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    ActionRecord,
    ActionType,
    Customer,
    Lead,
    LeadStatus,
    MustDo,
    MustDoStatus,
    Person,
    RecordStatus,
    Role,
    StageChange,
)

STAGES = ["初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款"]
DONE_RATE = {"张伟": 0.9, "李娜": 0.75, "陈磊": 0.55, "赵敏": 0.8, "孙浩": 0.65, "周婷": 0.7}
REASONS = ["change", "docs", "permission", "change", "docs"]
MONEY = {"张伟": (680000, 150000), "李娜": (420000, 90000)}  # (contract, payment) this month


async def seed_demo_reports(session: AsyncSession, now: datetime, tz: ZoneInfo, seed: int = 17) -> str:
    rng = random.Random(seed)
    reps = list((await session.execute(select(Person).where(col(Person.role) == Role.rep)
                                       .order_by(col(Person.id)))).scalars())
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=d) for d in range(14, 0, -1) if (today - timedelta(days=d)).weekday() < 5]
    items = 0
    for rep in reps:
        assert rep.id is not None
        rate = DONE_RATE.get(rep.name, 0.7)
        for day in days:
            for rank in range(1, 4):
                done = rng.random() < rate
                session.add(MustDo(
                    rep_id=rep.id, local_date=day, rank=rank, source="custom", title="客户确认下次拜访时间",
                    chosen=True, status=MustDoStatus.done if done else MustDoStatus.red,
                    reason=None if done else rng.choice(REASONS), created_at=now - (today - day)))
                items += 1
    customers = list((await session.execute(select(Customer).order_by(col(Customer.id)))).scalars())
    moves = leads = 0
    for i, c in enumerate(customers):
        k = STAGES.index(c.stage) if c.stage in STAGES else 0
        at = c.created_at
        for step in range(k):  # the moves that brought it to its stage, a few days apart
            at = at + timedelta(days=rng.choice([2, 3, 4, 6, 8]), hours=rng.randint(0, 8))
            session.add(StageChange(customer_id=c.id, old=STAGES[step], new=STAGES[step + 1], by_id=c.owner_id,
                                    at=min(at, now - timedelta(hours=1))))
            moves += 1
        if i % 3 == 0 and c.owner_id is not None:  # a third of them came in as leads
            assigned = c.created_at + timedelta(hours=rng.randint(1, 48))
            session.add(Lead(source="demo-history", source_lead_id=c.id, customer_id=c.id, matched=True,
                             company=c.name, status=LeadStatus.accepted, owner_id=c.owner_id, assigned_at=assigned,
                             accepted_at=assigned + timedelta(minutes=10),
                             first_contact_at=assigned + timedelta(hours=rng.choice([0.5, 1, 2, 3, 6]))))
            leads += 1
    records = (await session.execute(select(ActionRecord).where(col(ActionRecord.customer_id).is_not(None))
                                     .order_by(col(ActionRecord.created_at)))).scalars().all()
    first_seen: set[str] = set()
    for r in records:
        if r.customer_id is None:
            continue
        start = r.created_at.astimezone(tz).date()
        if r.customer_id not in first_seen:  # the customer's original expected date: 30–60 days out
            first_seen.add(r.customer_id)
            r.expected_date = start + timedelta(days=rng.choice([30, 45, 60]))
            r.promised_date = r.expected_date + timedelta(days=rng.choice([0, 3, 7, 14]))
    by_name = {p.name: p for p in reps}
    for name, (contract, payment) in MONEY.items():
        earner = by_name.get(name)
        own = [c for c in customers if earner is not None and c.owner_id == earner.id]
        if earner is None or earner.id is None or not own:
            continue
        signed = now - timedelta(days=1)
        session.add(ActionRecord(type=ActionType.contract, customer_id=own[0].id, rep_id=earner.id,
                                 text=f"{own[0].name}合同签了，金额{contract // 10000}万", contract_amount=contract,
                                 next_touch=today + timedelta(days=7), status=RecordStatus.confirmed, confidence=0.9,
                                 created_at=signed, confirmed_at=signed))
        session.add(ActionRecord(type=ActionType.payment, customer_id=own[-1].id, rep_id=earner.id,
                                 text=f"{own[-1].name}首付款{payment // 10000}万到账", payment_amount=payment,
                                 next_touch=today + timedelta(days=14), status=RecordStatus.confirmed, confidence=0.9,
                                 created_at=signed, confirmed_at=signed))
    await session.flush()
    return f"{items} past must-dos, {moves} stage moves, {leads} answered leads"
