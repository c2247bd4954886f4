"""End of day: red must-dos go to the rep's supervisor, who picks a reason category by the deadline;
unanswered cards escalate one level up and mark the supervisor's board.

Every copy of a reason card (the supervisor's, the escalated one) shows the same items, so an answer
from anyone in the rep's supervisor chain updates them all.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.model import Card
from cards.must_do import NEVER_PICKED
from cards.reason import REASONS, ReasonItem, ReasonView, build_reason
from handlers import must_do
from handlers.clock import day_bounds
from handlers.context import Context, NoRoute
from handlers.people import refusal, supervisor_chain
from handlers.rhythm import Rules, cards_of, in_chain
from storage.models import Card as CardRow
from storage.models import MustDo, MustDoStatus, Person

log = logging.getLogger("actionflow.reasons")

KIND = "reason"
NOTE_MAX = 100


async def end_of_day(ctx: Context, rules: Rules, rep_id: int) -> int:
    """Close one rep's day; when items turned red, their supervisor gets the reason card."""
    red = await must_do.close_day(ctx, rules, rep_id)
    today = ctx.today()
    sent = 0
    if red:
        chain = await supervisor_chain(ctx.session, rep_id)
        sup = next((p for p in chain if p.active), None)
        if sup is not None and sup.id is not None:
            subject = {"rep_id": rep_id, "date": today.isoformat(), "item_ids": [i.id for i in red],
                       "deadline": rules.reason_deadline.strftime("%H:%M"), "level": 1, "origin": ""}
            try:
                await ctx.send_card(await reason_card(ctx, subject), person_id=sup.id, subject=subject)
                sent = 1
            except NoRoute:
                log.warning("supervisor unreachable; reason card not sent", extra={"person_id": sup.id})
    await must_do.refresh_board(ctx, rep_id, today)
    return sent


async def reason_card(ctx: Context, subject: dict[str, object], problem: str = "") -> Card:
    rep = await ctx.person(int(str(subject["rep_id"])))
    day = date.fromisoformat(str(subject["date"]))
    deadline = str(subject.get("deadline", "17:00"))
    ids = [int(i) for i in subject.get("item_ids", [])]  # type: ignore[attr-defined]
    rows = {i.id: i for i in (await ctx.session.execute(select(MustDo).where(col(MustDo.id).in_(ids)))).scalars()}
    cutoff = _deadline(day, deadline, ctx)
    items = []
    for i in (rows[k] for k in ids if k in rows):
        by = await ctx.session.get(Person, i.reason_by) if i.reason_by else None
        assert i.id is not None
        items.append(ReasonItem(id=i.id, title=i.title + (NEVER_PICKED if i.auto else ""), reason=i.reason, note=i.reason_note,
                                by_name=by.name if by else "", late=bool(i.reason_at and i.reason_at > cutoff)))
    return build_reason(ReasonView(rep_name=rep.name, day=day, deadline=deadline, items=items,
                                   escalated_from=str(subject.get("escalated_from", "")), problem=problem))


def _deadline(day: date, hhmm: str, ctx: Context) -> datetime:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ctx.settings.tz)


@dataclass(frozen=True)
class Reason(CardAction, prefix="reason"):
    item_id: int
    code: str


@dataclass(frozen=True)
class OtherReason(CardAction, prefix="other"):
    """「其他」 with the supervisor's own words."""

    item_id: int
    note: Value


ACTIONS = (Reason, OtherReason)


async def on_action(ctx: Context, row: CardRow, presser: Person, action: Reason | OtherReason) -> None:
    """Only someone above the rep in the reporting line may answer (the router checked the card offers it)."""
    assert presser.id is not None
    rep_id = int(row.subject["rep_id"])
    if not await in_chain(ctx.session, presser, rep_id):
        rep = await ctx.person(rep_id)
        await ctx.send_text(refusal(f"{rep.name}的上级主管"), person_id=presser.id)
        return
    item_id = action.item_id
    code, value = (action.code, "") if isinstance(action, Reason) else ("other", str(action.note))
    note = re.sub(r"\s+", " ", value).strip() if code == "other" else None
    problem = ""
    if code not in REASONS:
        problem = "原因无效"
    elif code == "other" and not note:
        problem = "选「其他」需要写一句说明"
    elif note and len(note) > NOTE_MAX:
        problem = f"说明请控制在{NOTE_MAX}字以内"
    if problem:
        await ctx.update_card(row, await reason_card(ctx, row.subject, problem))
        return
    item = await ctx.session.get(MustDo, item_id)
    assert item is not None and item.status == MustDoStatus.red and item.reason is None  # the card offered it
    item.reason, item.reason_note, item.reason_by, item.reason_at = code, note, presser.id, ctx.now()
    await ctx.session.flush()
    for copy in await _copies(ctx, row):
        await ctx.update_card(copy, await reason_card(ctx, copy.subject))
    await must_do.refresh_board(ctx, rep_id, date.fromisoformat(str(row.subject["date"])))


async def _copies(ctx: Context, row: CardRow) -> list[CardRow]:
    """The original reason card and its escalated copies."""
    origin = str(row.subject.get("origin") or row.id)
    start, _ = day_bounds(date.fromisoformat(str(row.subject["date"])), ctx.settings.tz)
    return [r for r in await cards_of(ctx.session, KIND, since=start - timedelta(hours=12))
            if r.id == origin or r.subject.get("origin") == origin]


# ---- escalation at the deadline ----------------------------------------------------------------
async def open_reason_cards(ctx: Context) -> list[str]:
    """Today's first-level reason cards sent before the deadline (later ones, after a long outage,
    got no fair chance to be answered and are not escalated)."""
    today = ctx.today()
    start, _ = day_bounds(today, ctx.settings.tz)
    out = []
    for r in await cards_of(ctx.session, KIND, since=start):
        if r.subject.get("level") == 1 and r.subject.get("date") == today.isoformat():
            if r.created_at < _deadline(today, str(r.subject.get("deadline", "17:00")), ctx):
                out.append(r.id)
    return out


async def escalate(ctx: Context, card_id: str) -> int:
    """Items still without a reason: mark them escalated, send a copy to the next level, mark the board."""
    row = await ctx.session.get(CardRow, card_id)
    if row is None:
        return 0
    ids = [int(i) for i in row.subject.get("item_ids", [])]
    open_items = (await ctx.session.execute(
        select(MustDo).where(col(MustDo.id).in_(ids), col(MustDo.reason).is_(None), col(MustDo.escalated_at).is_(None))
    )).scalars().all()
    if not open_items:
        return 0
    for i in open_items:
        i.escalated_at = ctx.now()
    await ctx.session.flush()
    rep_id = int(row.subject["rep_id"])
    sup = await ctx.person(row.audience_id)
    above = [p for p in await supervisor_chain(ctx.session, rep_id) if p.active and p.id != sup.id]
    sent = 0
    if above and above[0].id is not None:
        subject = {**row.subject, "level": 2, "origin": row.id, "escalated_from": sup.name}
        try:
            await ctx.send_card(await reason_card(ctx, subject), person_id=above[0].id, subject=subject)
            sent = 1
        except NoRoute:
            log.warning("next level unreachable; escalation only marked", extra={"person_id": above[0].id})
    await must_do.refresh_board(ctx, rep_id, date.fromisoformat(str(row.subject["date"])))
    return sent
