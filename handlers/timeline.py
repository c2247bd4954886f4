"""The customer timeline: 「恒远化工 最近进展」 answers with a card of the customer's latest items of every kind
(records, cross-role tasks, approvals, evidence, stage changes) and a link to the whole history on a page.

A question, not a record: it never creates a draft. When the name is not a customer the message is
left to capture (it was probably a report that happened to contain 进展). Only people who work on the
customer get an answer (``may_see``); others are told so, and nothing is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cards.timeline import build_timeline
from handlers.context import Context
from handlers.customer_timeline import KINDS, Item, items, may_see
from handlers.event import Event
from handlers.router import Capability
from storage.customer_keys import NAME, norm_name
from storage.models import Customer, CustomerKey, Person, Role

LIMIT = 8
PATTERN = r"(?P<name>[^\s，,。]{2,30}?)\s*(的)?\s*(最近|近期|最新)?\s*(进展|情况|动态|跟进记录|记录)\s*(如何|怎么样了?|呢)?\s*[?？]?"

PageLink = Callable[[str, datetime], str]
NOT_YOURS = "⛔ 「{name}」的进展只对负责这个客户的人可见（负责人、其上级、协同任务的负责人和经理）。未做任何修改。"


async def find_customer(ctx: Context, name: str) -> Customer | None:
    """A full name or alias, else a unique prefix of one (at least 2 characters; spaces and full-width forms
    ignored) — read from the 查重 keys, so the question costs the same however many customers there are."""
    key = norm_name(name)
    if len(key) < 2:
        return None
    k: Any = col(CustomerKey.key)
    if ctx.session.bind is not None and ctx.session.bind.dialect.name == "postgresql":
        k = k.collate("C")  # code point order, as SQLite compares, for the prefix range below
    names = select(col(CustomerKey.customer_id)).where(col(CustomerKey.kind) == NAME)
    cid = (await ctx.session.execute(names.where(k == key).order_by(col(CustomerKey.customer_id)).limit(1))).scalar()
    if cid is None:
        upper = key[:-1] + chr(ord(key[-1]) + 1) if ord(key[-1]) < 0x10FFFF else key + "\U0010ffff"
        ids = (await ctx.session.execute(names.where(k >= key, k < upper).distinct().limit(2))).scalars().all()
        cid = ids[0] if len(ids) == 1 else None
    return await ctx.session.get(Customer, cid) if cid is not None else None


def line(ctx: Context, item: Item) -> str:
    when = item.at.astimezone(ctx.settings.tz).strftime("%m-%d %H:%M")
    who = f" · {item.who}" if item.who else ""
    return f"• {when} [{KINDS[item.kind]}] {item.text[:60]}{who}"


async def progress(ctx: Context, customer: Customer) -> str:
    """The customer's stage and latest items of every kind, as one message (also a digest risk's link)."""
    lines = [f"📋 {customer.name}（{customer.stage}）最近进展："]
    got = await items(ctx.session, customer.id, LIMIT)
    lines += [line(ctx, i) for i in got] or ["还没有记录、任务或审批。"]
    return "\n".join(lines)


def make_capability(page_link: PageLink | None = None) -> Capability:
    """``page_link(customer id, now)``: the signed URL of the customer's timeline page (None: no page)."""
    cap = Capability("timeline")

    @cap.command("timeline", PATTERN, "「客户名 最近进展」 — 客户最近的记录、协同、审批、凭证和阶段变化，附完整时间线链接",
                 roles={Role.rep, Role.supervisor, Role.manager, Role.presales, Role.delivery, Role.legal,
                        Role.finance})
    async def answer(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        customer = await find_customer(ctx, m.group("name"))
        if customer is None:
            return False  # not a customer: let capture read it
        assert person.id is not None
        if not await may_see(ctx.session, person, customer):
            await ctx.send_text(NOT_YOURS.format(name=customer.name), person_id=person.id)
            return True
        owner = await ctx.session.get(Person, customer.owner_id) if customer.owner_id else None
        lines = [line(ctx, i) for i in await items(ctx.session, customer.id, LIMIT)]
        link = page_link(customer.id, ctx.now()) if page_link else ""
        await ctx.send_card(build_timeline(customer.name, customer.stage, owner.name if owner else "", lines, link),
                            person_id=person.id, subject={"customer_id": customer.id})
        return True

    return cap


capability = make_capability()
