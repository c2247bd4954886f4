"""Cross-role tasks in the demo org: 张伟 asked presales three hours ago about 瑞丰机械's MES integration (the task
card waits in the presales engineer's chat, copies in 张伟's and the delivery lead's), and a finance task on a
customer of 李娜 closed yesterday — so a newcomer sees a task to accept and a closure time in the KPI data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.clock import FixedClock
from handlers.context import Context
from handlers.tasks import TaskRules, choose_person, close, create_task, propose
from storage.models import ActionRecord, ActionType, Customer, Person, RecordStatus

ASKS = [  # (rep, text, role, hours ago asked, hours ago done or None)
    ("张伟", "瑞丰机械设备部要求和他们的MES系统做API对接，要先出技术方案", "presales", 3, None),
    ("李娜", "恒远化工财务希望账期从30天放到60天", "finance", 30, 20),
]


async def seed_demo_tasks(session: AsyncSession, make_context: Callable[[str, AsyncSession, FixedClock], Context],
                          rules: TaskRules, now: datetime) -> str:
    made = 0
    for n, (rep_name, text, role, asked_h, done_h) in enumerate(ASKS):
        rep = (await session.execute(select(Person).where(col(Person.name) == rep_name))).scalar_one_or_none()
        customer = (await session.execute(select(Customer).where(col(Customer.owner_id) == (rep.id if rep else -1))
                                          .order_by(col(Customer.id)).limit(1))).scalar_one_or_none()
        if rep is None or rep.id is None or customer is None:
            continue
        asked = now - timedelta(hours=asked_h)
        record = ActionRecord(type=ActionType.visit, customer_id=customer.id, rep_id=rep.id, text=text,
                              status=RecordStatus.confirmed, confidence=0.9, created_at=asked - timedelta(minutes=5),
                              confirmed_at=asked - timedelta(minutes=4))
        session.add(record)
        await session.flush()
        ctx = make_context(f"demo:task:{n}", session, FixedClock(asked))
        await propose(ctx, rules, record, all_roles=False)
        person, _ = await choose_person(ctx, rules, role, [], text)
        if person is None:
            continue
        task = await create_task(ctx, rules, record, role, person, needs=[], title=text[:40])
        if task is not None and done_h is not None:
            await close(make_context(f"demo:task:{n}:done", session, FixedClock(now - timedelta(hours=done_h))), task,
                        "已和客户财务确认：60天账期需预付30%，已走信用审批", {})
        made += task is not None
    return f"{made} cross-role tasks"
