"""Stage gates (阶段卡点): each customer's stage has a checklist from its industry template; "进入下一阶段"
is refused while a required check is open, unless a supervisor lets it pass with a reason (recorded).

Checks are created the first time a stage's checklist is shown, from the customer's template (chosen once).
A check that demands evidence is done only when that evidence arrives: the rep presses the check's button
and sends the photo / voice / file as the next message (``handlers/replies.py``), or moves a piece of
evidence there from the card that answered it (``handlers/evidence.py``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.checklist import (
    EVIDENCE_LABELS,
    GATE_KIND,
    KIND,
    CheckLine,
    ChecklistView,
    GateView,
    build_checklist,
    build_gate,
    next_stage,
)
from cards.model import Card
from handlers.context import Context, NoRoute
from handlers.domain import StageChanged
from handlers.people import STALE, refusal
from handlers.replies import await_reply
from handlers.rhythm import direct_supervisor, in_chain
from storage.models import Card as CardRow
from storage.models import ChecklistItem, Customer, Person, StageChange
from storage.upsert import insert_ignore

REASON_MAX = 100
CARD_HISTORY = timedelta(days=120)  # older checklist cards are not updated when the stage moves on
# which event kinds count as which evidence: a photo of a signed page is a fine attachment too
ACCEPTS = {"photo": ("image",), "voice": ("voice",), "file": ("file", "image")}


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    required: bool = True
    evidence: str | None = None


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    decision_chain: tuple[str, ...] = ()
    checklists: dict[str, tuple[Check, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class StageRules:
    order: tuple[str, ...] = ("初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款")
    default_template: str = "general"
    templates: dict[str, Template] = field(default_factory=dict)
    checkin_distance_m: int = 500
    exif_skew_min: int = 3
    verify_hours: int = 2
    scan_every_min: int = 15

    def checks(self, template: str | None, stage: str) -> tuple[Check, ...]:
        t = self.templates.get(template or "")
        return t.checklists.get(stage, ()) if t else ()


# ---- items -------------------------------------------------------------------------------------
async def ensure_items(ctx: Context, rules: StageRules, customer: Customer) -> list[ChecklistItem]:
    """The stage's checks for this customer, created from its template on first sight (a repeat is a no-op)."""
    for c in rules.checks(customer.template, customer.stage):
        await insert_ignore(ctx.session, ChecklistItem, {
            "customer_id": customer.id, "stage": customer.stage, "key": c.key, "title": c.title,
            "required": c.required, "evidence_kind": c.evidence, "status": "open", "evidence": {},
            "created_at": ctx.now()})
    return await items_of(ctx, customer.id, customer.stage)


async def items_of(ctx: Context, customer_id: str, stage: str) -> list[ChecklistItem]:
    q = select(ChecklistItem).where(col(ChecklistItem.customer_id) == customer_id, col(ChecklistItem.stage) == stage)
    return list((await ctx.session.execute(q.order_by(col(ChecklistItem.id)))).scalars())


def open_required(items: list[ChecklistItem]) -> list[ChecklistItem]:
    return [i for i in items if i.required and i.status != "done"]


async def complete(ctx: Context, item: ChecklistItem, by: int, entry: dict[str, Any] | None = None) -> None:
    item.status, item.done_at, item.done_by = "done", ctx.now(), by
    if entry:
        item.evidence = entry
        item.record_id = entry.get("record_id") if isinstance(entry.get("record_id"), int) else None
    ctx.session.add(item)


def accepts(item: ChecklistItem, event_kind: str) -> bool:
    return item.evidence_kind is not None and event_kind in ACCEPTS.get(item.evidence_kind, ())


# ---- the card ----------------------------------------------------------------------------------
async def checklist_card(ctx: Context, rules: StageRules, customer: Customer, viewer: Person,
                         view: dict[str, Any], problem: str = "", stage: str | None = None) -> Card:
    stage = stage or customer.stage
    template = rules.templates.get(customer.template or "")
    items = await items_of(ctx, customer.id, stage) if template else []
    names = {p.id: p.name for p in (await ctx.session.execute(
        select(Person).where(col(Person.id).in_({i.done_by for i in items if i.done_by})))).scalars()}
    checks = [CheckLine(id=_id(i), title=i.title, required=i.required, evidence=i.evidence_kind, done=i.status == "done",
                        done_note=_done_note(ctx, i, names)) for i in items]
    owner = customer.owner_id
    return build_checklist(ChecklistView(
        customer=customer.name, stage=stage, order=list(rules.order), template_label=template.label if template else "",
        templates=[(k, t.label) for k, t in rules.templates.items()], checks=checks,
        awaiting=view.get("awaiting_item") if isinstance(view.get("awaiting_item"), int) else None,
        refused=bool(view.get("refused")),
        can_override=owner is not None and owner != viewer.id and await in_chain(ctx.session, viewer, owner),
        override_asked=bool(view.get("override_asked")),
        moved_to=customer.stage if customer.stage != stage else "", problem=problem))


def _done_note(ctx: Context, i: ChecklistItem, names: dict[int | None, str]) -> str:
    if i.status != "done" or i.done_at is None:
        return ""
    at = i.done_at.astimezone(ctx.settings.tz).strftime("%m-%d")
    what = EVIDENCE_LABELS.get(i.evidence_kind or "", "")
    return " · ".join(x for x in (at, names.get(i.done_by, ""), what) if x)


async def push_checklist(ctx: Context, rules: StageRules, customer: Customer) -> str | None:
    """Send the owner the checklist of the customer's current stage (on entering it, or on request)."""
    if customer.owner_id is None:
        return None
    owner = await ctx.person(customer.owner_id)
    return await send_checklist(ctx, rules, customer, owner)


async def send_checklist(ctx: Context, rules: StageRules, customer: Customer, to: Person) -> str | None:
    if customer.template:
        await ensure_items(ctx, rules, customer)
    card = await checklist_card(ctx, rules, customer, to, {})
    try:
        return await ctx.send_card(card, person_id=_id(to), subject={"customer_id": customer.id, "stage": customer.stage})
    except NoRoute:
        return None


# ---- presses -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetTemplate(CardAction, prefix="tpl"):
    key: str


@dataclass(frozen=True)
class Tick(CardAction, prefix="tick"):
    item_id: int


@dataclass(frozen=True)
class AskEvidence(CardAction, prefix="ask"):
    item_id: int


@dataclass(frozen=True)
class Attach(CardAction, prefix="ev"):
    """Evidence sent as the answer to ``AskEvidence`` (the entry comes from our own inbox, as JSON)."""

    item_id: int
    entry: Value


@dataclass(frozen=True)
class Next(CardAction, prefix="next"):
    pass


@dataclass(frozen=True)
class AskOverride(CardAction, prefix="ask_override"):
    pass


@dataclass(frozen=True)
class OverrideAsk(CardAction, prefix="override_ask"):
    pass


@dataclass(frozen=True)
class Override(CardAction, prefix="override"):
    reason: Value


@dataclass(frozen=True)
class Deny(CardAction, prefix="deny"):
    pass


CHECKLIST_ACTIONS = (SetTemplate, Tick, AskEvidence, Attach, Next, AskOverride, OverrideAsk, Override)
GATE_ACTIONS = (OverrideAsk, Override, Deny)


def on_checklist(rules: StageRules) -> Any:
    async def handle(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
        customer = await ctx.session.get(Customer, row.subject.get("customer_id"))
        if customer is None:
            await ctx.send_text("这个客户已不存在。", person_id=_id(presser))
            return
        if not await _may_act(ctx, customer, presser):
            await ctx.send_text(refusal("客户负责人或其上级主管"), person_id=_id(presser))
            return
        stage = str(row.subject.get("stage"))
        view = {k: v for k, v in row.view.items() if k not in ("awaiting_item",)}
        if customer.stage != stage:
            await ctx.update_card(row, await checklist_card(ctx, rules, customer, presser, view, stage=stage))
            await ctx.send_text(f"客户已进入「{customer.stage}」，这张清单已过期。未做任何修改。", person_id=_id(presser))
            return
        problem = ""
        match action:
            case SetTemplate(key=key):
                if customer.template:
                    problem = "模板已选定，不能更改"
                elif key not in rules.templates:
                    problem = "没有这个模板"
                else:
                    customer.template = key
                    ctx.session.add(customer)
                    await ctx.session.flush()
                    await ensure_items(ctx, rules, customer)
            case Tick(item_id=item_id):
                item = await _item(ctx, customer, stage, item_id)
                if item is None or item.evidence_kind or item.status == "done":
                    await ctx.send_text(STALE, person_id=_id(presser))
                    return
                await complete(ctx, item, _id(presser))
            case AskEvidence(item_id=item_id):
                item = await _item(ctx, customer, stage, item_id)
                if item is None or not item.evidence_kind or item.status == "done":
                    await ctx.send_text(STALE, person_id=_id(presser))
                    return
                view["awaiting_item"] = item_id
                await await_reply(ctx, row, presser, f"ev:{item_id}", ACCEPTS[item.evidence_kind])
                row.view = {**row.view, "awaiting_item": item_id}
                await ctx.update_card(row, await checklist_card(ctx, rules, customer, presser, row.view))
                return
            case Attach(item_id=item_id, entry=raw):
                await _attach(ctx, rules, customer, stage, item_id, presser, str(raw))
            case Next():
                items = await items_of(ctx, customer.id, stage)
                if not customer.template:
                    problem = "请先选择行业模板"
                elif next_stage(list(rules.order), stage) is None:
                    problem = "已是最后一个阶段"
                elif open_required(items):
                    view["refused"] = True
                else:
                    row.view = view
                    await advance(ctx, rules, customer, presser)
                    return
            case AskOverride():
                problem = await _ask_override(ctx, rules, customer, presser, view)
            case OverrideAsk():
                if not await _above_owner(ctx, customer, presser):
                    await ctx.send_text(refusal("客户负责人的上级主管"), person_id=_id(presser))
                    return
                await await_reply(ctx, row, presser, "override")
                await ctx.send_text("请直接回复一句放行原因（10分钟内），原因会记录在案。", person_id=_id(presser))
                return
            case Override(reason=reason):
                problem = await _override(ctx, rules, customer, presser, str(reason))
                if not problem:
                    return
        row.view = view
        await ctx.update_card(row, await checklist_card(ctx, rules, customer, presser, view, problem))

    return handle


def on_gate(rules: StageRules) -> Any:
    async def handle(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
        customer = await ctx.session.get(Customer, row.subject.get("customer_id"))
        if customer is None or not await _above_owner(ctx, customer, presser):
            await ctx.send_text(refusal("客户负责人的上级主管"), person_id=_id(presser))
            return
        stage = str(row.subject.get("stage"))
        if customer.stage != stage:
            await ctx.update_card(row, await gate_card(ctx, rules, row.subject, "moot"))
            await ctx.send_text(f"{customer.name}已不在「{stage}」，未做任何修改。", person_id=_id(presser))
            return
        match action:
            case OverrideAsk():
                await await_reply(ctx, row, presser, "override")
                await ctx.update_card(row, await gate_card(ctx, rules, row.subject, "open", asking=True))
            case Override(reason=reason):
                problem = await _override(ctx, rules, customer, presser, str(reason))
                if problem:
                    await ctx.update_card(row, await gate_card(ctx, rules, row.subject, "open", problem=problem))
            case Deny():
                row.state = "denied"
                row.subject = {**row.subject, "by": presser.name}
                await ctx.update_card(row, await gate_card(ctx, rules, row.subject, "denied"))
                if customer.owner_id is not None:
                    await ctx.send_text(f"⛔ {presser.name}没有放行{customer.name}进入下一阶段，请先完成必填检查。",
                                        person_id=customer.owner_id)

    return handle


async def gate_card(ctx: Context, rules: StageRules, subject: dict[str, Any], state: str, *, asking: bool = False,
                    problem: str = "") -> Card:
    s = subject
    return build_gate(GateView(rep=str(s.get("rep", "")), customer=str(s.get("customer", "")), stage=str(s.get("stage")),
                               upcoming=str(s.get("upcoming", "")), missing=list(s.get("missing", [])), state=state,
                               reason=str(s.get("reason", "")), by=str(s.get("by", "")), asking_reason=asking,
                               problem=problem))


async def _may_act(ctx: Context, customer: Customer, presser: Person) -> bool:
    return customer.owner_id == presser.id or await _above_owner(ctx, customer, presser)


async def _above_owner(ctx: Context, customer: Customer, presser: Person) -> bool:
    return customer.owner_id is not None and await in_chain(ctx.session, presser, customer.owner_id)


async def _item(ctx: Context, customer: Customer, stage: str, item_id: int) -> ChecklistItem | None:
    item = await ctx.session.get(ChecklistItem, item_id)
    return item if item is not None and item.customer_id == customer.id and item.stage == stage else None


async def _attach(ctx: Context, rules: StageRules, customer: Customer, stage: str, item_id: int, presser: Person,
                  raw: str) -> None:
    item = await _item(ctx, customer, stage, item_id)
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if item is None or item.status == "done" or not isinstance(entry, dict) or not accepts(item, str(entry.get("kind"))):
        await ctx.send_text(STALE, person_id=_id(presser))
        return
    await complete(ctx, item, _id(presser), entry)
    await ctx.send_text(f"✅ 已记为「{item.title}」的凭证。", person_id=_id(presser))


async def _ask_override(ctx: Context, rules: StageRules, customer: Customer, presser: Person,
                        view: dict[str, Any]) -> str:
    if view.get("override_asked"):
        return "已申请过，等待主管处理"
    sup = await direct_supervisor(ctx.session, _id(presser))
    upcoming = next_stage(list(rules.order), customer.stage)
    missing = [i.title for i in open_required(await items_of(ctx, customer.id, customer.stage))]
    if sup is None or upcoming is None or not missing:
        return "没有可以申请放行的主管" if sup is None else "现在不需要放行"
    subject: dict[str, object] = {"customer_id": customer.id, "stage": customer.stage, "upcoming": upcoming, "missing": missing,
               "rep": presser.name, "customer": customer.name}
    try:
        await ctx.send_card(await gate_card(ctx, rules, subject, "open"), person_id=_id(sup), subject=subject)
    except NoRoute:
        return f"{sup.name}暂时联系不上，请直接找主管"
    view["override_asked"] = True
    await ctx.send_text(f"已请{sup.name}处理放行申请。", person_id=_id(presser))
    return ""


async def _override(ctx: Context, rules: StageRules, customer: Customer, presser: Person, reason: str) -> str:
    """A supervisor passes the gate with open checks; the reason and what was missing are recorded."""
    if not await _above_owner(ctx, customer, presser):
        return "只有客户负责人的上级主管可以放行"
    reason = re.sub(r"\s+", " ", reason).strip()
    if not reason:
        return "放行需要写明原因"
    if len(reason) > REASON_MAX:
        return f"原因请控制在{REASON_MAX}字以内"
    missing = [i.title for i in open_required(await items_of(ctx, customer.id, customer.stage))]
    await advance(ctx, rules, customer, presser, reason=reason, missing=missing)
    return ""


async def open_cards(ctx: Context, kind: str, customer_id: str, stage: str) -> list[CardRow]:
    """The still-open cards of one customer's stage (the JSON lookup runs in the database, on recent cards only)."""
    subject = col(CardRow.subject)
    q = select(CardRow).where(col(CardRow.kind) == kind, col(CardRow.state) == "open",
                              col(CardRow.created_at) >= ctx.now() - CARD_HISTORY,
                              subject["customer_id"].as_string() == customer_id, subject["stage"].as_string() == stage)
    return list((await ctx.session.execute(q.order_by(col(CardRow.created_at)))).scalars())


async def advance(ctx: Context, rules: StageRules, customer: Customer, by: Person, *, reason: str | None = None,
                  missing: list[str] | None = None) -> None:
    """Move the customer one stage on: record it, retire the old stage's cards, push the new checklist."""
    old = customer.stage
    new = next_stage(list(rules.order), old)
    if new is None:
        return
    ctx.session.add(StageChange(customer_id=customer.id, old=old, new=new, by_id=by.id, at=ctx.now(),
                                override_reason=reason, missing=list(missing or [])))
    customer.stage = new
    ctx.session.add(customer)
    await ctx.session.flush()
    for row in await open_cards(ctx, KIND, customer.id, old):
        row.state = "moved"
        viewer = await ctx.person(row.audience_id)
        await ctx.update_card(row, await checklist_card(ctx, rules, customer, viewer, row.view, stage=old))
    for row in await open_cards(ctx, GATE_KIND, customer.id, old):
        row.state = "passed" if reason else "moot"
        row.subject = {**row.subject, "reason": reason or "", "by": by.name}
        await ctx.update_card(row, await gate_card(ctx, rules, row.subject, row.state))
    await ctx.publish(StageChanged(at=ctx.now(), customer_id=customer.id, old=old, new=new, by=by.id))
    if reason and customer.owner_id is not None and customer.owner_id != by.id:
        await ctx.send_text(f"✅ {by.name}已放行：{customer.name}进入「{new}」。原因：{reason}", person_id=customer.owner_id)
    await push_checklist(ctx, rules, customer)


def _id(obj: Person | ChecklistItem) -> int:
    assert obj.id is not None
    return obj.id
