"""Red/yellow warnings (红黄灯预警): stale leads, new leads not contacted in time, overdue next touches.

Each card is a row in ``warning`` keyed by (kind, episode, level, audience): a scan that runs again,
on this node or another, inserts nothing and sends nothing. A real action clears a customer's warnings
and its block reason; a block reason (set from the card by the owner's supervisor chain) silences them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.model import Fact
from cards.reason import REASONS, reason_label
from cards.warning import WarningView, build_warning
from handlers.context import Context, NoRoute
from handlers.domain import RecordConfirmed
from handlers.people import STALE, refusal, supervisor_chain
from handlers.rhythm import Calendar, Rules, customers_with_latest, in_chain
from storage.models import Card as CardRow
from storage.models import Customer, Person, WarningRecord, WarningStatus
from storage.upsert import dialect_of, insert_ignore

log = logging.getLogger("actionflow.warnings")

KIND = "warning"
NOTE_MAX = 100


async def scan(ctx: Context, rules: Rules, calendar: Calendar) -> int:
    """One pass over every owned, unblocked customer; returns how many cards went out."""
    now, today = ctx.now(), ctx.today()
    stale_before = now - timedelta(hours=rules.stale_lead_hours)
    first_before = now - timedelta(hours=rules.first_contact_hours)
    new_after = now - timedelta(days=rules.first_contact_window_days)
    q = customers_with_latest(dialect_of(ctx.session)).add_columns(col(Customer.assigned_at)).where(
        col(Customer.owner_id).is_not(None), col(Customer.block_reason).is_(None))
    sent = 0
    chains: dict[int, list[Person]] = {}
    for cid, label, owner_id, stage, created, last_at, _blocked, rec_id, next_touch, _t, assigned in (
        await ctx.session.execute(q)
    ).all():
        if owner_id not in chains:
            chains[owner_id] = [p for p in await supervisor_chain(ctx.session, owner_id) if p.active]
        chain = chains[owner_id]
        sup = chain[:1]
        if last_at is None:
            # the clock starts when the owner was given the lead (a re-assignment restarts it), else at entry
            start = assigned or created
            episode = f"{cid}@a{assigned.isoformat()}" if assigned else cid
            fact = Fact("分配时间", _local(ctx, assigned)) if assigned else Fact("录入时间", _local(ctx, created))
            if new_after <= start <= first_before:
                hours = int((now - start).total_seconds() // 3600)
                if now - start >= timedelta(hours=rules.first_contact_director_hours):
                    sent += await _warn(ctx, "first_contact", cid, episode, "red", chain[1:2] or sup, label,
                                        owner_id, hours=hours, facts=[fact])
                else:
                    sent += await _warn(ctx, "first_contact", cid, episode, "yellow", sup, label, owner_id,
                                        hours=rules.first_contact_hours, facts=[fact])
            continue
        stale_red_to: set[int | None] = set()
        if last_at < stale_before and stage not in rules.closed_stages:
            bps = await _people_named(ctx, rules.sales_bp)
            hours = int((now - last_at).total_seconds() // 3600)
            audience = sup + [b for b in bps if all(b.id != s.id for s in sup)]
            sent += await _warn(ctx, "stale_lead", cid, f"{cid}@{last_at.isoformat()}", "red", audience, label,
                                owner_id, hours=hours, facts=[Fact("阶段", stage), Fact("最近动作", _local(ctx, last_at))])
            stale_red_to = {p.id for p in audience}
        if next_touch is not None and next_touch <= today:
            n = calendar.workdays_after(next_touch, today)
            level = "nudge" if n == 0 else ("red" if n >= rules.overdue_red_days else "yellow")
            owner = await ctx.session.get(Person, owner_id)
            audience = [owner] if owner is not None and owner.active else []
            if level == "red":  # one red per customer for a supervisor: a stale-lead red already says it
                audience += [s for s in sup if s.id not in stale_red_to and not await _open_stale(ctx, cid, s)]
            facts = [Fact("原定跟进", f"{next_touch.month}月{next_touch.day}日"), Fact("阶段", stage)]
            sent += await _warn(ctx, "overdue", cid, f"{cid}@r{rec_id}", level, audience, label, owner_id,
                                workdays=n, facts=facts)
    return sent


async def _warn(ctx: Context, kind: str, customer_id: str, episode: str, level: str, audience: list[Person],
                label: str, owner_id: int, *, hours: int = 0, workdays: int = 0, facts: list[Fact]) -> int:
    """Insert-or-ignore one warning per recipient; a card goes out only for rows this call inserted."""
    owner = await ctx.session.get(Person, owner_id)
    sent = 0
    for person in audience:
        assert person.id is not None
        key = {"kind": kind, "episode": episode, "level": level, "audience_id": person.id}
        if not await insert_ignore(ctx.session, WarningRecord, {
            **key, "customer_id": customer_id, "status": WarningStatus.open, "created_at": ctx.now(),
        }):
            continue
        can_block = person.id != owner_id and await in_chain(ctx.session, person, owner_id)
        view = WarningView(kind=kind, level=level, customer_name=label, owner_name=owner.name if owner else "",
                           facts=facts, hours=hours, workdays=workdays, can_block=can_block)
        subject = {**key, "customer_id": customer_id, "owner_id": owner_id, "hours": hours, "workdays": workdays,
                   "facts": [[f.label, f.value] for f in facts], "label": label}
        try:
            card_id = await ctx.send_card(build_warning(view), person_id=person.id, subject=subject)
        except NoRoute:
            log.warning("warning recipient unreachable", extra={"person_id": person.id})
            continue
        await ctx.session.execute(update(WarningRecord).filter_by(**key).values(card_id=card_id))
        sent += 1
    return sent


def _local(ctx: Context, at: datetime) -> str:
    return at.astimezone(ctx.settings.tz).strftime("%m-%d %H:%M")


async def _open_stale(ctx: Context, customer_id: str, person: Person) -> bool:
    q = select(col(WarningRecord.id)).where(
        col(WarningRecord.customer_id) == customer_id, col(WarningRecord.kind) == "stale_lead",
        col(WarningRecord.audience_id) == person.id, col(WarningRecord.status) == WarningStatus.open).limit(1)
    return (await ctx.session.execute(q)).first() is not None


async def _people_named(ctx: Context, names: tuple[str, ...]) -> list[Person]:
    if not names:
        return []
    q = select(Person).where(col(Person.name).in_(names), col(Person.active).is_(True)).order_by(col(Person.id))
    return list((await ctx.session.execute(q)).scalars())


# ---- cards: render, clear, block ---------------------------------------------------------------
async def _view(ctx: Context, row: CardRow, w: WarningRecord, presser: Person | None = None,
                problem: str = "") -> WarningView:
    s = row.subject
    owner = await ctx.session.get(Person, int(s["owner_id"]))
    customer = await ctx.session.get(Customer, str(s["customer_id"]))
    audience = await ctx.person(row.audience_id)
    block_label = ""
    if customer is not None and customer.block_reason:
        by = await ctx.session.get(Person, customer.blocked_by) if customer.blocked_by else None
        block_label = reason_label(customer.block_reason, customer.block_note) + (f"（{by.name}）" if by else "")
    return WarningView(
        kind=w.kind, level=w.level, customer_name=str(s.get("label", "")), owner_name=owner.name if owner else "",
        facts=[Fact(str(a), str(b)) for a, b in s.get("facts", [])], hours=int(s.get("hours", 0)),
        workdays=int(s.get("workdays", 0)), status=w.status.value, block_label=block_label,
        can_block=(owner is not None and owner.id is not None and audience.id != owner.id
                   and await in_chain(ctx.session, audience, owner.id)),
        problem=problem,
    )


async def _record_of(ctx: Context, row: CardRow) -> WarningRecord | None:
    s = row.subject
    q = select(WarningRecord).filter_by(kind=s["kind"], episode=s["episode"], level=s["level"],
                                        audience_id=s["audience_id"])
    return (await ctx.session.execute(q)).scalar_one_or_none()


async def _rerender(ctx: Context, warnings: list[WarningRecord]) -> None:
    for w in warnings:
        row = await ctx.session.get(CardRow, w.card_id) if w.card_id else None
        if row is not None:
            await ctx.update_card(row, build_warning(await _view(ctx, row, w)))


async def clear_for_customer(ctx: Context, customer_id: str) -> None:
    """A real action: open and blocked warnings turn "cleared", and the block reason goes."""
    customer = await ctx.session.get(Customer, customer_id)
    if customer is not None and customer.block_reason:
        customer.block_reason = customer.block_note = None
        customer.blocked_by = None
        customer.blocked_at = None
    rows = (await ctx.session.execute(
        select(WarningRecord).where(col(WarningRecord.customer_id) == customer_id,
                                    col(WarningRecord.status).in_([WarningStatus.open, WarningStatus.blocked]))
    )).scalars().all()
    for w in rows:
        w.status = WarningStatus.cleared
        w.cleared_at = ctx.now()
    await ctx.session.flush()
    await _rerender(ctx, list(rows))


@dataclass(frozen=True)
class Block(CardAction, prefix="block"):
    """A block reason; ``other`` comes from the note input with its text as the value."""

    code: str
    note: Value


ACTIONS = (Block,)


async def record_confirmed(ctx: Context, event: RecordConfirmed) -> None:
    """A real action is the only thing that clears a customer's warnings."""
    if event.customer_id is not None:
        await clear_for_customer(ctx, event.customer_id)


async def on_action(ctx: Context, row: CardRow, presser: Person, action: Block) -> None:
    """Set a block reason: only the owner's supervisor chain (the router checked the card offers it)."""
    assert presser.id is not None
    owner_id = int(row.subject["owner_id"])
    w = await _record_of(ctx, row)
    if not await in_chain(ctx.session, presser, owner_id):
        owner = await ctx.person(owner_id)
        await ctx.send_text(refusal(f"{owner.name}的上级主管"), person_id=presser.id)
        return
    if w is None:
        await ctx.send_text(STALE, person_id=presser.id)
        return
    code, value = action.code, str(action.note)
    note = re.sub(r"\s+", " ", value).strip() if code == "other" else None
    if code not in REASONS or (code == "other" and not note) or (note and len(note) > NOTE_MAX):
        problem = "选「其他」需要写一句说明" if code == "other" else "原因无效"
        await ctx.update_card(row, build_warning(await _view(ctx, row, w, problem=problem)))
        return
    customer = await ctx.session.get(Customer, w.customer_id)
    assert customer is not None
    customer.block_reason, customer.block_note = code, note
    customer.blocked_by, customer.blocked_at = presser.id, ctx.now()
    rows = (await ctx.session.execute(
        select(WarningRecord).where(col(WarningRecord.customer_id) == w.customer_id,
                                    col(WarningRecord.status) == WarningStatus.open)
    )).scalars().all()
    for r in rows:
        r.status = WarningStatus.blocked
    await ctx.session.flush()
    await _rerender(ctx, list(rows))
