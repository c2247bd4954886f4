"""Outbox queries: enqueue in the caller's transaction, claim with a lease, record the result.

Enqueueing inside the same transaction as the domain change means a record and its card are
committed together or not at all. The idempotency key is stored before any platform call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import Update, bindparam, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import OutboxMessage, OutboxStatus
from storage.upsert import insert_ignore, insert_ignore_into, table


# ---- what a message carries ----------------------------------------------------------------------
class TextBody(BaseModel):
    type: Literal["text"] = "text"
    text: str


class CardBody(BaseModel):
    type: Literal["card"] = "card"
    card: dict[str, Any]  # a neutral ``cards.model.Card`` as a dict; each channel renders it


class MediaFile(BaseModel):
    path: str
    name: str = ""


class ImageBody(BaseModel):
    type: Literal["image"] = "image"
    image: MediaFile


class FileBody(BaseModel):
    type: Literal["file"] = "file"
    file: MediaFile


Body = Annotated[TextBody | CardBody | ImageBody | FileBody, Field(discriminator="type")]
_BODY: TypeAdapter[Body] = TypeAdapter(Body)


def body_of(raw: dict[str, Any]) -> TextBody | CardBody | ImageBody | FileBody:
    """The typed body of a stored row (rows written before bodies had a ``type`` are read by their key)."""
    if "type" not in raw:
        raw = {**raw, "type": next((k for k in ("card", "image", "file") if k in raw), "text")}
    return _BODY.validate_python(raw)


def text_body(text: str) -> dict[str, Any]:
    return TextBody(text=text).model_dump()


def card_body(card: dict[str, Any]) -> dict[str, Any]:
    return CardBody(card=card).model_dump()


def image_body(path: str, name: str = "") -> dict[str, Any]:
    return ImageBody(image=MediaFile(path=path, name=name)).model_dump()


@dataclass(frozen=True)
class Outgoing:
    """One row for ``enqueue_many``."""

    key: str
    platform: str
    recipient: str
    body: dict[str, Any]
    person_id: int | None = None
    card_id: str | None = None
    op: str = "send"

# New messages are due at once whatever clock the handler ran on (tests travel in time; the sender
# keeps real time for leases and backoff).
DUE_NOW = datetime(1970, 1, 1, tzinfo=UTC)


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    platform: str,
    recipient: str,
    body: dict[str, Any],
    now: datetime,
    person_id: int | None = None,
    op: str = "send",
    card_id: str | None = None,
) -> bool:
    """Add a message unless its key exists; returns False for a repeat."""
    values = dict(
        idempotency_key=key,
        platform=platform,
        recipient=recipient,
        person_id=person_id,
        op=op,
        card_id=card_id,
        body=body,
        status=OutboxStatus.pending,
        attempts=0,
        next_attempt_at=DUE_NOW,
        created_at=now,
    )
    return await insert_ignore(session, OutboxMessage, values)


async def enqueue_many(session: AsyncSession, messages: Sequence[Outgoing], *, now: datetime) -> None:
    """Many messages with one multi-row insert; keys that exist already are left alone."""
    if not messages:
        return
    if len(messages) == 1:
        m = messages[0]
        await enqueue(session, key=m.key, platform=m.platform, recipient=m.recipient, body=m.body, now=now,
                      person_id=m.person_id, op=m.op, card_id=m.card_id)
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    await session.execute(insert_ignore_into(dialect, OutboxMessage), [
        dict(idempotency_key=m.key, platform=m.platform, recipient=m.recipient, person_id=m.person_id, op=m.op,
             card_id=m.card_id, body=m.body, status=OutboxStatus.pending, attempts=0, next_attempt_at=DUE_NOW,
             created_at=now) for m in messages])


def _update() -> Update:
    """A plain UPDATE: the sender holds no ORM copies to keep in sync, so skip that bookkeeping."""
    return update(OutboxMessage).execution_options(synchronize_session=False)


async def due(session: AsyncSession, now: datetime, limit: int = 200, *,
              skip_locked: bool = False) -> Sequence[OutboxMessage]:
    """Pending messages whose time has come, and sends whose lease ran out (a crashed sender).

    ``skip_locked`` (PostgreSQL, inside the claiming transaction): ``FOR UPDATE SKIP LOCKED``, so
    senders in other processes read other rows instead of queueing behind this one."""
    q = (
        select(OutboxMessage)
        .where(
            or_(col(OutboxMessage.status) == OutboxStatus.pending, col(OutboxMessage.status) == OutboxStatus.sending),
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if skip_locked:
        q = q.with_for_update(skip_locked=True)
    return (await session.execute(q)).scalars().all()


_T = table(OutboxMessage)
_FIRST_UNSENT = (  # each recipient's oldest message not yet sent (or given up), whoever holds it
    select(_T.c.platform, _T.c.recipient, func.min(_T.c.id))
    .where(_T.c.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
           tuple_(_T.c.platform, _T.c.recipient).in_(bindparam("b_who", expanding=True)))
    .group_by(_T.c.platform, _T.c.recipient)
)


async def first_unsent(session: AsyncSession, msgs: Sequence[OutboxMessage]) -> dict[tuple[str, str], int]:
    """(platform, recipient) → the id of their oldest unsent message: a sender that read a later one
    must not pass it while another sender holds it (one recipient's messages go in order)."""
    who = sorted({(m.platform, m.recipient) for m in msgs})
    if not who:
        return {}
    return {(p, r): i for p, r, i in await session.execute(_FIRST_UNSENT, {"b_who": who})}
_CLAIM = (  # a row is won only if its attempt count is still the one this sender read
    update(_T)
    .where(tuple_(_T.c.id, _T.c.attempts).in_(bindparam("b_seen", expanding=True)),
           _T.c.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
    .values(status=OutboxStatus.sending, attempts=_T.c.attempts + 1, next_attempt_at=bindparam("b_until"))
    .returning(_T.c.id)
)
_SENT = (
    update(_T).where(_T.c.id == bindparam("b_id"))
    .values(status=OutboxStatus.sent, sent_at=bindparam("b_at"), platform_message_id=bindparam("b_pmid"), last_error=None)
)


async def claim(session: AsyncSession, msgs: Sequence[OutboxMessage], now: datetime, lease_s: float) -> set[int]:
    """Mark ``sending`` with a lease, all in one statement; returns the ids this sender won (a row
    another sender claimed since it was read has a different attempt count and is left alone)."""
    if not msgs:
        return set()
    res = await session.execute(_CLAIM, {"b_seen": [(m.id, m.attempts) for m in msgs],
                                         "b_until": now + timedelta(seconds=lease_s)})
    return set(res.scalars())


async def mark_sent(session: AsyncSession, sent: Sequence[tuple[int, str | None]], now: datetime) -> None:
    """Record deliveries, (outbox id, platform message id) each, in one executemany."""
    if sent:
        await session.execute(_SENT, [{"b_id": i, "b_at": now, "b_pmid": pmid} for i, pmid in sent])


async def mark_retry(session: AsyncSession, msg_id: int, at: datetime, error: str, failed: bool) -> None:
    await session.execute(
        _update()
        .where(col(OutboxMessage.id) == msg_id)
        .values(
            status=OutboxStatus.failed if failed else OutboxStatus.pending,
            next_attempt_at=at,
            last_error=error[:500],
        )
    )


async def release(session: AsyncSession, msg_id: int, at: datetime) -> None:
    """Undo a claim whose platform call never happened: the attempt does not count."""
    await session.execute(
        _update()
        .where(col(OutboxMessage.id) == msg_id, col(OutboxMessage.status) == OutboxStatus.sending)
        .values(status=OutboxStatus.pending, attempts=col(OutboxMessage.attempts) - 1, next_attempt_at=at)
    )


async def defer(session: AsyncSession, msg_id: int, at: datetime) -> None:
    """Push a message back before claiming it (rate limit reached, its card not yet sent)."""
    await session.execute(_update().where(col(OutboxMessage.id) == msg_id).values(next_attempt_at=at))
