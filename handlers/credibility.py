"""Credibility checks (动作可信度校验): a record whose evidence does not fit the customer is marked 待核实.

Checked on confirmation and whenever evidence reaches a confirmed record:
1. a location share further than ``checkin_distance_m`` from the customer's address (straight-line);
2. a photo whose EXIF GPS is that far, whose EXIF time is ``exif_skew_min`` or more from when it was sent, or
   that has no EXIF at all (a screenshot, a forwarded picture);
3. a call record naming a number that is not the customer contact's number on file.
The supervisor gets a verify card and must resolve it within ``verify_hours``; an unresolved one is escalated
one level up by the scan and counts against the rep (``rep_credibility``). Nothing is deleted: the verification
row keeps why, who, when and how it ended.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.model import Card
from cards.verify import KIND, VerifyView, build_verify
from handlers.checklist import StageRules
from handlers.context import Context, NoRoute
from handlers.domain import EvidenceAttached, RecordConfirmed, RecordFlagged, RecordVerified
from handlers.people import refusal, supervisor_chain
from handlers.replies import await_reply
from handlers.rhythm import in_chain
from storage.models import (
    ActionRecord,
    ActionType,
    Contact,
    Customer,
    Person,
    RecordStatus,
    Verification,
    VerifyStatus,
)
from storage.models import Card as CardRow

log = logging.getLogger("actionflow.credibility")

EARTH_M = 6_371_008.8
REASON_MAX = 100
PHONE = re.compile(r"(?<![\d])(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-?\d{7,8})(?![\d])")
LABELS = {"checkin_far": "定位离客户地址太远", "photo_far": "照片拍摄位置离客户太远", "photo_time": "照片拍摄时间与上报时间不符",
          "photo_no_exif": "照片没有拍摄信息（EXIF）", "call_number": "通话号码不是客户联系人的号码"}


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(min(1.0, a)))


def _far(metres: float) -> str:
    return f"{metres / 1000:.1f} 公里" if metres >= 1000 else f"{metres:.0f} 米"


def _digits(phone: str) -> str:
    d = re.sub(r"\D", "", phone)
    return d[2:] if d.startswith("86") and len(d) == 13 else d


def masked(phone: str) -> str:
    d = _digits(phone)
    return d[:3] + "****" + d[-4:] if len(d) >= 8 else d


@dataclass(frozen=True)
class Finding:
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def check_evidence(entries: list[dict[str, Any]], customer: Customer | None, rules: StageRules,
                   tz: ZoneInfo) -> list[Finding]:
    """Location and photo findings of a record's evidence (pure: no database)."""
    out: list[Finding] = []
    here = (customer.lat, customer.lng) if customer and customer.lat is not None and customer.lng is not None else None
    for e in entries:
        kind = e.get("kind")
        if kind == "location" and here and _num(e.get("lat")) and _num(e.get("lng")):
            d = distance_m(here[0], here[1], float(e["lat"]), float(e["lng"]))
            if d > rules.checkin_distance_m:
                out.append(Finding("checkin_far", f"定位距客户地址 {_far(d)}（超过 {rules.checkin_distance_m} 米）"))
        elif kind == "image":
            exif = e.get("exif") if isinstance(e.get("exif"), dict) else {}
            if not exif:
                out.append(Finding("photo_no_exif", "照片没有拍摄时间和位置信息（可能是截图或转发的图片）"))
                continue
            if here and _num(exif.get("lat")) and _num(exif.get("lng")):
                d = distance_m(here[0], here[1], float(exif["lat"]), float(exif["lng"]))
                if d > rules.checkin_distance_m:
                    out.append(Finding("photo_far", f"照片拍摄位置距客户 {_far(d)}"))
            skew = _skew_min(exif.get("taken_at"), e.get("at"), tz)
            if skew is not None and skew >= rules.exif_skew_min:
                out.append(Finding("photo_time", f"照片拍摄时间与上报时间相差 {_minutes(skew)}"))
    return out


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _skew_min(taken: Any, sent: Any, tz: ZoneInfo) -> float | None:
    """Minutes between the camera's clock (local time, no zone: read in the org's zone) and the send."""
    if not isinstance(taken, str) or not isinstance(sent, str):
        return None
    try:
        t, s = datetime.fromisoformat(taken), datetime.fromisoformat(sent)
    except ValueError:
        return None
    t = t.replace(tzinfo=tz) if t.tzinfo is None else t
    s = s.replace(tzinfo=ZoneInfo("UTC")) if s.tzinfo is None else s
    return abs((s - t).total_seconds()) / 60


def _minutes(m: float) -> str:
    return f"{m / 60:.1f} 小时" if m >= 120 else f"{m:.0f} 分钟"


def check_call(record: ActionRecord, contacts: list[Contact]) -> list[Finding]:
    """A call naming a number that is none of the contact's numbers on file (no number or no file: no finding)."""
    if record.type != ActionType.call:
        return []
    said = {_digits(m.group(1)) for m in PHONE.finditer(record.text)}
    on_file = [(c.name, _digits(c.phone)) for c in contacts if c.phone]
    if not said or not on_file:
        return []
    named = [(n, p) for n, p in on_file if record.contact and (record.contact in n or n in record.contact)]
    allowed = named or on_file
    if said & {p for _, p in allowed}:
        return []
    who = "、".join(f"{n} {masked(p)}" for n, p in allowed[:2])
    return [Finding("call_number", f"通话号码 {'、'.join(masked(s) for s in sorted(said))} 不是客户联系人的号码（{who}）")]


# ---- flagging ----------------------------------------------------------------------------------
async def check_record(ctx: Context, rules: StageRules, record_id: int) -> Verification | None:
    record = await ctx.session.get(ActionRecord, record_id)
    if record is None or record.status not in (RecordStatus.confirmed, RecordStatus.to_verify) or not record.customer_id:
        return None
    customer = await ctx.session.get(Customer, record.customer_id)
    contacts = list((await ctx.session.execute(
        select(Contact).where(col(Contact.customer_id) == record.customer_id))).scalars())
    found = check_evidence(record.evidence, customer, rules, ctx.settings.tz) + check_call(record, contacts)
    return await flag(ctx, rules, record, found) if found else None


async def flag(ctx: Context, rules: StageRules, record: ActionRecord, found: list[Finding]) -> Verification | None:
    """Mark 待核实 and send the verify card; new findings on an open verification are added to it."""
    assert record.id is not None
    v = (await ctx.session.execute(select(Verification).where(col(Verification.record_id) == record.id))).scalar()
    if v is not None:
        if v.status != VerifyStatus.open:
            log.info("finding on an already verified record kept in the log only", extra={"record_id": record.id})
            return v
        new = [f.as_dict() for f in found if f.as_dict() not in v.reasons]
        if new:
            v.reasons = [*v.reasons, *new]
            ctx.session.add(v)
            await _refresh_cards(ctx, v)
        return v
    chain = [p for p in await supervisor_chain(ctx.session, record.rep_id) if p.active]
    sup = chain[0] if chain else None
    v = Verification(record_id=record.id, rep_id=record.rep_id, supervisor_id=sup.id if sup else None,
                     reasons=[f.as_dict() for f in found], created_at=ctx.now(),
                     due_at=ctx.now() + timedelta(hours=rules.verify_hours))
    ctx.session.add(v)
    record.status = RecordStatus.to_verify
    ctx.session.add(record)
    await ctx.session.flush()
    if sup is not None and sup.id is not None:
        subject: dict[str, object] = {"verification_id": v.id, "record_id": record.id}
        try:
            v.card_id = await ctx.send_card(await verify_card(ctx, v, subject), person_id=sup.id, subject=subject)
        except NoRoute:
            log.warning("supervisor unreachable; verification stays open", extra={"person_id": sup.id})
    try:
        await ctx.send_text(f"🔍 记录 #{record.id} 已标记为待核实：{'；'.join(f.detail for f in found)}。主管会电话复核。",
                            person_id=record.rep_id)
    except NoRoute:  # e.g. the demo seeded for a platform the rep is not on yet: the verification stands
        log.warning("rep unreachable; not told of the flag", extra={"person_id": record.rep_id})
    await ctx.publish(RecordFlagged(at=ctx.now(), record_id=record.id, rep_id=record.rep_id,
                                    customer_id=record.customer_id))
    return v


async def verify_card(ctx: Context, v: Verification, subject: dict[str, Any], problem: str = "",
                      asking: bool = False) -> Card:
    record = await ctx.session.get(ActionRecord, v.record_id)
    assert record is not None
    rep = await ctx.person(v.rep_id)
    customer = await ctx.session.get(Customer, record.customer_id) if record.customer_id else None
    by = await ctx.session.get(Person, v.resolved_by) if v.resolved_by else None
    due = v.due_at.astimezone(ctx.settings.tz)
    kinds = {"image": "照片", "location": "定位", "voice": "语音", "file": "文件"}
    return build_verify(VerifyView(
        rep=rep.name, customer=customer.name if customer else "（无客户）", record_id=v.record_id, text=record.text,
        reasons=[str(r.get("detail") or LABELS.get(str(r.get("code")), "")) for r in v.reasons],
        due=due.strftime("%H:%M" if due.date() == ctx.today() else "%m-%d %H:%M"), status=v.status.value,
        by=by.name if by else "", note=v.note or "", escalated_from=str(subject.get("escalated_from", "")),
        overdue=v.status == VerifyStatus.open and ctx.now() > v.due_at, asking_reason=asking,
        evidence=[kinds.get(str(e.get("kind")), "附件") + (f" {e['label']}" if e.get("label") else "")
                  for e in record.evidence], problem=problem))


async def _copies(ctx: Context, v: Verification) -> list[CardRow]:
    q = select(CardRow).where(col(CardRow.kind) == KIND, col(CardRow.created_at) >= v.created_at - timedelta(minutes=1),
                              col(CardRow.subject)["verification_id"].as_integer() == v.id)
    return list((await ctx.session.execute(q.order_by(col(CardRow.created_at)))).scalars())


async def _refresh_cards(ctx: Context, v: Verification) -> None:
    for row in await _copies(ctx, v):
        await ctx.update_card(row, await verify_card(ctx, v, row.subject))


# ---- the supervisor's answer -------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyOk(CardAction, prefix="vok"):
    pass


@dataclass(frozen=True)
class RejectAsk(CardAction, prefix="vrej_ask"):
    pass


@dataclass(frozen=True)
class Reject(CardAction, prefix="vrej"):
    reason: Value


ACTIONS = (VerifyOk, RejectAsk, Reject)


async def on_verify(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
    """Only someone above the rep may verify (never the rep); a decided verification does not change."""
    v = await ctx.session.get(Verification, row.subject.get("verification_id"))
    if v is None:
        return
    if not await in_chain(ctx.session, presser, v.rep_id):
        rep = await ctx.person(v.rep_id)
        await ctx.send_text(refusal(f"{rep.name}的上级主管"), person_id=_pid(presser))
        return
    if v.status != VerifyStatus.open:
        await ctx.send_text("这条记录已经核实过了，未做任何修改。", person_id=_pid(presser))
        await ctx.update_card(row, await verify_card(ctx, v, row.subject))
        return
    match action:
        case RejectAsk():
            await await_reply(ctx, row, presser, "vrej")
            await ctx.update_card(row, await verify_card(ctx, v, row.subject, asking=True))
            return
        case Reject(reason=raw):
            reason = re.sub(r"\s+", " ", str(raw)).strip()
            problem = "驳回需要写明原因" if not reason else (f"原因请控制在{REASON_MAX}字以内" if len(reason) > REASON_MAX else "")
            if problem:
                await ctx.update_card(row, await verify_card(ctx, v, row.subject, problem=problem))
                return
            await resolve(ctx, v, presser, ok=False, note=reason)
        case VerifyOk():
            await resolve(ctx, v, presser, ok=True)


async def resolve(ctx: Context, v: Verification, by: Person, *, ok: bool, note: str | None = None) -> None:
    record = await ctx.session.get(ActionRecord, v.record_id)
    assert record is not None
    v.status = VerifyStatus.confirmed if ok else VerifyStatus.rejected
    v.resolved_at, v.resolved_by, v.note = ctx.now(), by.id, note
    record.status = RecordStatus.confirmed if ok else RecordStatus.rejected
    ctx.session.add_all([v, record])
    await ctx.session.flush()
    await _refresh_cards(ctx, v)
    text = (f"✅ {by.name}已核实你的记录 #{record.id}，无误。" if ok else
            f"⛔ {by.name}驳回了你的记录 #{record.id}：{note}。如有误会请当面说明。")
    await ctx.send_text(text, person_id=record.rep_id)
    await ctx.publish(RecordVerified(at=ctx.now(), record_id=v.record_id, ok=ok))


# ---- the deadline ------------------------------------------------------------------------------
async def overdue(ctx: Context) -> list[int]:
    q = select(col(Verification.id)).where(col(Verification.status) == VerifyStatus.open,
                                           col(Verification.due_at) <= ctx.now(), col(Verification.escalated_at).is_(None))
    return [i or 0 for i in (await ctx.session.execute(q.order_by(col(Verification.id)))).scalars()]


async def escalate(ctx: Context, verification_id: int) -> int:
    """Past the deadline: a copy goes one level above the supervisor, and the original turns red."""
    v = await ctx.session.get(Verification, verification_id)
    if v is None or v.status != VerifyStatus.open or v.escalated_at is not None:
        return 0
    v.escalated_at = ctx.now()
    ctx.session.add(v)
    await _refresh_cards(ctx, v)
    chain = [p for p in await supervisor_chain(ctx.session, v.rep_id) if p.active]
    ids = [p.id for p in chain]
    above = ids.index(v.supervisor_id) + 1 if v.supervisor_id in ids else 0
    if above >= len(chain):
        return 0
    target = chain[above]
    sup = await ctx.session.get(Person, v.supervisor_id) if v.supervisor_id else None
    subject: dict[str, object] = {"verification_id": v.id, "record_id": v.record_id, "escalated_from": sup.name if sup else ""}
    try:
        await ctx.send_card(await verify_card(ctx, v, subject), person_id=_pid(target), subject=subject)
    except NoRoute:
        return 0
    return 1


async def rep_credibility(ctx: Context, rep_id: int, since: datetime, until: datetime) -> dict[str, int]:
    """For the rep's process-quality score: flagged, still open past the deadline, escalated, rejected."""
    rows = (await ctx.session.execute(
        select(col(Verification.status), func.count(), func.count(col(Verification.escalated_at)))
        .where(col(Verification.rep_id) == rep_id, col(Verification.created_at) >= since,
               col(Verification.created_at) < until)
        .group_by(col(Verification.status)))).all()
    out = {"flagged": 0, "open": 0, "confirmed": 0, "rejected": 0, "escalated": 0}
    for status, n, escalated in rows:
        out["flagged"] += n
        out[str(status.value if hasattr(status, "value") else status)] += n
        out["escalated"] += escalated
    return out


# ---- subscriptions -----------------------------------------------------------------------------
def on_confirmed(rules: StageRules) -> Any:
    async def run(ctx: Context, event: RecordConfirmed) -> None:
        await check_record(ctx, rules, event.record_id)

    return run


def on_evidence(rules: StageRules) -> Any:
    async def run(ctx: Context, event: EvidenceAttached) -> None:
        await check_record(ctx, rules, event.record_id)

    return run


def _pid(p: Person) -> int:
    assert p.id is not None
    return p.id
