"""Leads (线索派单): intake from HTTP, CSV or a supervisor's 「新线索 …」, 查重, automatic assignment, lead cards.

Every path ends in ``intake``: the ``lead`` row is inserted first under its unique (source, source
lead id), so a repeated POST, a re-imported file or a redelivered chat message changes nothing. A lead
is matched to an existing customer (exact name or alias, or phone) or becomes a new customer in stage
初步接触; then the rules pick a rep (region → its reps, else the nearest reps by home position; then
tags; then the lowest open load), the rep gets a card at once and the supervisor a card to re-assign.
The first-contact clock (``Customer.assigned_at``) starts at each assignment; the warning scan runs
the 2 h ladder from it, and a confirmed record (a real touch) stops it.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.lead import (
    REP_KIND,
    RETURN_REASONS,
    SUPERVISOR_KIND,
    LeadView,
    build_dispatch_card,
    build_lead_card,
    return_label,
)
from handlers.context import Context, NoRoute
from handlers.domain import RecordConfirmed
from handlers.event import Event
from handlers.people import STALE, refusal, supervisor_chain
from handlers.rhythm import direct_supervisor, in_chain
from handlers.router import Capability
from handlers.understanding.contacts import find_contact
from storage.customer_keys import NAME, norm_name, phone_digits, phone_key
from storage.customer_keys import PHONE as PHONE_KEY
from storage.models import Card as CardRow
from storage.models import Contact, Customer, CustomerKey, Lead, LeadStatus, Person, Role
from storage.upsert import insert_ignore

CHAT_SOURCE = "chat"
CSV_SOURCE = "csv"
NEW_STAGE = "初步接触"
NOTE_MAX = 100
SOURCE_LABELS = {CHAT_SOURCE: "主管录入", CSV_SOURCE: "批量导入"}
PHONE = r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)"


@dataclass(frozen=True)
class AssignmentRules:
    """``leads.assignment`` from the config, plus the first-contact hours the card promises."""

    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    nearest_slack_km: float = 20.0
    max_distance_km: float = 300.0
    rep_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    open_stage: str = NEW_STAGE
    first_contact_hours: int = 2


class LeadInput(BaseModel):
    """One lead as any path delivers it; the HTTP body, a CSV row and a parsed chat message all become this."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lead_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@/-]+$")
    company: str = Field(min_length=2, max_length=100)
    contact: str | None = Field(None, max_length=30)
    phone: str | None = Field(None, max_length=24)
    region: str | None = Field(None, max_length=32)
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    tags: list[str] = Field(default_factory=list, max_length=10)
    note: str = Field("", max_length=500)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not re.fullmatch(r"\+?[\d\s-]{5,24}", v):
            raise ValueError("phone: digits, spaces, - and a leading + only")
        return v

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = [t.strip() for t in v if t.strip()]
        if any(len(t) > 20 for t in out):
            raise ValueError("a tag is at most 20 characters")
        return list(dict.fromkeys(out))

    @field_validator("contact", "region")
    @classmethod
    def _empty_is_none(cls, v: str | None) -> str | None:
        return v or None

    @model_validator(mode="after")
    def _both_coordinates(self) -> LeadInput:
        if (self.lat is None) != (self.lng is None):
            raise ValueError("lat and lng come together")
        return self


@dataclass
class IntakeResult:
    lead: Lead
    created: bool  # False: this (source, lead id) arrived before; nothing changed
    owner: Person | None = None
    why: str = ""


async def find_existing(ctx: Context, company: str, phone: str | None) -> Customer | None:
    """查重: the same full name or alias (ignoring spaces and full-width forms), else a contact's phone — one
    indexed lookup on ``customer_key`` each, however many customers there are (the earliest id wins a tie)."""
    want = [(NAME, norm_name(company))]
    if (pk := phone_key(phone)) is not None:
        want.append((PHONE_KEY, pk))
    for kind, key in want:
        cid = (await ctx.session.execute(
            select(col(CustomerKey.customer_id)).where(col(CustomerKey.kind) == kind, col(CustomerKey.key) == key)
            .order_by(col(CustomerKey.customer_id)).limit(1))).scalar()
        if cid is not None:
            return await ctx.session.get(Customer, cid)
    return None


async def intake(ctx: Context, source: str, data: LeadInput, rules: AssignmentRules,
                 created_by: int | None = None) -> IntakeResult:
    """Store a lead once, match or create its customer, assign it and send the cards (one transaction)."""
    key = {"source": source, "source_lead_id": data.lead_id}
    now = ctx.now()
    inserted = await insert_ignore(ctx.session, Lead, {
        **key, "company": data.company, "contact": data.contact, "phone": data.phone, "region": data.region,
        "lat": data.lat, "lng": data.lng, "tags": list(data.tags), "note": data.note, "matched": False,
        "status": LeadStatus.unassigned, "returned": [], "supervisor_cards": {}, "created_by": created_by,
        "created_at": now,
    })
    lead = (await ctx.session.execute(select(Lead).filter_by(**key))).scalar_one()
    if not inserted:
        known = await ctx.session.get(Person, lead.owner_id) if lead.owner_id else None
        return IntakeResult(lead, created=False, owner=known)
    assert lead.id is not None
    customer = await find_existing(ctx, data.company, data.phone)
    if customer is None:
        cid = f"L{lead.id:05d}"
        while await ctx.session.get(Customer, cid) is not None:  # an imported id that happens to look like ours
            cid += "x"
        customer = Customer(id=cid, name=data.company, stage=NEW_STAGE, lat=data.lat, lng=data.lng,
                            created_at=now)
        ctx.session.add(customer)
        await ctx.session.flush()
        if data.contact or data.phone:
            ctx.session.add(Contact(customer_id=customer.id, name=data.contact or "联系人", phone=data.phone))
    else:
        lead.matched = True
        if data.phone and not await _has_phone(ctx, customer.id, data.phone):
            ctx.session.add(Contact(customer_id=customer.id, name=data.contact or "联系人", phone=data.phone))
    lead.customer_id = customer.id
    owner: Person | None = None
    why = ""
    if customer.owner_id is not None:  # a customer someone already works: the lead goes to them
        current = await ctx.session.get(Person, customer.owner_id)
        if current is not None and current.active:
            owner, why = current, "已有客户，归原负责人"
    if owner is None:
        owner, why = await choose_rep(ctx, rules, lead)
    await _assign(ctx, rules, lead, customer, owner, why, by=None)
    if owner is None:
        await _send_dispatch(ctx, rules, lead, to=await _dispatchers(ctx, created_by), why="没有可分配的销售")
    return IntakeResult(lead, created=True, owner=owner, why=why)


async def _has_phone(ctx: Context, customer_id: str, phone: str) -> bool:
    rows = (await ctx.session.execute(select(col(Contact.phone)).where(col(Contact.customer_id) == customer_id))).all()
    return any(phone_digits(p) == phone_digits(phone) for (p,) in rows)


# ---- assignment --------------------------------------------------------------------------------
def km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), good enough to tell which rep is nearer."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


async def open_loads(ctx: Context, rules: AssignmentRules, rep_ids: list[int]) -> dict[int, int]:
    """Each rep's open leads: the customers they own in the open stage (初步接触)."""
    rows = (await ctx.session.execute(
        select(col(Customer.owner_id), func.count()).where(col(Customer.owner_id).in_(rep_ids),
                                                           col(Customer.stage) == rules.open_stage)
        .group_by(col(Customer.owner_id)))).all()
    loads = dict.fromkeys(rep_ids, 0)
    loads.update({int(pid): int(n) for pid, n in rows if pid is not None})
    return loads


async def choose_rep(ctx: Context, rules: AssignmentRules, lead: Lead,
                     exclude: frozenset[int] = frozenset()) -> tuple[Person | None, str]:
    """The rules, each narrowing the pool only when it finds someone: region (config, else the reps'
    own region), else nearest by home position; then the most matching tags; then the lowest open load
    (ties: the earliest person). Returns the rep and the reasons, for the cards."""
    reps = [p for p in (await ctx.session.execute(
        select(Person).where(col(Person.role) == Role.rep, col(Person.active).is_(True)).order_by(col(Person.id))
    )).scalars() if p.id not in exclude]
    if not reps:
        return None, ""
    pool, why = reps, []
    region = (lead.region or "").strip()
    named = set(rules.regions.get(region, ())) if region else set()
    by_region = [r for r in pool if r.name in named] or (
        [r for r in pool if r.region and r.region == region] if region else [])
    if by_region:
        pool = by_region
        why.append(f"地区「{region}」")
    elif lead.lat is not None and lead.lng is not None:
        lat, lng = lead.lat, lead.lng
        dist = [(km(lat, lng, r.home_lat, r.home_lng), r) for r in pool
                if r.home_lat is not None and r.home_lng is not None]
        nearest = min((d for d, _ in dist), default=None)
        if nearest is not None and nearest <= rules.max_distance_km:
            pool = [r for d, r in dist if d <= nearest + rules.nearest_slack_km]
            why.append(f"距离最近（约{nearest:.0f}公里）")
    if lead.tags:
        wanted = set(lead.tags)
        score = {r.id: len(wanted & set(rules.rep_tags.get(r.name, ()))) for r in pool}
        best = max(score.values())
        if best > 0:
            pool = [r for r in pool if score[r.id] == best]
            hit = sorted(wanted & {t for r in pool for t in rules.rep_tags.get(r.name, ())})
            why.append(f"标签「{'、'.join(hit)}」")
    ids = [r.id for r in pool if r.id is not None]
    loads = await open_loads(ctx, rules, ids)
    chosen = min(pool, key=lambda r: (loads[r.id or 0], r.id or 0))
    if len(pool) > 1:
        why.append(f"在手新线索最少（{loads[chosen.id or 0]}条）")
    return chosen, "，".join(why) or "按负荷分配"


async def _assign(ctx: Context, rules: AssignmentRules, lead: Lead, customer: Customer, owner: Person | None,
                  why: str, by: int | None) -> None:
    """Give the lead (and its customer) to ``owner``; the clock restarts; the rep's card goes out at once."""
    now = ctx.now()
    lead.owner_id = owner.id if owner else None
    lead.status = LeadStatus.assigned if owner else LeadStatus.unassigned
    lead.assigned_at = now if owner else None
    lead.assigned_by = by
    lead.accepted_at = None
    lead.first_contact_at = None
    fresh = customer.last_action_at is None  # never touched: the first-contact ladder applies
    if owner is not None and (customer.owner_id != owner.id or fresh):
        customer.owner_id = owner.id
        if fresh:
            customer.assigned_at = now
    elif owner is None and fresh:
        customer.owner_id = None
        customer.assigned_at = None
    await ctx.session.flush()
    if owner is None:
        return
    assert owner.id is not None
    try:
        lead.rep_card_id = await ctx.send_card(build_lead_card(await _view(ctx, rules, lead, why=why)),
                                               person_id=owner.id, subject={"lead_id": lead.id, "owner_id": owner.id})
    except NoRoute:
        lead.rep_card_id = None
    sup = await direct_supervisor(ctx.session, owner.id)
    if sup is not None:
        await _send_dispatch(ctx, rules, lead, to=[sup], why=why)


async def _dispatchers(ctx: Context, created_by: int | None) -> list[Person]:
    """Who chooses when no rep fits: the supervisor who typed the lead in, else every active supervisor."""
    if created_by is not None:
        p = await ctx.session.get(Person, created_by)
        if p is not None and p.role in (Role.supervisor, Role.manager):
            return [p]
    return list((await ctx.session.execute(select(Person).where(
        col(Person.role) == Role.supervisor, col(Person.active).is_(True)).order_by(col(Person.id)))).scalars())


async def _send_dispatch(ctx: Context, rules: AssignmentRules, lead: Lead, to: list[Person], why: str) -> None:
    """Every supervisor card of this lead shows the new state (updated in place); ``to`` who has none gets one."""
    cards = dict(lead.supervisor_cards)
    for pid, card_id in cards.items():
        row = await ctx.session.get(CardRow, card_id)
        if row is not None:
            row.subject = {**row.subject, "why": why}
            view = await _view(ctx, rules, lead, why=why, supervisor=await ctx.person(int(pid)))
            await ctx.update_card(row, build_dispatch_card(view))
    for person in to:
        if str(_pid(person)) in cards:
            continue
        view = await _view(ctx, rules, lead, why=why, supervisor=person)
        try:
            cards[str(_pid(person))] = await ctx.send_card(build_dispatch_card(view), person_id=_pid(person),
                                                           subject={"lead_id": lead.id, "why": why})
        except NoRoute:
            continue
    lead.supervisor_cards = cards


async def _choices(ctx: Context, lead: Lead, supervisor: Person) -> list[tuple[int, str]]:
    """The reps a supervisor may hand the lead to: their own team (everyone below them), active, not the owner."""
    reps = (await ctx.session.execute(select(Person).where(
        col(Person.role) == Role.rep, col(Person.active).is_(True)).order_by(col(Person.id)))).scalars().all()
    out = []
    for r in reps:
        if r.id is None or r.id == lead.owner_id:
            continue
        if any(p.id == supervisor.id for p in await supervisor_chain(ctx.session, r.id)):
            out.append((r.id, r.name))
    return out[:8]


def _local(ctx: Context, at: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    return at.astimezone(ctx.settings.tz).strftime(fmt) if at else ""


async def _view(ctx: Context, rules: AssignmentRules, lead: Lead, *, why: str = "", status: str | None = None,
                moved_to: str = "", supervisor: Person | None = None, problem: str = "") -> LeadView:
    customer = await ctx.session.get(Customer, lead.customer_id) if lead.customer_id else None
    owner = await ctx.session.get(Person, lead.owner_id) if lead.owner_id else None
    returned = []
    for r in lead.returned:
        who = await ctx.session.get(Person, int(r["by"]))
        returned.append(f"{who.name if who else '?'}：{return_label(str(r['reason']), r.get('note'))}")
    deadline = ""
    if lead.assigned_at and customer is not None and customer.last_action_at is None:
        deadline = _local(ctx, lead.assigned_at + timedelta(hours=rules.first_contact_hours), "%H:%M")
    return LeadView(
        company=lead.company, source=SOURCE_LABELS.get(lead.source, lead.source), contact=lead.contact or "",
        phone=lead.phone or "", region=lead.region or "", tags=list(lead.tags), note=lead.note,
        matched_stage=customer.stage if lead.matched and customer is not None else "",
        owner_name=owner.name if owner else "", assigned_at=_local(ctx, lead.assigned_at), deadline=deadline,
        why=why, status=status or lead.status.value, moved_to=moved_to, returned=returned,
        choices=await _choices(ctx, lead, supervisor) if supervisor is not None else [], problem=problem,
    )


# ---- presses --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accept(CardAction, prefix="accept"):
    pass


@dataclass(frozen=True)
class Return(CardAction, prefix="return"):
    """A hand-back reason; ``other`` comes from the note input with its text as the value."""

    code: str
    note: Value


@dataclass(frozen=True)
class Reassign(CardAction, prefix="reassign"):
    person_id: int


async def _lead_of(ctx: Context, row: CardRow) -> Lead | None:
    return await ctx.session.get(Lead, row.subject.get("lead_id"))


def _pid(p: Person) -> int:
    assert p.id is not None
    return p.id


def rep_card_handler(rules: AssignmentRules) -> Any:
    async def on_rep_card(ctx: Context, row: CardRow, presser: Person, action: Accept | Return) -> None:
        """Only the rep the card was sent to, and only while the lead is still theirs."""
        lead = await _lead_of(ctx, row)
        owner_id = int(row.subject["owner_id"])
        if presser.id != owner_id:
            owner = await ctx.person(owner_id)
            await ctx.send_text(refusal(f"{owner.name}本人"), person_id=_pid(presser))
            return
        if lead is None or lead.owner_id != owner_id:
            await ctx.send_text(STALE, person_id=_pid(presser))
            return
        match action:
            case Accept():
                lead.status = LeadStatus.accepted
                lead.accepted_at = ctx.now()
                await ctx.update_card(row, build_lead_card(await _view(ctx, rules, lead)))
                await _refresh_dispatch(ctx, rules, lead)
            case Return(code=code, note=value):
                note = re.sub(r"\s+", " ", str(value)).strip() if code == "other" else None
                if (code not in RETURN_REASONS and code != "other") or (code == "other" and not note) or (
                        note and len(note) > NOTE_MAX):
                    problem = "选「其他」需要写一句原因" if code == "other" else "原因无效"
                    await ctx.update_card(row, build_lead_card(await _view(ctx, rules, lead, problem=problem)))
                    return
                lead.returned = [*lead.returned, {"by": owner_id, "reason": code, "note": note,
                                                  "at": ctx.now().isoformat()}]
                await _move(ctx, rules, lead, row, exclude=frozenset(int(r["by"]) for r in lead.returned),
                            status="returned")

    return on_rep_card


def dispatch_card_handler(rules: AssignmentRules) -> Any:
    async def on_dispatch_card(ctx: Context, row: CardRow, presser: Person, action: Reassign) -> None:
        """The supervisor the card went to (or anyone above them) re-assigns to one of the offered reps."""
        lead = await _lead_of(ctx, row)
        audience = await ctx.person(row.audience_id)
        if presser.id != audience.id and not await in_chain(ctx.session, presser, _pid(audience)):
            await ctx.send_text(refusal(f"{audience.name}或其上级"), person_id=_pid(presser))
            return
        if lead is None:
            await ctx.send_text(STALE, person_id=_pid(presser))
            return
        if all(pid != action.person_id for pid, _ in await _choices(ctx, lead, audience)):
            await ctx.send_text(STALE, person_id=_pid(presser))
            return
        target = await ctx.person(action.person_id)
        old = await ctx.session.get(CardRow, lead.rep_card_id) if lead.rep_card_id else None
        await _move(ctx, rules, lead, old, to=target, by=_pid(presser), status="moved")

    return on_dispatch_card


async def _move(ctx: Context, rules: AssignmentRules, lead: Lead, old_card: CardRow | None, *, status: str,
                to: Person | None = None, by: int | None = None, exclude: frozenset[int] = frozenset()) -> None:
    """Hand the lead to ``to`` (a supervisor's choice) or the rules' next rep; the old rep's card closes."""
    customer = await ctx.session.get(Customer, lead.customer_id) if lead.customer_id else None
    assert customer is not None
    previous = lead.owner_id
    why = f"{(await ctx.person(by)).name}改派" if by is not None and to is not None else ""
    if to is None:
        to, rule_why = await choose_rep(ctx, rules, lead, exclude=exclude)
        why = f"退回后重新分配：{rule_why}" if to is not None else ""
    await _assign(ctx, rules, lead, customer, to, why, by=by)
    if old_card is not None and previous is not None:
        view = await _view(ctx, rules, lead, status=status, moved_to=to.name if to else "")
        view.owner_name = (await ctx.person(previous)).name
        await ctx.update_card(old_card, build_lead_card(view))
    if to is None:  # nobody left: the supervisor of whoever handed it back must choose
        sups = [s for s in [await direct_supervisor(ctx.session, previous)] if s is not None] if previous else []
        await _send_dispatch(ctx, rules, lead, to=sups or await _dispatchers(ctx, lead.created_by),
                             why="所有可分配的销售都已退回，请选择")


async def _refresh_dispatch(ctx: Context, rules: AssignmentRules, lead: Lead) -> None:
    for card_id in lead.supervisor_cards.values():
        row = await ctx.session.get(CardRow, card_id)
        if row is not None:
            view = await _view(ctx, rules, lead, why=str(row.subject.get("why", "")),
                               supervisor=await ctx.person(row.audience_id))
            await ctx.update_card(row, build_dispatch_card(view))


# ---- 「新线索 …」 in chat -----------------------------------------------------------------------------
LABELS = r"公司|客户|单位|联系人|联系|电话|手机|地区|区域|坐标|位置|标签|备注"
# a label starts the message or follows a separator (客户 inside 云帆客户服务 is part of a name)
_LABELED = re.compile(rf"(?<![^\s，,。;；、])(?P<label>{LABELS})\s*[:：]?\s*")
_VALUE_STOP = re.compile(r"联系人|电话|手机|地区|区域|坐标|位置|标签|备注")  # 王总电话138…: the value ends here
_COORDS = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{2,})\s*[,，/]\s*(-?\d{1,3}\.\d{2,})(?![\d.])")
_SEP = re.compile(r"[\s，,。;；、]+")
USAGE = "请这样写：新线索 杭州云帆科技有限公司 联系人王总 13812345678 地区杭州（可加 坐标30.27,120.15 标签机床 备注…）"


def parse_lead_text(text: str, regions: list[str], known_tags: list[str]) -> dict[str, Any]:
    """The fields of a 「新线索 …」 message (what follows 新线索): labelled parts (联系人王总, 地区杭州,
    标签机床、注塑), a phone number and coordinates anywhere, a configured region or tag named anywhere,
    and the company as the first unlabelled part. Raw values: ``LeadInput`` validates them."""
    out: dict[str, Any] = {}
    spans: list[tuple[int, int]] = []
    if m := _COORDS.search(text):
        out["lat"], out["lng"] = float(m.group(1)), float(m.group(2))
        spans.append(m.span())
    if m := re.search(PHONE, text):
        out["phone"] = m.group(1)
        spans.append(m.span())
    if m := re.search(r"(?:备注)\s*[:：]?\s*(.+)$", text):
        out["note"] = m.group(1).strip()
        spans.append(m.span())
    for m in _LABELED.finditer(text):
        if any(s <= m.start() < e for s, e in spans):
            continue
        label, start = m.group("label"), m.end()
        end = start
        stop = "，,。;；\n" if label == "标签" else " \t\u3000，,。;；、\n"
        while end < len(text) and text[end] not in stop and not _VALUE_STOP.match(text, end) \
                and not any(s == end for s, _ in spans):
            end += 1
        value = text[start:end].strip()
        spans.append((m.start(), end))
        if not value:
            continue
        if label in ("公司", "客户", "单位"):
            out["company"] = value
        elif label in ("联系人", "联系"):
            out["contact"] = value
        elif label in ("地区", "区域"):
            out["region"] = value
        elif label == "标签":
            out["tags"] = [t for t in re.split(r"[、/\s]+", value) if t]
    rest = "".join(" " if any(s <= i < e for s, e in spans) else ch for i, ch in enumerate(text))
    parts = [p for p in _SEP.split(rest) if p]
    if "company" not in out and parts:
        out["company"] = parts[0]
        parts = parts[1:]
    if "contact" not in out:
        contact, _role = find_contact(" ".join(parts))
        if contact:
            out["contact"] = contact
    if "region" not in out:
        for r in sorted(regions, key=len, reverse=True):
            if r and r in text:
                out["region"] = r
                break
    found = [t for t in known_tags if t in rest and t not in out.get("tags", [])]
    if found:
        out["tags"] = [*out.get("tags", []), *found]
    return out


async def record_confirmed(ctx: Context, event: RecordConfirmed) -> None:
    """A real touch on a lead's customer stops its first-response clock: the KPI's end point, kept once."""
    if event.customer_id is None:
        return
    open_leads = (await ctx.session.execute(select(Lead).where(
        col(Lead.customer_id) == event.customer_id, col(Lead.assigned_at).is_not(None),
        col(Lead.first_contact_at).is_(None)))).scalars().all()
    for lead in open_leads:
        if lead.assigned_at is not None and lead.assigned_at <= event.at:
            lead.first_contact_at = event.at


def first_response_minutes(lead: Lead) -> float | None:
    """Assignment → first confirmed touch, in minutes (None while nobody has touched it)."""
    if lead.assigned_at is None or lead.first_contact_at is None:
        return None
    return (lead.first_contact_at - lead.assigned_at).total_seconds() / 60


def chat_lead_id(event: Event) -> str:
    """The message's platform id (a redelivery is the same lead); hashed when it has characters or a length
    a lead id may not have (DingTalk ids end in ``==``)."""
    raw = f"{event.platform}:{event.event_id}"
    if len(raw) <= 64 and re.fullmatch(r"[A-Za-z0-9_.:@/-]+", raw):
        return raw
    return f"{event.platform}:" + hashlib.sha256(event.event_id.encode()).hexdigest()[:40]


def capability(rules: AssignmentRules) -> Capability:
    cap = Capability("leads")
    cap.card(REP_KIND, Accept, Return)(rep_card_handler(rules))
    cap.card(SUPERVISOR_KIND, Reassign)(dispatch_card_handler(rules))
    cap.on(RecordConfirmed)(record_confirmed)

    @cap.command("new_lead", r"新线索[\s:：,，]*(?P<rest>.*)", "新线索 公司 联系人 电话 地区 — 录入线索并自动分配给销售")
    async def new_lead(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        """A supervisor types a lead in; the rules assign it like any other lead."""
        pid = _pid(person)
        if person.role not in (Role.supervisor, Role.manager):
            await ctx.send_text("新线索由主管或经理录入后自动分配；你可以把线索信息发给你的主管。本条消息未记录。",
                                person_id=pid)
            return True
        regions = list(rules.regions) + [r for (r,) in (await ctx.session.execute(
            select(col(Person.region)).where(col(Person.role) == Role.rep, col(Person.region).is_not(None))
        )).all() if r]
        tags = sorted({t for ts in rules.rep_tags.values() for t in ts})
        raw = parse_lead_text(m.group("rest") or "", regions, tags)
        try:
            data = LeadInput.model_validate({**raw, "lead_id": chat_lead_id(event)})
        except ValueError:
            await ctx.send_text(f"没看懂这条线索。{USAGE}", person_id=pid)
            return True
        result = await intake(ctx, CHAT_SOURCE, data, rules, created_by=pid)
        if not result.created:
            return True
        if result.owner is None:
            return True  # the dispatch card asks the supervisor to choose
        sup = await direct_supervisor(ctx.session, _pid(result.owner))
        if sup is None or sup.id != pid:  # the dispatch card went to someone else: say where it went
            kind = "已有客户" if result.lead.matched else "新客户"
            await ctx.send_text(f"✅ 线索「{data.company}」（{kind}）已分配给{result.owner.name}（{result.why}）。",
                                person_id=pid)
        return True

    return cap
