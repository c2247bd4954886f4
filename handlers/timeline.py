"""The customer timeline: 「恒远化工 最近进展」 answers with the customer's latest confirmed records.

A question, not a record: it never creates a draft. When the name is not a customer the message is
left to capture (it was probably a report that happened to contain 进展).
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from cards.confirmation import TYPE_LABELS
from handlers.context import Context
from handlers.event import Event
from handlers.rhythm import REAL
from handlers.router import Capability
from storage.models import ActionRecord, Customer, Person, Role

LIMIT = 5
PATTERN = r"(?P<name>[^\s，,。]{2,30}?)\s*(的)?\s*(最近|近期|最新)?\s*(进展|情况|动态|跟进记录|记录)\s*(如何|怎么样了?|呢)?\s*[?？]?"

capability = Capability("timeline")


async def find_customer(ctx: Context, name: str) -> Customer | None:
    """A full name or alias, else a unique prefix of one (at least 2 characters)."""
    rows = (await ctx.session.execute(select(Customer))).scalars().all()
    exact = [c for c in rows if name == c.name or name in c.aliases]
    if exact:
        return exact[0]
    prefix = [c for c in rows if c.name.startswith(name) or any(a.startswith(name) for a in c.aliases)]
    return prefix[0] if len(prefix) == 1 else None


@capability.command("timeline", PATTERN, "「客户名 最近进展」 — 客户最近5条已确认的动作",
                    roles={Role.rep, Role.supervisor, Role.manager})
async def answer(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
    customer = await find_customer(ctx, m.group("name"))
    if customer is None:
        return False  # not a customer: let capture read it
    assert person.id is not None
    await ctx.send_text(await progress(ctx, customer), person_id=person.id)
    return True


async def progress(ctx: Context, customer: Customer) -> str:
    """The customer's stage and latest confirmed records, as one message (also a digest risk's link)."""
    records = (await ctx.session.execute(
        select(ActionRecord).where(col(ActionRecord.customer_id) == customer.id, col(ActionRecord.status).in_(REAL))
        .order_by(col(ActionRecord.created_at).desc()).limit(LIMIT))).scalars().all()
    tz = ZoneInfo(ctx.settings.timezone)
    lines = [f"📋 {customer.name}（{customer.stage}）最近进展："]
    if not records:
        lines.append("还没有已确认的动作记录。")
    for r in records:
        when = r.created_at.astimezone(tz).strftime("%m-%d")
        nxt = f"，下次跟进 {r.next_touch:%m-%d}" if r.next_touch else ""
        lines.append(f"• {when} {TYPE_LABELS.get(r.type.value, r.type.value)}：{r.text[:40]}{nxt}")
    return "\n".join(lines)
