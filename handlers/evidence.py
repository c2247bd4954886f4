"""Photos, voice files, files and locations: kept as evidence where the rep says they belong.

A piece of evidence goes, in order: to the checklist check whose button asked for it (``handlers/replies``),
else to the rep's newest record of the day — and then the answer is a card listing the other places it
could belong (today's other records, open checks of those customers that take this kind), so a wrong
guess is one tap to fix. Reaching a record publishes ``EvidenceAttached`` (the credibility checks listen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cards.actions import CardAction
from cards.evidence import EvidenceView, build_evidence
from handlers import checklist
from handlers.clock import day_bounds
from handlers.context import Context
from handlers.domain import EvidenceAttached
from handlers.event import EVIDENCE, MEDIA_ERROR, TRANSCRIPT_ERROR, Event, EventKind
from handlers.people import STALE, refusal
from storage.models import ActionRecord, ChecklistItem, Customer, Person
from storage.models import Card as CardRow

KIND_LABELS = {EventKind.image: "照片", EventKind.voice: "语音", EventKind.file: "文件", EventKind.location: "定位"}
MEDIA = frozenset(KIND_LABELS)
OPTIONS = 3  # other records, and as many checks, offered on the card


async def records_today(ctx: Context, rep_id: int, limit: int = OPTIONS + 1) -> list[ActionRecord]:
    start, end = day_bounds(ctx.today(), ctx.settings.tz)
    q = (
        select(ActionRecord)
        .where(col(ActionRecord.rep_id) == rep_id, col(ActionRecord.created_at) >= start, col(ActionRecord.created_at) < end)
        .order_by(col(ActionRecord.created_at).desc(), col(ActionRecord.id).desc())
        .limit(limit)
    )
    return list((await ctx.session.execute(q)).scalars())


async def latest_record_today(ctx: Context, rep_id: int) -> ActionRecord | None:
    found = await records_today(ctx, rep_id, 1)
    return found[0] if found else None


def evidence_entry(event: Event) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": event.kind.value, "event_id": event.event_id, "at": event.sent_at.isoformat()}
    if event.media:
        entry.update(ref=event.media.ref, name=event.media.name, path=event.media.path, mime=event.media.mime)
    stored = event.extra.get(EVIDENCE)
    if isinstance(stored, dict):  # content address, EXIF (time, GPS) for the credibility checks, the clean copy
        entry.update({k: stored[k] for k in ("sha256", "bytes", "exif", "clean_path") if k in stored})
    if event.location:
        entry.update(lat=event.location.lat, lng=event.location.lng, label=event.location.label)
    if event.kind == EventKind.voice and event.text.strip():
        entry["transcript"] = event.text.strip()  # a voice check keeps what was said
    return entry


def failed(event: Event) -> bool:
    """The file never arrived (too big, download failed, not what it claimed): nothing to attach."""
    return bool(event.extra.get(MEDIA_ERROR) or event.extra.get("download_error"))


def _unheard(event: Event) -> str:
    """Why a voice message became evidence instead of a record (empty for other kinds)."""
    why = event.extra.get(TRANSCRIPT_ERROR) if event.kind == EventKind.voice else None
    if not why:
        return ""
    return f"🎤 这条语音没能转成文字：{why}。录音已保存，"


async def attach_evidence(ctx: Context, person: Person, event: Event) -> ActionRecord | None:
    """Attach to today's latest record and offer the other places; with none, keep nothing and say what to do."""
    assert person.id is not None
    label = KIND_LABELS.get(event.kind, "附件")
    unheard = _unheard(event)
    if event.extra.get(MEDIA_ERROR):
        await ctx.send_text(f"⚠️ {label}没有保存：{event.extra[MEDIA_ERROR]}。", person_id=person.id)
        return None
    if event.extra.get("download_error"):
        too_big = "larger than" in str(event.extra["download_error"])
        await ctx.send_text(f"⚠️ {label}" + ("超过大小上限，没有保存。" if too_big else "没能从平台下载下来，请重新发送一次。"),
                            person_id=person.id)
        return None
    records = await records_today(ctx, person.id)
    if not records:
        await ctx.send_text(
            (unheard + "请改发一句文字说明这次客户接触。") if unheard else
            f"{label}已收到。今天还没有动作记录，请先发一句文字说明这次客户接触，再补发{label}。",
            person_id=person.id)
        return None
    record, entry = records[0], evidence_entry(event)
    await _to_record(ctx, record, entry)
    options = await _options(ctx, records, event.kind.value, exclude=f"r{record.id}")
    if unheard:
        await ctx.send_text(unheard + f"已作为凭证附到记录 #{record.id}；要记录新的客户接触请改发文字。", person_id=person.id)
    elif not options:
        await ctx.send_text(f"📎 {label}已作为凭证附到记录 #{record.id}。", person_id=person.id)
    else:
        subject = {"entry": entry, "at": f"r{record.id}", "rep_id": person.id, "label": label}
        view = EvidenceView(label=label, at=await _where(ctx, f"r{record.id}"), options=options)
        await ctx.send_card(build_evidence(view), person_id=person.id, subject=subject)
    return record


async def _to_record(ctx: Context, record: ActionRecord, entry: dict[str, Any]) -> None:
    record.evidence = [*record.evidence, entry]
    ctx.session.add(record)
    await ctx.session.flush()
    assert record.id is not None
    await ctx.publish(EvidenceAttached(at=ctx.now(), record_id=record.id, rep_id=record.rep_id, kind=str(entry["kind"])))


async def _options(ctx: Context, records: list[ActionRecord], kind: str, exclude: str) -> list[tuple[str, str]]:
    """Today's other records, then open checks (of those customers' current stage) that take this kind."""
    out = [(f"r{r.id}", f"记录 #{r.id} {await _customer_name(ctx, r.customer_id)}") for r in records
           if f"r{r.id}" != exclude][:OPTIONS]
    customers = {r.customer_id for r in records if r.customer_id}
    if customers:
        q = (select(ChecklistItem, col(Customer.name)).join(Customer, col(Customer.id) == col(ChecklistItem.customer_id))
             .where(col(ChecklistItem.customer_id).in_(customers), col(ChecklistItem.stage) == col(Customer.stage),
                    col(ChecklistItem.status) == "open", col(ChecklistItem.evidence_kind).is_not(None))
             .order_by(col(ChecklistItem.id)))
        items = [(i, name) for i, name in (await ctx.session.execute(q)).all() if checklist.accepts(i, kind)]
        out += [(f"i{i.id}", f"检查项：{i.title}") for i, _ in items if f"i{i.id}" != exclude][:OPTIONS]
    return out


async def _customer_name(ctx: Context, customer_id: str | None) -> str:
    c = await ctx.session.get(Customer, customer_id) if customer_id else None
    return c.aliases[0] if c and c.aliases else (c.name if c else "")


async def _where(ctx: Context, target: str) -> str:
    if target.startswith("r"):
        r = await ctx.session.get(ActionRecord, int(target[1:]))
        return f"记录 #{target[1:]}（{await _customer_name(ctx, r.customer_id if r else None)}）"
    i = await ctx.session.get(ChecklistItem, int(target[1:]))
    return f"检查项「{i.title if i else ''}」"


@dataclass(frozen=True)
class MoveEvidence(CardAction, prefix="mv"):
    target: str  # r<record id> | i<checklist item id>


ACTIONS = (MoveEvidence,)


async def on_move(ctx: Context, row: CardRow, presser: Person, action: MoveEvidence) -> None:
    """Only the rep who sent it may move it; the target was on the card (the router checked)."""
    assert presser.id is not None
    if presser.id != row.subject.get("rep_id"):
        await ctx.send_text(refusal("发送凭证的本人"), person_id=presser.id)
        return
    entry, here, there = dict(row.subject["entry"]), str(row.subject["at"]), action.target
    target = await _target(ctx, there, presser.id)
    if target is None:
        await ctx.send_text(STALE, person_id=presser.id)
        return
    await _take_from(ctx, here, entry)
    if isinstance(target, ActionRecord):
        await _to_record(ctx, target, entry)
    else:
        await checklist.complete(ctx, target, presser.id, entry)
    row.subject = {**row.subject, "at": there}
    records = await records_today(ctx, presser.id)
    view = EvidenceView(label=str(row.subject.get("label", "凭证")), at=await _where(ctx, there), moved=True,
                        options=await _options(ctx, records, str(entry.get("kind")), exclude=there))
    await ctx.update_card(row, build_evidence(view))


async def _target(ctx: Context, target: str, rep_id: int) -> ActionRecord | ChecklistItem | None:
    """The record (the rep's own) or the open check (of a customer the rep works on) named by the press."""
    if not target[1:].isdigit():
        return None
    if target.startswith("r"):
        r = await ctx.session.get(ActionRecord, int(target[1:]))
        return r if r is not None and r.rep_id == rep_id else None
    i = await ctx.session.get(ChecklistItem, int(target[1:]))
    return i if i is not None and i.status == "open" else None


async def _take_from(ctx: Context, here: str, entry: dict[str, Any]) -> None:
    """Remove the entry from where it was: a record's list, or a check (which opens again)."""
    if here.startswith("r"):
        r = await ctx.session.get(ActionRecord, int(here[1:]))
        if r is not None:
            r.evidence = [e for e in r.evidence if e.get("event_id") != entry.get("event_id")]
            ctx.session.add(r)
    else:
        i = await ctx.session.get(ChecklistItem, int(here[1:]))
        if i is not None and i.evidence.get("event_id") == entry.get("event_id"):
            i.status, i.done_at, i.done_by, i.evidence, i.record_id = "open", None, None, {}, None
            ctx.session.add(i)
