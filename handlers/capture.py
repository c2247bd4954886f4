"""Capture: a rep's message becomes a draft action record plus a confirmation card.

The tagger sits behind ``understand`` so it can be swapped; the card offers one-tap fixes and
asks instead of guessing when the tagger is unsure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import bindparam, insert, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.confirmation import ConfirmationView, build_confirmation, fmt_money
from cards.model import Card, Fact
from handlers.context import Context
from handlers.domain import RecordConfirmed
from handlers.event import Event
from handlers.people import STALE, refusal
from handlers.router import Capability
from handlers.understanding import Understanding, understand
from handlers.understanding.money import find_money
from storage.models import ActionRecord, ActionType, Customer, Person, RecordStatus
from storage.models import Card as CardRow
from storage.upsert import table as core_table

KIND = "confirmation"
CANDIDATE_LIMIT = 6
AMOUNTS = ("quote_amount", "payment_amount", "contract_amount")
AUTOFILL_HISTORY = 20  # the newest records say enough about needs and money
MAX_NEXT_TOUCH_DAYS = 366


async def capture_text(ctx: Context, person: Person, event: Event, inbox_id: int | None) -> ActionRecord:
    """Tag the text, store a draft record, and queue its confirmation card."""
    u = _from_contract(event.extra.get("understanding"))  # the LLM's reading, made after the ack
    if u is None:
        directory = await ctx.directory.get(ctx.session)
        u = understand(event.text, event.sent_at.astimezone(ctx.settings.tz), directory)
    record = ActionRecord(
        type=ActionType(u.action_type), customer_id=u.customer_id, rep_id=_id(person), text=event.text,
        source_event_id=inbox_id, next_touch=u.next_touch, budget=u.budget,
        quote_amount=u.quote_amount or _quoted(u, event.text), payment_amount=u.payment_amount,
        contract_amount=u.contract_amount,
        expected_date=u.expected_date,
        promised_date=u.promised_date, contact=u.contact, contact_role=u.contact_role, needs=list(u.needs),
        tags=list(u.tags), confidence=u.confidence, status=RecordStatus.draft, created_at=ctx.now(),
    )
    # a Core insert: the unit-of-work flush cost more than the statement, and nothing edits the draft here
    record.id = (await ctx.session.execute(_INSERT_RECORD, record.model_dump(exclude={"id"}))).scalar_one()
    low = u.confidence < ctx.settings.confidence_threshold or u.customer_id is None
    view: dict[str, object] = {"mode": "ask" if low else "summary", "candidates": u.customer_candidates, "low": low}
    card = await confirmation_card(ctx, record, view)
    await ctx.send_card(card, person_id=_id(person), subject={"record_id": record.id}, view=view)
    return record


async def confirmation_card(
    ctx: Context, record: ActionRecord, view: dict[str, object], problem: str = ""
) -> Card:
    v = ConfirmationView(
        record_id=_id(record), text=record.text, action_type=record.type.value,
        customer_name=await _name(ctx, record.customer_id), next_touch=record.next_touch,
        status="confirmed" if record.status == RecordStatus.confirmed else "draft",
        mode=str(view.get("mode", "summary")), contact=_contact(record), budget=record.budget,
        quote_amount=record.quote_amount, payment_amount=record.payment_amount,
        contract_amount=record.contract_amount,
        expected_date=record.expected_date, promised_date=record.promised_date, needs=list(record.needs),
        candidates=await _candidates(ctx, record, _ids(view)),
        autofill=await _autofill(ctx, record), low_confidence=bool(view.get("low")), problem=problem,
        today=ctx.today(),
    )
    return build_confirmation(v)


def _ids(view: dict[str, object]) -> list[str]:
    raw = view.get("candidates")
    return [str(i) for i in raw] if isinstance(raw, list) else []


def _contact(r: ActionRecord) -> str | None:
    if r.contact and r.contact_role:
        return f"{r.contact}（{r.contact_role}）"
    return r.contact


# Built once (every message asks them; building a statement cost more than running it).
_INSERT_RECORD = insert(core_table(ActionRecord)).returning(core_table(ActionRecord).c.id)
_RECENT_CUSTOMERS = (
    select(col(Customer.id), col(Customer.name))
    .where(col(Customer.owner_id) == bindparam("rep_id"))
    .order_by(col(Customer.last_action_at).desc().nullslast(), col(Customer.id))
    .limit(CANDIDATE_LIMIT)
)
_HISTORY = (
    select(col(ActionRecord.needs), col(ActionRecord.quote_amount), col(ActionRecord.budget))
    .where(col(ActionRecord.customer_id) == bindparam("customer_id"), col(ActionRecord.id) != bindparam("record_id"),
           col(ActionRecord.status) != RecordStatus.rejected)
    .order_by(col(ActionRecord.created_at).desc())
    .limit(AUTOFILL_HISTORY)
)


async def _name(ctx: Context, customer_id: str | None) -> str | None:
    """From the tagger's directory, which this transaction has loaded anyway (names do not change);
    a customer created since it was checked is read from the table."""
    if not customer_id:
        return None
    known = (await ctx.directory.get(ctx.session)).by_id.get(customer_id)
    if known is not None:
        return known.name
    customer = await ctx.session.get(Customer, customer_id)
    return customer.name if customer else None


async def _candidates(ctx: Context, record: ActionRecord, ids: list[str]) -> list[tuple[str, str]]:
    """Tagger candidates first, then the rep's own most recently touched customers."""
    out: list[tuple[str, str]] = []
    for cid in ids:
        if name := await _name(ctx, cid):
            out.append((cid, name))
    for cid, name in (await ctx.session.execute(_RECENT_CUSTOMERS, {"rep_id": record.rep_id})).all():
        if all(cid != known for known, _ in out):
            out.append((cid, name))
    return out[:CANDIDATE_LIMIT]


async def _autofill(ctx: Context, record: ActionRecord) -> list[Fact]:
    """The customer's last 3 need keywords and their budget range from earlier records."""
    if not record.customer_id:
        return []
    history = (await ctx.session.execute(_HISTORY, {"customer_id": record.customer_id, "record_id": record.id})).all()
    needs: list[str] = []
    for r in history:
        for n in r.needs:
            if n not in needs:
                needs.append(n)
    facts = []
    if needs:
        facts.append(Fact("历史需求", "、".join(needs[:3])))
    for label, values in (("历史报价", [r.quote_amount for r in history if r.quote_amount]),
                          ("历史预算", [r.budget for r in history if r.budget])):
        if values:
            lo, hi = min(values), max(values)
            facts.append(Fact(label, fmt_money(lo) if lo == hi else f"{fmt_money(lo)}–{fmt_money(hi)}"))
    return facts


# ---- presses on the confirmation card -------------------------------------------------------------
@dataclass(frozen=True)
class Confirm(CardAction, prefix="confirm"):
    pass


@dataclass(frozen=True)
class Edit(CardAction, prefix="edit"):
    what: Literal["type", "customer", "date"]


@dataclass(frozen=True)
class Back(CardAction, prefix="back"):
    pass


@dataclass(frozen=True)
class SetType(CardAction, prefix="type"):
    type: ActionType


@dataclass(frozen=True)
class PickCustomer(CardAction, prefix="customer"):
    customer_id: str


@dataclass(frozen=True)
class NextTouch(CardAction, prefix="next_touch"):
    """A quick-date button: an ISO day, or ``none`` to clear."""

    day: str


@dataclass(frozen=True)
class NextTouchTyped(CardAction, prefix="next_touch"):
    """The date input: the day comes as the input's value."""

    value: Value


ConfirmationAction = Confirm | Edit | Back | SetType | PickCustomer | NextTouch | NextTouchTyped
ACTIONS = (Confirm, Edit, Back, SetType, PickCustomer, NextTouch, NextTouchTyped)


async def on_confirmation_action(ctx: Context, row: CardRow, presser: Person, action: ConfirmationAction) -> None:
    """Apply one press; only the rep who wrote the record may change it."""
    record = await ctx.session.get(ActionRecord, row.subject.get("record_id"))
    if record is None:
        await ctx.send_text("这条记录已不存在。", person_id=_id(presser))
        return
    if presser.id != record.rep_id:
        owner = await ctx.session.get(Person, record.rep_id)
        await ctx.send_text(refusal(f"{owner.name if owner else '记录人'}本人"), person_id=_id(presser))
        return
    view = dict(row.view)
    if record.status == RecordStatus.confirmed:
        await ctx.send_text("这条记录已经确认过了。", person_id=_id(presser))
        return
    problem = ""
    back = "ask" if view.get("mode") == "ask" else "summary"  # a pick in the ask card keeps the other pickers
    match action:
        case Confirm():
            if record.customer_id is None:
                problem = "请先选择客户再确认" if record.type != ActionType.other else "没有客户的「其他」不算客户动作，请先选客户"
                view["mode"] = "ask" if back == "ask" else "customer"
            else:
                record.status = RecordStatus.confirmed
                record.confirmed_at = ctx.now()
                customer = await ctx.session.get(Customer, record.customer_id)
                if customer is not None:
                    customer.last_action_at = ctx.now()
                await ctx.session.flush()
                await ctx.publish(RecordConfirmed(at=ctx.now(), record_id=_id(record), rep_id=record.rep_id,
                                                  customer_id=record.customer_id))
        case Edit(what=what):
            view["mode"] = what
        case Back():
            view["mode"] = "summary"
        case SetType(type=t):
            record.type = t
            view["mode"] = back
        case PickCustomer(customer_id=cid):
            if not await _offered(ctx, record, view, cid):
                await ctx.send_text(STALE, person_id=_id(presser))
                return
            record.customer_id = cid
            view["mode"] = back
        case NextTouch(day=raw) | NextTouchTyped(value=raw):
            try:
                parsed = _parse_day(raw)
            except ValueError:
                parsed, valid = None, False
            else:
                valid = parsed is None or 0 <= (parsed - ctx.today()).days <= MAX_NEXT_TOUCH_DAYS
            if not valid:
                problem = "日期不对：请选今天起一年内的日期"
            else:
                record.next_touch = parsed
                view["mode"] = back
    row.view = view
    ctx.session.add(record)
    await ctx.update_card(row, await confirmation_card(ctx, record, view, problem))


async def _offered(ctx: Context, record: ActionRecord, view: dict[str, object], cid: str) -> bool:
    """A customer press counts only if that customer was on the card (never trust client values)."""
    offered = await _candidates(ctx, record, _ids(view))
    return any(cid == c for c, _ in offered)


def _from_contract(d: object) -> Understanding | None:
    """Rebuild an Understanding from its contract dict; anything malformed means "tag it here"."""
    if not isinstance(d, dict):
        return None
    try:
        day = {k: date.fromisoformat(d[k]) if d.get(k) else None for k in ("next_touch", "expected_date", "promised_date")}
        money = {k: int(d[k]) if d.get(k) is not None else None for k in AMOUNTS}
        return Understanding(
            action_type=ActionType(d["action_type"]).value, customer_id=d.get("customer_id"),
            customer_candidates=list(d.get("customer_candidates") or []), budget=d.get("budget"),
            contact=d.get("contact"), contact_role=d.get("contact_role"), needs=list(d.get("needs") or []),
            tags=list(d.get("tags") or []), confidence=float(d.get("confidence") or 0),
            next_touch=day["next_touch"], expected_date=day["expected_date"], promised_date=day["promised_date"],
            quote_amount=money["quote_amount"], payment_amount=money["payment_amount"],
            contract_amount=money["contract_amount"],
        )
    except (KeyError, TypeError, ValueError):
        return None


def _quoted(u: Understanding, text: str) -> int | None:
    """On a quote record, the amount we quoted (the tagger keeps ``budget`` for the customer's own)."""
    if u.action_type != ActionType.quote.value:
        return None
    amounts = [m.amount for m in find_money(text) if m.amount != u.budget]
    return amounts[0] if amounts else None


def _parse_day(value: str) -> date | None:
    """'none' clears the date; anything else must be an ISO day (ValueError otherwise)."""
    return None if value == "none" else date.fromisoformat(value)


def _id(obj: Person | ActionRecord) -> int:
    assert obj.id is not None
    return obj.id


capability = Capability("capture")
capability.card(KIND, *ACTIONS)(on_confirmation_action)
