"""Capture: a rep's message becomes a draft action record plus a confirmation card.

The tagger sits behind ``understand`` so it can be swapped; the card offers one-tap fixes and
asks instead of guessing when the tagger is unsure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import bindparam, insert, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.confirmation import EDITABLE, VALUE_MODES, ConfirmationView, build_confirmation, fmt_money
from cards.model import Card, Fact
from handlers.context import Context
from handlers.domain import CollabRequested, RecordConfirmed
from handlers.event import Event
from handlers.people import STALE, refusal
from handlers.router import Capability
from handlers.understanding import Understanding, understand
from handlers.understanding.dates import find_dates
from handlers.understanding.money import find_money
from storage.models import ActionRecord, ActionType, Customer, Person, RecordStatus
from storage.models import Card as CardRow
from storage.upsert import table as core_table

KIND = "confirmation"
CANDIDATE_LIMIT = 6
PICKING_CUSTOMER = ("ask", "customer")  # the only views that list customers (a query per card otherwise)
AMOUNTS = ("quote_amount", "payment_amount", "contract_amount")
AUTOFILL_HISTORY = 20  # the newest records say enough about needs and money
MAX_NEXT_TOUCH_DAYS = 366
MAX_AMOUNT = 10**11  # 1000亿: anything larger is a typo
BAD_DAY = "日期不对：请选今天起一年内的日期"
BAD_AMOUNT = "金额不对：请回复如 35万、80w、120000 这样的金额"


async def capture_text(ctx: Context, person: Person, event: Event, inbox_id: int | None) -> ActionRecord | None:
    """Tag the text, store a draft record, and queue its confirmation card. A bare value ("35万", "1月20号")
    while the rep's newest card waits for one fills that field instead (WeCom cards have no text input)."""
    if _value_like(event.text) and await _fill_waiting_field(ctx, person, event):
        return None
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
        candidates=await _candidates(ctx, record, _ids(view)) if view.get("mode") in PICKING_CUSTOMER else [],
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
    what: Literal["type", "customer", "date", "fields"]


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


FieldName = Literal["budget", "quote_amount", "payment_amount", "contract_amount", "expected_date", "promised_date"]


@dataclass(frozen=True)
class EditField(CardAction, prefix="field"):
    """Open one amount or date for editing."""

    name: FieldName


@dataclass(frozen=True)
class SetField(CardAction, prefix="set"):
    """A quick-date button, or ``none`` (清除)."""

    name: FieldName
    arg: str


@dataclass(frozen=True)
class SetFieldTyped(CardAction, prefix="set"):
    """The field's input (a date picker, or a text box for an amount): the value comes as the input's value."""

    name: FieldName
    value: Value


@dataclass(frozen=True)
class Collab(CardAction, prefix="collab"):
    """需要协同 on a confirmed record: the tasks capability proposes a role and a person."""


ConfirmationAction = (Collab | Confirm | Edit | Back | SetType | PickCustomer | NextTouch | NextTouchTyped | EditField
                      | SetField | SetFieldTyped)
ACTIONS = (Collab, Confirm, Edit, Back, SetType, PickCustomer, NextTouch, NextTouchTyped, EditField, SetField, SetFieldTyped)


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
    if isinstance(action, Collab):
        if record.status != RecordStatus.confirmed or record.customer_id is None:
            await ctx.send_text("请先确认这条记录（含客户），再发起协同。未做任何修改。", person_id=_id(presser))
            return
        await ctx.publish(CollabRequested(at=ctx.now(), record_id=_id(record), rep_id=record.rep_id,
                                          customer_id=record.customer_id))
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
            problem = _set(ctx, record, "next_touch", raw)
            if not problem:
                view["mode"] = back
        case EditField(name=name):
            view["mode"] = f"field:{name}"
        case SetField(name=name, arg=raw) | SetFieldTyped(name=name, value=raw):
            problem = _set(ctx, record, name, raw)
            if not problem:
                view["mode"] = back
    row.view = view
    ctx.session.add(record)
    await ctx.update_card(row, await confirmation_card(ctx, record, view, problem))


def _set(ctx: Context, record: ActionRecord, name: str, raw: str) -> str:
    """Store one edited field from a press or a reply; the problem to show when the value is not usable."""
    raw = raw.strip()
    if name == "next_touch" or EDITABLE[name][1] == "date":
        try:
            day = _parse_day(raw)
        except ValueError:
            return BAD_DAY
        if day is not None and not 0 <= (day - ctx.today()).days <= MAX_NEXT_TOUCH_DAYS:
            return BAD_DAY
        setattr(record, name, day)
        return ""
    amount = None if raw == "none" else parse_amount(raw)
    if raw != "none" and (amount is None or not 0 < amount < MAX_AMOUNT):
        return BAD_AMOUNT
    setattr(record, name, amount)
    return ""


_FILLER = re.compile(r"[\s，。,.!！:：]*(?:改为|改成|改|是|为|到)?[\s，。,.!！:：]*")
_BARE_YUAN = re.compile(r"\d{1,12}(?:元|块)?")
_CLEAR = re.compile(r"清除|清空|不设|没有|无")


def parse_amount(text: str) -> int | None:
    """A reply that is one amount and nothing else ("35万", "三十五个w", "120000", "改成80w"), in yuan;
    its range is checked by the caller, so that "0元" is answered as a wrong amount, not taken as a record."""
    text = text.strip()
    if _BARE_YUAN.fullmatch(text):
        return int(re.sub(r"\D", "", text))
    found = find_money(text)
    if len(found) != 1:
        return None
    m = found[0]
    return m.amount if _FILLER.fullmatch(text[: m.start]) and _FILLER.fullmatch(text[m.end:]) else None


def _reply_day(text: str, now: datetime) -> date | None:
    """A reply that is one resolved date and nothing else ("1月20号", "下周三", "改到周五")."""
    found = [d for d in find_dates(text, now) if d.value is not None]
    if len(found) != 1:
        return None
    d = found[0]
    return d.value if _FILLER.fullmatch(text[: d.start]) and _FILLER.fullmatch(text[d.end:]) else None


def _value_like(text: str) -> bool:
    """Cheap test before any query: only a short message can be a bare value."""
    return 0 < len(text.strip()) <= 16


_NEWEST_CARD = (
    select(CardRow)
    .where(col(CardRow.kind) == KIND, col(CardRow.audience_id) == bindparam("person_id"),
           col(CardRow.platform) == bindparam("platform"))
    .order_by(col(CardRow.created_at).desc())
    .limit(1)
)


async def _fill_waiting_field(ctx: Context, person: Person, event: Event) -> bool:
    """Apply a reply to the rep's newest confirmation card when that card waits for a value; False when
    it does not, or the reply is not a value of the kind it waits for (then the message is a new record)."""
    row = (await ctx.session.execute(_NEWEST_CARD, {"person_id": _id(person), "platform": event.platform})).scalar()
    mode = str(row.view.get("mode", "")) if row is not None else ""
    if row is None or mode not in VALUE_MODES:
        return False
    record = await ctx.session.get(ActionRecord, row.subject.get("record_id"))
    if record is None or record.status != RecordStatus.draft or record.rep_id != person.id:
        return False
    name = "next_touch" if mode == "date" else mode[6:]
    text = event.text.strip()
    if _CLEAR.fullmatch(text):
        raw = "none"
    elif name == "next_touch" or EDITABLE[name][1] == "date":
        day = _reply_day(text, event.sent_at.astimezone(ctx.settings.tz))
        if day is None:
            return False
        raw = day.isoformat()
    else:
        amount = parse_amount(text)
        if amount is None:
            return False
        raw = str(amount)
    view = dict(row.view)
    problem = _set(ctx, record, name, raw)
    if not problem:
        view["mode"] = "summary"
    row.view = view
    ctx.session.add(record)
    await ctx.update_card(row, await confirmation_card(ctx, record, view, problem))
    return True


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
