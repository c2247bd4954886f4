"""Photos, voice files and locations: kept as evidence on the rep's latest record of the day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from handlers.clock import day_bounds
from handlers.context import Context
from handlers.event import EVIDENCE, MEDIA_ERROR, TRANSCRIPT_ERROR, Event, EventKind
from storage.models import ActionRecord, Person

KIND_LABELS = {EventKind.image: "照片", EventKind.voice: "语音", EventKind.file: "文件", EventKind.location: "定位"}


async def latest_record_today(ctx: Context, rep_id: int) -> ActionRecord | None:
    start, end = day_bounds(ctx.today(), ctx.settings.tz)
    q = (
        select(ActionRecord)
        .where(col(ActionRecord.rep_id) == rep_id, col(ActionRecord.created_at) >= start, col(ActionRecord.created_at) < end)
        .order_by(col(ActionRecord.created_at).desc(), col(ActionRecord.id).desc())
        .limit(1)
    )
    return (await ctx.session.execute(q)).scalar_one_or_none()


def evidence_entry(event: Event) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": event.kind.value, "event_id": event.event_id, "at": event.sent_at.isoformat()}
    if event.media:
        entry.update(ref=event.media.ref, name=event.media.name, path=event.media.path, mime=event.media.mime)
    stored = event.extra.get(EVIDENCE)
    if isinstance(stored, dict):  # content address, EXIF (time, GPS) for the credibility checks, the clean copy
        entry.update({k: stored[k] for k in ("sha256", "bytes", "exif", "clean_path") if k in stored})
    if event.location:
        entry.update(lat=event.location.lat, lng=event.location.lng, label=event.location.label)
    return entry


def _unheard(event: Event) -> str:
    """Why a voice message became evidence instead of a record (empty for other kinds)."""
    why = event.extra.get(TRANSCRIPT_ERROR) if event.kind == EventKind.voice else None
    if not why:
        return ""
    return f"🎤 这条语音没能转成文字：{why}。录音已保存，"


async def attach_evidence(ctx: Context, person: Person, event: Event) -> ActionRecord | None:
    """Attach to today's latest record; with none, keep nothing and tell the rep what to do."""
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
    record = await latest_record_today(ctx, person.id)
    if record is None:
        await ctx.send_text(
            (unheard + "请改发一句文字说明这次客户接触。") if unheard else
            f"{label}已收到。今天还没有动作记录，请先发一句文字说明这次客户接触，再补发{label}。",
            person_id=person.id)
        return None
    record.evidence = [*record.evidence, evidence_entry(event)]
    ctx.session.add(record)
    await ctx.send_text((unheard + f"已作为凭证附到记录 #{record.id}；要记录新的客户接触请改发文字。") if unheard else
                        f"📎 {label}已作为凭证附到记录 #{record.id}。", person_id=person.id)
    return record
