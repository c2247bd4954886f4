"""The local channel: a web chat emulator that speaks to the bot like a platform would.

Inbound, the page posts messages, uploads, locations and button presses; each becomes an Event with
a client-made id and goes through the same inbox as platform callbacks. Outbound, "the platform"
is our own chat transcript table plus a WebSocket push; the outbox key is its unique delivery key,
so a repeated send shows once.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import BodyPartReader, MultipartReader, web
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlmodel import col

from bot.channels.base import Channel, ChannelError, Delivery
from bot.channels.local.hub import Hub
from bot.guard import MAX_ID, MIN_ID, WebGuard, query_id, read_json
from bot.ratelimit import unlimited
from cards.model import Card
from cards.render_html import render_html
from handlers.clock import Clock
from handlers.event import CardAction, Event, EventKind, Location, Media
from storage.db import Database
from storage.models import Identity, InboxEvent, LocalChatMessage, OutboxMessage, Person
from storage.outbox import CardBody, FileBody, ImageBody, TextBody, body_of
from storage.upsert import insert_ignore_into
from storage.upsert import table as core_table

PLATFORM = "local"
WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MEDIA_KINDS = {"image": EventKind.image, "voice": EventKind.voice, "file": EventKind.file}
MEDIA_LABELS = {EventKind.image: "🖼 照片", EventKind.voice: "🎤 语音", EventKind.file: "📄 文件"}
HISTORY = 100
IDENTITY_TTL_S = 5.0
M = TypeVar("M", bound=BaseModel)
UNKNOWN_SENDER = "未知用户：这个身份不在组织名录里，消息未记录"


class _Inbound(BaseModel):
    person_id: int = Field(ge=MIN_ID, le=MAX_ID)
    client_id: str = Field(pattern=CLIENT_ID.pattern)


class _Text(_Inbound):
    text: str = Field(max_length=10000)


class _Location(_Inbound):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    label: str = Field("", max_length=200)


class _Press(_Inbound):
    card_id: str = Field(max_length=64)
    action: str = Field(max_length=64)
    value: str = Field("", max_length=500)


def body_view(raw: dict[str, Any], image_url: str = "") -> dict[str, Any]:
    """What the page shows for a message the bot sent: text, a rendered card (with its picture from
    ``image_url``), or a file's name."""
    match body_of(raw):
        case CardBody(card=card):
            return {"html": render_html(Card.from_dict(card), image_url)}
        case TextBody(text=text):
            return {"text": text}
        case ImageBody(image=f):
            return {"text": f"🖼 {f.name or Path(f.path).name}"}
        case FileBody(file=f):
            return {"text": f"📄 {f.name or Path(f.path).name}"}
    return {"text": ""}


def _payload(message_id: int | None, m: dict[str, Any]) -> dict[str, Any]:
    """What the page shows for a transcript row the bot sent."""
    url = f"/local/api/image/{message_id}" if message_id is not None else ""
    view = body_view(m["body"], url)
    if url and m["body"].get("type") == "image":  # an image message the bot sent: shown as a picture
        view["image"] = url
    return {"id": message_id, "direction": m["direction"], "card_id": m["card_id"],
            "at": m["created_at"].isoformat(), **view}


def _inbound_payload(event: Event, inbox_id: int | None) -> dict[str, Any]:
    """What the page shows for a message the person sent (derived from the stored event)."""
    if event.kind == EventKind.location and event.location:
        text = f"📍 {event.location.label or f'{event.location.lat:.5f}, {event.location.lng:.5f}'}"
    elif event.media is not None:
        text = f"{MEDIA_LABELS.get(event.kind, '📄 文件')}：{event.media.name}"
    else:
        text = event.text
    return {"id": f"in-{event.event_id}", "direction": "in", "card_id": None,
            "at": event.sent_at.isoformat(), "text": text, "inbox_id": inbox_id}


class LocalChannel(Channel):
    name = PLATFORM

    def __init__(self, db: Database, clock: Clock, media_dir: str, max_upload_bytes: int = 20 * 1024 * 1024,
                 guard: WebGuard | None = None) -> None:
        self.db = db
        self.guard = guard or WebGuard()
        self.clock = clock
        self.media_dir = Path(media_dir)
        self.max_upload_bytes = max_upload_bytes
        self.hub = Hub()
        self.limiter = unlimited()
        self._identity_cache: dict[int, tuple[bool, float]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/static/{name}", self.static),
            web.get("/local/api/people", self.people),
            web.get("/local/api/history", self.history),
            web.get("/local/ws", self.websocket),
            web.get("/local/api/image/{id}", self.image),
            web.post("/local/api/message", self.post_text),
            web.post("/local/api/location", self.post_location),
            web.post("/local/api/action", self.post_action),
            web.post("/local/api/upload", self.post_upload),
        ]

    async def close(self) -> None:
        await self.hub.close()

    # ---- pages -------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.StreamResponse:
        if not self.guard.host_allowed(request.headers.get("Host")):  # DNS rebinding would read the token
            raise web.HTTPForbidden(text="拒绝：请求的主机名不是本服务的地址")
        return self.guard.page((WEB_DIR / "emulator.html").read_text(encoding="utf-8"))

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in {"emulator.js", "emulator.css"}:
            raise web.HTTPNotFound()
        return web.FileResponse(WEB_DIR / name)

    async def people(self, request: web.Request) -> web.Response:
        self.guard.check(request)
        async with self.db.session() as s:
            q = (
                select(Person, col(Identity.external_id))
                .join(Identity, (col(Identity.person_id) == col(Person.id)) & (col(Identity.platform) == PLATFORM))
                .where(col(Person.active).is_(True))
                .order_by(col(Person.id))
            )
            rows = (await s.execute(q)).all()
        return web.json_response(
            [{"id": p.id, "name": p.name, "role": p.role.value, "region": p.region} for p, _ in rows]
        )

    async def history(self, request: web.Request) -> web.Response:
        """The last messages both ways: what the person sent is the inbox itself, what the bot sent
        is the transcript table; merged by time, the person's message first on a tie."""
        self.guard.check(request)
        person_id = query_id(request.query.get("person"))
        async with self.db.session() as s:
            sent = (await s.execute(
                select(InboxEvent).where(col(InboxEvent.platform) == PLATFORM, col(InboxEvent.sender) == str(person_id),
                                         col(InboxEvent.kind) != EventKind.card_action.value)
                .order_by(col(InboxEvent.id).desc()).limit(HISTORY)
            )).scalars().all()
            got = (await s.execute(
                select(LocalChatMessage).where(col(LocalChatMessage.person_id) == person_id)
                .order_by(col(LocalChatMessage.id).desc()).limit(HISTORY)
            )).scalars().all()
        merged = [(r.received_at, 0, r.id or 0, _inbound_payload(Event.model_validate(r.payload), r.id)) for r in sent]
        merged += [(m.created_at, 1, m.id or 0, _payload(m.id, m.model_dump())) for m in got]
        merged.sort(key=lambda t: t[:3])
        return web.json_response([p for *_, p in merged[-HISTORY:]])

    async def image(self, request: web.Request) -> web.StreamResponse:
        """The picture of a message the bot sent (an image message, or a card's chart), by its transcript row:
        only files our own outbox named are ever served, never a path from the request."""
        self.guard.check(request)
        message_id = query_id(request.match_info["id"], "id")
        async with self.db.session() as s:
            row = await s.get(LocalChatMessage, message_id)
        body = body_of(row.body) if row is not None and row.direction == "out" else None
        path = (body.image.path if isinstance(body, ImageBody)
                else str(body.card.get("image") or "") if isinstance(body, CardBody) else "")
        if not path or not await asyncio.to_thread(Path(path).is_file):
            raise web.HTTPNotFound(text="没有这张图片")
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=3600"})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        self.guard.check(request)  # a foreign page must not open a socket and read everyone's chat
        person_id = query_id(request.query.get("person"))
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self.hub.add(person_id, ws)
        try:
            async for _ in ws:  # the page only listens
                pass
        finally:
            self.hub.remove(person_id, ws)
        return ws

    # ---- inbound -----------------------------------------------------------------------------
    async def post_text(self, request: web.Request) -> web.Response:
        m = await self._parse(request, _Text)
        return await self._inbound(m, EventKind.text, text=m.text)

    async def post_location(self, request: web.Request) -> web.Response:
        m = await self._parse(request, _Location)
        loc = Location(lat=m.lat, lng=m.lng, label=m.label)
        return await self._inbound(m, EventKind.location, location=loc)

    async def post_action(self, request: web.Request) -> web.Response:
        m = await self._parse(request, _Press)
        action = CardAction(card_id=m.card_id, action=m.action, value=m.value)
        return await self._inbound(m, EventKind.card_action, action=action)

    async def _parse(self, request: web.Request, model: type[M]) -> M:
        self.guard.check(request, write=True)
        return await read_json(request, model)

    async def post_upload(self, request: web.Request) -> web.Response:
        """Multipart: person_id, client_id, kind (image|voice|file), then file, streamed with a size cap.

        The sender is checked before a byte is written (so the form must name them before the file);
        the file is streamed to a hidden temporary name and moved into place only once the whole
        request was read and accepted, so a refused, over-limit, broken or aborted upload leaves nothing."""
        self.guard.check(request, write=True)
        if not request.content_type.startswith("multipart/"):
            raise web.HTTPUnsupportedMediaType(text="需要 multipart/form-data")
        stem = uuid.uuid4().hex
        tmp = self.media_dir / f".{stem}.part"
        leftover: Path | None = tmp
        try:
            try:
                meta, kind, name, mime = await self._read_upload(await request.multipart(), tmp)
            except (ValueError, AssertionError, UnicodeError):  # aiohttp's words for a malformed multipart body
                raise web.HTTPBadRequest(text="multipart 请求体格式错误") from None
            suffix = "".join(c for c in Path(name).suffix[:10] if c.isalnum() or c == ".")
            final = self.media_dir / f"{stem}{suffix}"
            os.replace(tmp, final)
            leftover = final  # until the event is stored, a failure removes the file itself
            response = await self._inbound(meta, kind, media=Media(ref=final.name, name=name, mime=mime, path=str(final)))
            leftover = None
            return response
        finally:
            if leftover is not None:
                leftover.unlink(missing_ok=True)

    async def _read_upload(self, reader: MultipartReader, tmp: Path) -> tuple[_Inbound, EventKind, str, str]:
        """Fields first (who and what), then the one file part into ``tmp``; HTTP errors for bad forms."""
        fields: dict[str, str] = {}
        meta: tuple[_Inbound, str, str] | None = None
        async for part in reader:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.name != "file":
                fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")[:100]
                continue
            if meta is not None:
                raise web.HTTPBadRequest(text="只能上传一个 file")
            sender = await self._sender(fields)
            await self._save(part, tmp)
            meta = (sender, Path(part.filename or "upload").name[:100],
                    part.headers.get("Content-Type", "application/octet-stream"))
        kind = MEDIA_KINDS.get(fields.get("kind", ""))
        if meta is None or kind is None:
            raise web.HTTPBadRequest(text="需要 file 和 kind=image|voice|file")
        return meta[0], kind, meta[1], meta[2]

    async def _sender(self, fields: dict[str, str]) -> _Inbound:
        """The form's person, checked against the directory before any upload byte is stored."""
        try:
            meta = _Inbound(person_id=int(fields.get("person_id", "")), client_id=fields.get("client_id", ""))
        except (ValueError, ValidationError):
            raise web.HTTPBadRequest(text="person_id / client_id 缺失或无效（须在 file 之前）") from None
        if not await self._known(meta.person_id):
            raise web.HTTPForbidden(text=UNKNOWN_SENDER)
        return meta

    async def _save(self, part: BodyPartReader, path: Path) -> None:
        """Stream one part to ``path``, refusing it past the cap (the caller removes ``path`` on failure)."""
        self.media_dir.mkdir(parents=True, exist_ok=True)
        size = 0
        with path.open("wb") as f:
            while chunk := await part.read_chunk(65536):
                size += len(chunk)
                if size > self.max_upload_bytes:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=self.max_upload_bytes, actual_size=size,
                        text=f"文件超过 {self.max_upload_bytes // (1024 * 1024)} MB 上限，没有保存")
                f.write(chunk)

    async def _inbound(self, m: _Inbound, kind: EventKind, **fields: Any) -> web.Response:
        """Refuse people outside the org at the door, store the event, echo it to the person's window."""
        if not await self._known(m.person_id):
            raise web.HTTPForbidden(text=UNKNOWN_SENDER)
        event = Event(platform=PLATFORM, event_id=m.client_id, kind=kind, sender=str(m.person_id),
                      sent_at=self.clock.now(), **fields)
        new = await self.intake(event)
        if new and kind != EventKind.card_action:
            await self.hub.publish(m.person_id, _inbound_payload(event, None))
        return web.json_response({"ok": True, "duplicate": not new})

    async def _known(self, person_id: int) -> bool:
        """Identity lookups are cached briefly: the emulator's door check must not cost a query per message."""
        now = time.monotonic()
        hit = self._identity_cache.get(person_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self.db.session() as s:
            row = await s.execute(
                select(col(Identity.id)).where(col(Identity.platform) == PLATFORM, col(Identity.external_id) == str(person_id))
            )
            known = row.first() is not None
        self._identity_cache[person_id] = (known, now + IDENTITY_TTL_S)
        return known

    # ---- outbound ----------------------------------------------------------------------------
    batch_sends = True

    async def deliver(self, msg: OutboxMessage) -> Delivery:
        [result] = await self.deliver_many([msg])
        if isinstance(result, Exception):
            raise result
        return result

    async def deliver_many(self, msgs: list[OutboxMessage]) -> list[Delivery | Exception]:
        """Every message into the transcript with one multi-row insert, then pushed to open pages."""
        rows: dict[str, dict[str, Any]] = {}
        results: dict[str, Delivery | Exception] = {}
        for msg in msgs:
            person_id = int(msg.recipient)
            if not await self._known(person_id):
                results[msg.idempotency_key] = ChannelError(f"invalid user {msg.recipient}", retryable=False)
                continue
            rows[msg.idempotency_key] = dict(person_id=person_id, direction="out", body=msg.body, card_id=msg.card_id,
                                             delivery_key=msg.idempotency_key, created_at=self.clock.now())
        shown: list[tuple[int, dict[str, Any]]] = []
        if rows:
            table = core_table(LocalChatMessage)
            insert = insert_ignore_into(self.db.engine.dialect.name, LocalChatMessage).returning(
                table.c.id, table.c.delivery_key)
            async with self.db.write() as s:
                new = {key: i for i, key in (await s.execute(insert, list(rows.values()))).all()}
                repeats = [k for k in rows if k not in new]  # a repeat of a delivery: the transcript already has it
                if repeats:
                    for row in (await s.execute(select(LocalChatMessage).where(
                            col(LocalChatMessage.delivery_key).in_(repeats)))).scalars():
                        key = str(row.delivery_key)
                        rows[key] = row.model_dump()
                        new[key] = int(rows[key]["id"])
            for key, values in rows.items():
                shown.append((int(values["person_id"]), _payload(new[key], values)))
                results[key] = Delivery(message_id=str(new[key]), refs={"local_message_id": new[key]})
        for person_id, payload in shown:
            await self.hub.publish(person_id, payload)
        return [results[m.idempotency_key] for m in msgs]

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        async with self.db.write() as s:
            row = await s.get(LocalChatMessage, refs["local_message_id"])
            if row is None:
                raise LookupError("card message vanished")
            row.body = msg.body
        await self.hub.publish(row.person_id, {**_payload(row.id, row.model_dump()), "replace": True})
        return Delivery(message_id=str(row.id), refs={})
