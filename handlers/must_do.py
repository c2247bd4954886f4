"""The morning "今日3件必做": ranked proposals, the rep's pick, "done" (by button or by a matching record),
the supervisor's team board, and the end of the day when unfinished items turn red.

Proposals come from each owned customer's *latest* real record (one backwards step on the
(customer_id, created_at) index), so building a card costs the same with two weeks or two years of history.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, case, func, insert, or_, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.confirmation import TYPE_LABELS
from cards.model import Card
from cards.must_do import MustDoItem, MustDoView, build_must_do
from cards.team_board import BoardView, RepProgress, build_team_board
from handlers.clock import day_bounds
from handlers.context import Context, OutgoingCard
from handlers.domain import RecordConfirmed
from handlers.people import STALE, refusal
from handlers.rhythm import Rules, cards_of, customers_with_latest, direct_supervisor, short_name
from storage.models import (
    ActionRecord,
    ChecklistItem,
    Customer,
    MustDo,
    MustDoStatus,
    Person,
    Role,
)
from storage.models import Card as CardRow
from storage.upsert import dialect_of

log = logging.getLogger("actionflow.must_do")

KIND = "must_do"
BOARD = "team_board"
CUSTOM_MAX = 60


@dataclass(frozen=True)
class Proposal:
    source: str  # overdue | new | stale | checklist | today
    customer_id: str
    record_id: int | None
    title: str


async def propose(ctx: Context, rules: Rules, rep_id: int) -> list[Proposal]:
    """Rank one rep's customers (see ``propose_many``)."""
    return (await propose_many(ctx, rules, [rep_id])).get(rep_id, [])


async def propose_many(ctx: Context, rules: Rules, rep_ids: list[int]) -> dict[int, list[Proposal]]:
    """Rank each rep's customers: overdue next touches, then stale (and new) leads, then open checklist
    items, then touches planned for today; one proposal per customer, at most ``must_do_proposals``.

    The database sorts each customer into its group and keeps the first ``must_do_proposals`` of every
    group per rep (those always fill the card: a customer is in one group, so n of a group are n distinct
    customers), so a rep's forty customers cost a handful of rows, not forty decoded ones."""
    today, now = ctx.today(), ctx.now()
    keep = rules.must_do_proposals
    rows = (await ctx.session.execute(ranked_candidates(
        dialect_of(ctx.session), rep_ids, today, now - timedelta(hours=rules.stale_lead_hours),
        rules.closed_stages, keep))).all()
    by_rep: dict[int, dict[int, list[Proposal]]] = {r: {OVERDUE: [], STALE_OR_NEW: [], PLANNED: []} for r in rep_ids}
    for cid, label, owner, last_at, rec_id, next_touch, rtype, group in rows:
        kind = str(rtype.value if rtype else "other")
        verb = TYPE_LABELS[kind] if kind in TYPE_LABELS and kind != "other" else "跟进"
        if group == OVERDUE:
            days = (today - next_touch).days
            p = Proposal("overdue", cid, rec_id, f"{label}：原定{next_touch.month}月{next_touch.day}日跟进，已逾期{days}天")
        elif last_at is None:
            p = Proposal("new", cid, None, f"{label}：新线索，尚未首次联系")
        elif group == STALE_OR_NEW:
            hours = int((now - last_at).total_seconds() // 3600)
            p = Proposal("stale", cid, rec_id, f"{label}：{hours // 24}天没有跟进（上次{verb}）")
        else:
            p = Proposal("today", cid, rec_id, f"{label}：今天计划跟进（上次{verb}）")
        by_rep[owner][group].append(p)
    checklist = await checklist_proposals(ctx, rep_ids)
    out: dict[int, list[Proposal]] = {}
    for rep_id, groups in by_rep.items():
        ranked = groups[OVERDUE] + groups[STALE_OR_NEW] + checklist.get(rep_id, []) + groups[PLANNED]
        seen: set[str] = set()
        mine = []
        for p in ranked:
            if p.customer_id not in seen:
                seen.add(p.customer_id)
                mine.append(p)
        out[rep_id] = mine[:keep]
    return out


OVERDUE, STALE_OR_NEW, PLANNED = 0, 1, 3  # the groups in card order (checklist items, 2, come from their own query)


def ranked_candidates(dialect: str, rep_ids: list[int], today: date, stale_before: datetime,
                      closed_stages: tuple[str, ...], keep: int) -> Select[Any]:
    """(customer, label, owner, last action, record, next touch, type, group) of the first ``keep`` customers
    of each group per rep, ordered as the card ranks them: overdue by the missed date, stale and new by
    their last touch (or entry), planned by record; ties by customer id. Blocked and closed customers
    only count when overdue."""
    c = customers_with_latest(dialect).where(col(Customer.owner_id).in_(rep_ids)).subquery()
    blocked = or_(func.coalesce(c.c.block_reason, "") != "", c.c.stage.in_(closed_stages))
    group = case((c.c.next_touch < today, OVERDUE), (blocked, None),
                 (or_(c.c.last_action_at.is_(None), c.c.last_action_at < stale_before), STALE_OR_NEW),
                 (c.c.next_touch == today, PLANNED), else_=None)
    order = (case((group == OVERDUE, c.c.next_touch)), case((group == STALE_OR_NEW,
             func.coalesce(c.c.last_action_at, c.c.created_at))), case((group == PLANNED, c.c.record_id)), c.c.id)
    n = func.row_number().over(partition_by=(c.c.owner_id, group), order_by=order)
    r = (select(c.c.id, c.c.label, c.c.owner_id, c.c.last_action_at, c.c.record_id, c.c.next_touch, c.c.type,
                group.label("grp"), n.label("n"))
         .where(group.is_not(None)).subquery())
    return (select(r.c.id, r.c.label, r.c.owner_id, r.c.last_action_at, r.c.record_id, r.c.next_touch, r.c.type,
                   r.c.grp).where(r.c.n <= keep).order_by(r.c.owner_id, r.c.grp, r.c.n))


async def checklist_proposals(ctx: Context, rep_ids: list[int]) -> dict[int, list[Proposal]]:
    """Open required stage-gate checks of each rep's customers (at their current stage) rank third:
    one statement for all reps, oldest check first."""
    out: dict[int, list[Proposal]] = {}
    for i in range(0, len(rep_ids), 500):
        q = (select(col(Customer.owner_id), col(Customer.id), col(Customer.name), col(Customer.aliases),
                    col(ChecklistItem.title))
             .join(ChecklistItem, col(ChecklistItem.customer_id) == col(Customer.id))
             .where(col(Customer.owner_id).in_(rep_ids[i:i + 500]), col(ChecklistItem.stage) == col(Customer.stage),
                    col(ChecklistItem.status) == "open", col(ChecklistItem.required).is_(True))
             .order_by(col(Customer.owner_id), col(ChecklistItem.id)))
        for owner, cid, name, aliases, title in (await ctx.session.execute(q)).all():
            out.setdefault(owner or 0, []).append(Proposal("checklist", cid, None, f"{short_name(name, aliases)}：{title}"))
    return out


# ---- the morning run ---------------------------------------------------------------------------
async def send_morning(ctx: Context, rules: Rules, rep_id: int) -> int:
    """Store today's proposals for one rep and queue the card; 0 when the rep cannot be reached."""
    return await send_mornings(ctx, rules, {rep_id: ctx.key_prefix})


async def send_mornings(ctx: Context, rules: Rules, key_prefixes: dict[int, str]) -> int:
    """The morning card for many reps with a handful of bulk statements (5,000 reps at 08:45).

    Same rows as ``Context.send_card`` would write — card row, then the outbox row keyed
    ``<prefix>:1`` — but one multi-row insert per table instead of several round trips per rep."""
    today, now = ctx.today(), ctx.now()
    reps = {p.id: p for p in (await ctx.session.execute(
        select(Person).where(col(Person.id).in_(list(key_prefixes)), col(Person.active).is_(True)))).scalars()}
    routes = await ctx.routes([i for i in reps if i is not None])
    for rep_id in reps:
        if rep_id not in routes:
            log.warning("rep has no reachable identity; no morning card", extra={"person_id": rep_id})
    rep_ids = [r for r in key_prefixes if r in routes]
    if not rep_ids:
        return 0
    proposals = await propose_many(ctx, rules, rep_ids)
    card_ids = {r: secrets.token_urlsafe(12) for r in rep_ids}
    rows = [dict(rep_id=r, local_date=today, rank=n, source=p.source, customer_id=p.customer_id, record_id=p.record_id,
                 title=p.title, chosen=False, status=MustDoStatus.open, card_id=card_ids[r], created_at=now)
            for r in rep_ids for n, p in enumerate(proposals[r], 1)]
    ids: dict[tuple[int, int], int] = {}
    if rows:
        got = await ctx.session.execute(insert(MustDo).returning(col(MustDo.id), col(MustDo.rep_id), col(MustDo.rank)), rows)
        ids = {(rep, rank): i for i, rep, rank in got if i is not None}
    subject_count = rules.must_do_count
    outgoing = []
    for r in rep_ids:
        items = [MustDoItem(id=ids[(r, n)], title=p.title, status="open", source=p.source)
                 for n, p in enumerate(proposals[r], 1)]
        card = build_must_do(MustDoView(rep_name=reps[r].name, day=today, count=subject_count, items=items))
        outgoing.append(OutgoingCard(card, r, {"rep_id": r, "date": today.isoformat(), "count": subject_count},
                                     {"locked": False}, key_prefix=key_prefixes[r], card_id=card_ids[r]))
    return len(await ctx.send_cards(outgoing))


async def morning_reps(ctx: Context) -> list[int]:
    q = select(col(Person.id)).where(col(Person.role) == Role.rep, col(Person.active).is_(True)).order_by(col(Person.id))
    return [i for i in (await ctx.session.execute(q)).scalars() if i is not None]


async def board_supervisors(ctx: Context) -> list[int]:
    """People with at least one active rep reporting directly to them."""
    q = (select(col(Person.supervisor_id)).where(col(Person.role) == Role.rep, col(Person.active).is_(True),
                                            col(Person.supervisor_id).is_not(None))
         .distinct().order_by(col(Person.supervisor_id)))
    return [i for i in (await ctx.session.execute(q)).scalars() if i is not None]


async def send_board(ctx: Context, rules: Rules, supervisor_id: int) -> int:
    return await send_boards(ctx, rules, {supervisor_id: ctx.key_prefix})


async def send_boards(ctx: Context, rules: Rules, key_prefixes: dict[int, str]) -> int:
    """Team boards for many supervisors with a few bulk statements (500 boards beside 5,000 morning cards:
    on PostgreSQL, eight round trips per board cost more than all the reps' cards). Outbox keys are
    ``<prefix>:1``, as ``Context.send_card`` in a unit's context would write."""
    sups = list((await ctx.session.execute(select(Person).where(
        col(Person.id).in_(list(key_prefixes)), col(Person.active).is_(True)).order_by(col(Person.id)))).scalars())
    routes = await ctx.routes([s.id for s in sups if s.id is not None])
    sups = [s for s in sups if s.id in routes]
    today = ctx.today()
    subject = {"date": today.isoformat(), "count": rules.must_do_count}
    boards = await board_cards(ctx, sups, today, rules.must_do_count)
    return len(await ctx.send_cards([OutgoingCard(boards[sid], sid, {"supervisor_id": sid, **subject},
                                                  key_prefix=key_prefixes[sid]) for sid in boards]))


def _id(person: Person) -> int:
    assert person.id is not None
    return person.id


async def board_card(ctx: Context, sup: Person, day: date, count: int) -> Card:
    return (await board_cards(ctx, [sup], day, count))[_id(sup)]


async def board_cards(ctx: Context, sups: list[Person], day: date, count: int) -> dict[int, Card]:
    """Each supervisor's board: their active reps' chosen must-dos of ``day`` and who they escalate to."""
    sup_ids = [_id(s) for s in sups]
    reps = (await ctx.session.execute(
        select(Person).where(col(Person.supervisor_id).in_(sup_ids), col(Person.role) == Role.rep,
                             col(Person.active).is_(True)).order_by(col(Person.id))
    )).scalars().all()
    items = (await ctx.session.execute(
        select(MustDo).where(col(MustDo.rep_id).in_([r.id for r in reps]), col(MustDo.local_date) == day,
                             col(MustDo.chosen).is_(True))
    )).scalars().all() if reps else []
    boss_ids = {s.supervisor_id for s in sups if s.supervisor_id is not None}
    bosses = {b.id: b for b in (await ctx.session.execute(select(Person).where(
        col(Person.id).in_(boss_ids), col(Person.active).is_(True)))).scalars()} if boss_ids else {}
    team: dict[int | None, list[Person]] = defaultdict(list)  # grouped once: 500 boards × 5,000 reps otherwise
    for r in reps:
        team[r.supervisor_id].append(r)
    picked: dict[int, list[MustDo]] = defaultdict(list)
    for i in items:
        picked[i.rep_id].append(i)
    out: dict[int, Card] = {}
    for sup in sups:
        progress = []
        for r in team[sup.id]:
            mine = picked[_id(r)]
            progress.append(RepProgress(
                name=r.name, chosen=len(mine), auto=sum(i.auto for i in mine),
                done=sum(i.status == MustDoStatus.done for i in mine),
                red=sum(i.status == MustDoStatus.red for i in mine),
                reasons_missing=sum(i.status == MustDoStatus.red and not i.reason for i in mine),
                escalated=sum(i.escalated_at is not None for i in mine),
            ))
        boss = bosses.get(sup.supervisor_id)
        out[_id(sup)] = build_team_board(BoardView(supervisor_name=sup.name, day=day, count=count, reps=progress,
                                                   escalated_to=boss.name if boss else ""))
    return out


async def refresh_board(ctx: Context, rep_id: int, day: date) -> None:
    """Re-render the rep's supervisor's board for ``day`` (after a pick, a done, a red or a reason)."""
    sup = await direct_supervisor(ctx.session, rep_id)
    if sup is None or sup.id is None:
        return
    start, _ = day_bounds(day, ctx.settings.tz)
    rows = [r for r in await cards_of(ctx.session, BOARD, sup.id, since=start - timedelta(hours=12))
            if r.subject.get("date") == day.isoformat()]
    for row in rows:
        await ctx.update_card(row, await board_card(ctx, sup, day, int(row.subject.get("count", 3))))


# ---- the rep's presses -------------------------------------------------------------------------
def _item(i: MustDo) -> MustDoItem:
    assert i.id is not None
    return MustDoItem(id=i.id, title=i.title, status=i.status.value, source=i.source, chosen=i.chosen, auto=i.auto)


async def _items(ctx: Context, rep_id: int, day: date) -> list[MustDo]:
    q = select(MustDo).where(col(MustDo.rep_id) == rep_id, col(MustDo.local_date) == day).order_by(col(MustDo.rank))
    return list((await ctx.session.execute(q)).scalars())


async def must_do_card(ctx: Context, row: CardRow, problem: str = "") -> Card:
    rep_id, day = int(row.subject["rep_id"]), date.fromisoformat(str(row.subject["date"]))
    rep = await ctx.person(rep_id)
    items = await _items(ctx, rep_id, day)
    closed = any(i.status in (MustDoStatus.red, MustDoStatus.dropped) for i in items) or bool(row.view.get("closed"))
    view = MustDoView(rep_name=rep.name, day=day, count=int(row.subject.get("count", 3)),
                      items=[_item(i) for i in items], locked=bool(row.view.get("locked")) or closed,
                      closed=closed, problem=problem)
    return build_must_do(view)


@dataclass(frozen=True)
class Pick(CardAction, prefix="pick"):
    """Choose (on) or un-choose (off) a proposal: the press says the state it wants, so repeats are harmless."""

    item_id: int
    state: Literal["on", "off"]

    def offer_key(self) -> str:
        return f"{self.prefix}:{self.item_id}"


@dataclass(frozen=True)
class Custom(CardAction, prefix="custom"):
    text: Value


@dataclass(frozen=True)
class Lock(CardAction, prefix="lock"):
    pass


@dataclass(frozen=True)
class Done(CardAction, prefix="done"):
    item_id: int


ACTIONS = (Pick, Custom, Lock, Done)


async def on_action(ctx: Context, row: CardRow, presser: Person, action: Pick | Custom | Lock | Done) -> None:
    """Only the rep marks their own items, and only on today's card."""
    rep_id, day = int(row.subject["rep_id"]), date.fromisoformat(str(row.subject["date"]))
    assert presser.id is not None
    if presser.id != rep_id:
        rep = await ctx.person(rep_id)
        await ctx.send_text(refusal(f"{rep.name}本人"), person_id=presser.id)
        return
    if day != ctx.today():
        await ctx.send_text(STALE, person_id=presser.id)
        return
    items = {i.id: i for i in await _items(ctx, rep_id, day)}
    count = int(row.subject.get("count", 3))
    chosen = sum(i.chosen for i in items.values())
    problem = ""
    match action:
        case Pick(item_id=item_id, state=state):
            item = items[item_id]
            if state == "on" and not item.chosen and chosen >= count:
                problem = f"已经选了{count}件；先点已选的一件取消，再换别的"
            elif (state == "on") == item.chosen:
                return  # already as wanted (a repeated or concurrent press): nothing to change or redraw
            else:
                item.chosen = state == "on"
        case Custom(text=value):
            text = re.sub(r"\s+", " ", value).strip()
            if not text:
                problem = "请先写下要做的事"
            elif len(text) > CUSTOM_MAX:
                problem = f"写短一点（{CUSTOM_MAX}字以内）"
            else:
                rank = max((i.rank for i in items.values()), default=0) + 1
                ctx.session.add(MustDo(rep_id=rep_id, local_date=day, rank=rank, source="custom", title=text,
                                       chosen=True, card_id=row.id, created_at=ctx.now()))
        case Lock():
            row.view = {**row.view, "locked": True}
        case Done(item_id=item_id):
            item = items[item_id]
            item.status = MustDoStatus.done
            item.done_at = ctx.now()
    await ctx.session.flush()
    await ctx.update_card(row, await must_do_card(ctx, row, problem))
    if isinstance(action, Lock | Done) or (isinstance(action, Custom) and not problem):
        await refresh_board(ctx, rep_id, day)


# ---- a matching action record ------------------------------------------------------------------
async def record_confirmed(ctx: Context, event: RecordConfirmed) -> None:
    """On ``RecordConfirmed``: today's open items for that customer are done (the warnings clear in
    ``warnings.record_confirmed``, which hears the same event)."""
    if event.customer_id is None:
        return
    today = ctx.today()
    record = await ctx.session.get(ActionRecord, event.record_id)
    assert record is not None
    items = (await ctx.session.execute(
        select(MustDo).where(col(MustDo.customer_id) == record.customer_id, col(MustDo.local_date) == today,
                             col(MustDo.rep_id) == record.rep_id, col(MustDo.status) == MustDoStatus.open)
    )).scalars().all()
    for i in items:
        i.status = MustDoStatus.done
        i.done_at = ctx.now()
        i.done_record_id = record.id
    if items:
        await ctx.session.flush()
        for card_id in {i.card_id for i in items if i.card_id}:
            row = await ctx.session.get(CardRow, card_id)
            if row is not None:
                await ctx.update_card(row, await must_do_card(ctx, row))
        if any(i.chosen for i in items):
            await refresh_board(ctx, record.rep_id, today)


# ---- the end of the day ------------------------------------------------------------------------
async def reps_with_items(ctx: Context) -> list[int]:
    q = select(col(MustDo.rep_id)).where(col(MustDo.local_date) == ctx.today()).distinct().order_by(col(MustDo.rep_id))
    return list((await ctx.session.execute(q)).scalars())


async def close_day(ctx: Context, rules: Rules, rep_id: int) -> list[MustDo]:
    """Fix the day's set (a rep who never picked gets the top proposals), turn what is open red,
    close the card. Returns the red items for the reason card."""
    today = ctx.today()
    items = await _items(ctx, rep_id, today)
    if not items:
        return []
    chosen = [i for i in items if i.chosen]
    fill = sorted((i for i in items if not i.chosen), key=lambda i: (i.status != MustDoStatus.done, i.rank))
    for i in fill[: max(0, rules.must_do_count - len(chosen))]:
        i.chosen = i.auto = True
    red = []
    for i in items:
        if i.status == MustDoStatus.open:
            i.status = MustDoStatus.red if i.chosen else MustDoStatus.dropped
            if i.chosen:
                red.append(i)
    await ctx.session.flush()
    for card_id in {i.card_id for i in items if i.card_id}:
        row = await ctx.session.get(CardRow, card_id)
        if row is not None:
            row.view = {**row.view, "locked": True, "closed": True}
            await ctx.update_card(row, await must_do_card(ctx, row))
    return red


async def done_count(ctx: Context, day: date) -> tuple[int, int]:
    """(done, chosen) across the org for a day: the job summary line."""
    q = select(func.count()).select_from(MustDo).where(col(MustDo.local_date) == day, col(MustDo.chosen).is_(True))
    chosen = (await ctx.session.execute(q)).scalar_one()
    done = (await ctx.session.execute(q.where(col(MustDo.status) == MustDoStatus.done))).scalar_one()
    return int(done), int(chosen)


async def today_summary(ctx: Context, rep_id: int) -> str:
    """The answer to 「我的必做」: today's chosen items (or the proposals, if none chosen yet) and their state."""
    items = await _items(ctx, rep_id, ctx.today())
    if not items:
        return "今天还没有必做清单（工作日早上推送）。"
    chosen = [i for i in items if i.chosen]
    mark = {MustDoStatus.done: "✅", MustDoStatus.red: "🔴", MustDoStatus.open: "⬜", MustDoStatus.dropped: "➖"}
    head = "今日必做：" if chosen else "今天还没选定必做，候选如下（在早上的卡片里选）："
    return "\n".join([head, *(f"{mark[i.status]} {i.title}" for i in (chosen or items))])
