"""One contract request in flight in the demo org: 李娜 asked three hours ago, 王芳 passed 法务初审 within the hour,
and 财务信用评估 has waited two hours on 周建国's card — so a newcomer sees the requester's card following the chain
and an approver's card to press. The contract file is a name only (no bytes to send)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.clock import FixedClock
from handlers.context import Context
from handlers.contracts import ContractRules, attach, decide, start, steps_of
from storage.models import ContractRequest, Customer, Person

REP, AMOUNT, FILE = "李娜", "86万", "年度供货合同（盖章版）.pdf"


async def seed_demo_contracts(session: AsyncSession, make_context: Callable[[str, AsyncSession, FixedClock], Context],
                              rules: ContractRules, now: datetime) -> str:
    rep = (await session.execute(select(Person).where(col(Person.name) == REP))).scalar_one_or_none()
    customer = (await session.execute(select(Customer).where(col(Customer.owner_id) == (rep.id if rep else -1))
                                      .order_by(col(Customer.id)).limit(1))).scalar_one_or_none()
    if rep is None or customer is None:
        return "no contract demo (org changed)"
    asked = now - timedelta(hours=3)
    await start(make_context("demo:contract:ask", session, FixedClock(asked)), rules, rep, f" {customer.name} {AMOUNT}")
    req = (await session.execute(select(ContractRequest).where(col(ContractRequest.rep_id) == rep.id))).scalars().first()
    if req is None:
        return "no contract demo (the chain has no approvers)"
    await attach(make_context("demo:contract:file", session, FixedClock(asked + timedelta(minutes=2))), req, rep,
                 json.dumps({"kind": "file", "name": f"{customer.aliases[0] if customer.aliases else customer.name}{FILE}"}))
    steps = await steps_of(make_context("demo:contract:read", session, FixedClock(now)), req.id or 0)
    if len(steps) > 1:
        first = await session.get(Person, steps[0].approver_id)
        assert first is not None
        await decide(make_context("demo:contract:ok", session, FixedClock(now - timedelta(hours=2))), req, steps[0], first,
                     ok=True)
    rep.awaiting_card_id = rep.awaiting_since = None  # the demo's wait for the file is long over
    session.add(rep)
    await session.flush()
    return f"one contract request waiting on {steps[1].name if len(steps) > 1 else steps[0].name}"
