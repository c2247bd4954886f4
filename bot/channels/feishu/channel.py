"""The Feishu / Lark (飞书) self-built app channel.

Inbound: one URL for events and card callbacks. Cheapest checks first — size cap, JSON, decryption,
url_verification (answered at once, no database), signature and replay window (when an Encrypt Key is
set), Verification Token — and only then one inbox insert; the answer is a 200 well inside Feishu's
3 s (1 s for the challenge). A card click is stored like any event and answered with a toast; the
handler's new card follows by PATCH, because Feishu does not retry callbacks and a slow answer shows
the person error 200341.

Outbound: text and JSON 2.0 cards via im/v1/messages with a ``uuid`` derived from the outbox key (a
retried row cannot post twice); card updates PATCH the sent message (shared cards, within 14 days;
older ones get a fresh card); a card Feishu cannot build (230099) goes out as text instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.channels.base import (
    CallbackRefused,
    Channel,
    ChannelError,
    Delivery,
    Inbound,
    receive_callback,
    store_file,
)
from bot.channels.feishu.client import FeishuClient, FeishuError
from bot.channels.feishu.crypto import decrypt, load_object, same, signature
from bot.channels.feishu.inbound import CARD, PLATFORM, to_event
from bot.config import ConfigError, FeishuConfig
from bot.inbox import source_event
from bot.ratelimit import IN_FLIGHT_SLACK, RateLimiter
from bot.speech import pcm_of
from cards.model import Card
from cards.render_feishu import MAX_CARD_BYTES, render_card, render_text
from handlers.clock import Clock
from handlers.event import Event, EventKind
from storage.db import Database
from storage.models import InboxEvent, OutboxMessage
from storage.outbox import CardBody, FileBody, ImageBody, TextBody, body_of

log = logging.getLogger("actionflow.feishu")

TEXT_MAX_CHARS = 30000  # far under Feishu's 150 KB; long texts are split and numbered
UPDATE_GONE = {230031, 230011}  # too old to update / recalled: send a fresh card instead
REPLY_GONE = {230011, 230001, 231003}  # the question was recalled or is gone: answer as a new message
PRESS_TOAST = {"toast": {"type": "info", "content": "已收到，处理中…", "i18n": {"zh_cn": "已收到，处理中…",
                                                                               "en_us": "Received"}}}
STT_PIECE_BYTES = 59 * 16000 * 2
MEDIA_KINDS = {EventKind.image: "image", EventKind.voice: "file", EventKind.file: "file"}
CARD_PAGE = "/feishu/card"
CARD_PAGE_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>销售动作流</title></head>
<body style="font:16px/1.6 sans-serif;padding:24px;color:#1f2329">
<h3>📋 销售动作流</h3><p>这张卡片的内容和按钮都在飞书的对话里：请返回聊天窗口，在卡片上直接操作。</p>
<p style="color:#646a73">发「帮助」给机器人，可以看到所有用法。</p></body></html>"""


@dataclass(frozen=True)
class FeishuCredentials:
    app_id: str
    app_secret: str
    verification_token: str
    encrypt_key: str | None  # optional in Feishu; without it there is no signature, only the token

    def __repr__(self) -> str:  # never print secrets by accident
        return f"FeishuCredentials(app_id={self.app_id!r}, encrypted={bool(self.encrypt_key)})"


def credentials_from_env(cfg: FeishuConfig, env: dict[str, str] | None = None) -> FeishuCredentials:
    """Read the app's credentials from the env vars the config names; errors name the variable, not the value."""
    env = dict(os.environ) if env is None else env
    needed = {"app_id": cfg.app_id_env, "app_secret": cfg.app_secret_env,
              "verification_token": cfg.verification_token_env}
    missing = [n for n in needed.values() if not env.get(n, "").strip()]
    if missing:
        raise ConfigError(f"channels.feishu: environment variable(s) not set: {', '.join(missing)}")
    values = {k: env[n].strip() for k, n in needed.items()}
    return FeishuCredentials(encrypt_key=env.get(cfg.encrypt_key_env, "").strip() or None, **values)


def numbered(text: str, limit: int = TEXT_MAX_CHARS) -> list[str]:
    """Pieces of at most ``limit`` characters, numbered "(1/3) …" when there is more than one."""
    pieces = [text[i:i + limit] for i in range(0, len(text), limit)] or [""]
    return pieces if len(pieces) == 1 else [f"({n}/{len(pieces)}) {p}" for n, p in enumerate(pieces, 1)]


def text_pieces(text: str) -> list[str]:
    return numbered(text.strip() or "（空消息）")


def send_uuid(key: str, part: int = 0) -> str:
    """≤ 50 chars, the same for every retry of one outbox row (and piece): Feishu sends it at most once."""
    return hashlib.sha256(f"{key}#{part}".encode()).hexdigest()[:40]


def receive_id_type(recipient: str) -> str:
    return "chat_id" if recipient.startswith("oc_") else "open_id"


class FeishuChannel(Channel):
    name = PLATFORM

    def __init__(self, cfg: FeishuConfig, creds: FeishuCredentials, clock: Clock, *,
                 public_url: str = "http://127.0.0.1:8080", db: Database | None = None) -> None:
        self.cfg = cfg
        self.creds = creds
        self.clock = clock
        self.public_url = public_url
        self.client = FeishuClient(cfg.api_base, creds.app_id, creds.app_secret, timeout_s=cfg.request_timeout_s,
                                   rate_per_second=cfg.rate_per_second)
        self.limiter = RateLimiter([(cfg.rate_per_user_per_second, 1.0)],
                                   app_windows=[(cfg.rate_per_second, 1.0), (cfg.rate_per_minute, 60.0)],
                                   slack=IN_FLIGHT_SLACK)
        self.media_dir = Path(cfg.media_dir)
        self._uploaded: dict[str, str] = {}  # outbox key → image_key / file_key
        self.db = db

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.cfg.callback_path, self.callback), web.get(CARD_PAGE, self.card_page)]

    @property
    def card_link(self) -> str:
        return self.public_url.rstrip("/") + CARD_PAGE

    async def card_page(self, request: web.Request) -> web.Response:
        return web.Response(text=CARD_PAGE_HTML, content_type="text/html", charset="utf-8")

    async def close(self) -> None:
        await self.client.close()

    # ---- inbound -------------------------------------------------------------------------------
    async def callback(self, request: web.Request) -> web.StreamResponse:
        return await receive_callback(request, platform=PLATFORM, cap=self.cfg.max_callback_bytes,
                                      verify=self._verify, parse=self._parse, intake=self.intake)

    def _verify(self, request: web.Request, body: bytes) -> bytes:
        """The trusted plaintext JSON. A url_verification is let through here (Feishu does not sign it);
        ``_parse`` checks its token before echoing."""
        outer = load_object(body)
        key = self.creds.encrypt_key
        if "encrypt" in outer:
            if not key:
                raise CallbackRefused("decrypt", "encrypted callback but no Encrypt Key configured")
            plain = decrypt(key, str(outer["encrypt"]))
            inner = load_object(plain)
        elif key:
            raise CallbackRefused("decrypt", "plaintext callback while an Encrypt Key is configured")
        else:
            plain, inner = body.decode("utf-8", "replace"), outer
        if inner.get("type") == "url_verification":
            return plain.encode("utf-8")
        if key:
            self._check_signature(request, body, key)
        return plain.encode("utf-8")

    def _check_signature(self, request: web.Request, body: bytes, key: str) -> None:
        h = request.headers
        ts, nonce, sig = (h.get("X-Lark-Request-Timestamp", ""), h.get("X-Lark-Request-Nonce", ""),
                          h.get("X-Lark-Signature", ""))
        try:
            skew = abs(self.clock.now().timestamp() - int(ts))
        except ValueError:
            skew = float("inf")
        if not sig or not nonce or skew > self.cfg.timestamp_window_s:
            raise CallbackRefused("replay", "timestamp outside the window or signature headers missing")
        if not same(signature(ts, nonce, key, body), sig):
            raise CallbackRefused("signature", "X-Lark-Signature mismatch")

    def _parse(self, _request: web.Request, plaintext: bytes) -> Inbound:
        data = load_object(plaintext)
        token = self.creds.verification_token
        if data.get("type") == "url_verification":
            if not same(str(data.get("token", "")), token):
                raise CallbackRefused("token", "url_verification with a wrong token")
            return Inbound(response=web.json_response({"challenge": str(data.get("challenge", ""))}))
        if data.get("schema") != "2.0" or not isinstance(data.get("header"), dict):
            raise CallbackRefused("malformed", "not a schema 2.0 envelope")
        header = data["header"]
        if not same(str(header.get("token", "")), token):
            raise CallbackRefused("token", "Verification Token mismatch")
        if header.get("app_id") and header.get("app_id") != self.creds.app_id:
            raise CallbackRefused("app", "callback for another app")
        event = to_event(data)
        if header.get("event_type") == CARD:
            return Inbound(events=[event], response=web.json_response(PRESS_TOAST if event.action else {}))
        return Inbound(events=[event], response=web.json_response({"msg": "ok"}))

    async def prepare(self, event: Event) -> Event:
        """After the ack: download a photo, voice or file into our media store (keys are per message)."""
        kind = MEDIA_KINDS.get(event.kind)
        media, message_id = event.media, str(event.extra.get("message_id") or "")
        if kind is None or media is None or media.path or not message_id:
            return event
        try:
            content, ctype = await self.client.resource(message_id, media.ref, kind, self.cfg.max_media_bytes)
        except FeishuError as exc:
            log.warning("feishu media download failed", extra={"event_id": event.event_id, "error": str(exc)})
            return event.model_copy(update={"extra": {**event.extra, "download_error": str(exc)[:200]}})
        mime = ctype.split(";")[0].strip() or media.mime
        suffix = Path(media.name).suffix.lower()[:10] or ".bin"
        path = self.media_dir / f"{hashlib.sha256(media.ref.encode()).hexdigest()[:32]}{suffix}"
        await asyncio.to_thread(store_file, path, content)
        return event.model_copy(update={"media": media.model_copy(update={"path": str(path), "mime": mime})})

    @property
    def has_speech(self) -> bool:  # type: ignore[override]
        return self.cfg.speech_to_text

    async def transcribe(self, clips: list[bytes]) -> str | None:
        """Feishu's speech_to_text: raw 16 kHz PCM in pieces of ≤ 59 s (its cap is 60 s per call)."""
        if not self.cfg.speech_to_text:
            return None
        pcm = b"".join(pcm_of(c) for c in clips)
        texts = []
        for n, at in enumerate(range(0, len(pcm), STT_PIECE_BYTES)):
            file_id = hashlib.sha256(pcm[:64] + str(n).encode()).hexdigest()[:16]
            texts.append(await self.client.recognize(pcm[at:at + STT_PIECE_BYTES], file_id))
        return "".join(texts).strip() or None

    # ---- outbound ------------------------------------------------------------------------------
    async def deliver(self, msg: OutboxMessage) -> Delivery:
        match body_of(msg.body):
            case CardBody(card=card):
                return await self._send_card(msg, Card.from_dict(card))
            case TextBody(text=text):
                return await self._send_text(msg, text)
            case ImageBody(image=f):
                return await self._send_media(msg, "image", f.path, f.name)
            case FileBody(file=f):
                return await self._send_media(msg, "file", f.path, f.name)
        raise ChannelError("unknown outbox body", retryable=False)

    async def _upload(self, msg: OutboxMessage, kind: str, path_s: str, name: str = "") -> str:
        """Upload once per outbox row (a key remembered per row spares a second upload on retry)."""
        key = self._uploaded.get(msg.idempotency_key)
        if key is None:
            path = Path(path_s)
            content = await asyncio.to_thread(path.read_bytes)
            mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}.get(
                path.suffix.lower(), "application/octet-stream")
            key = await self.client.upload(kind, name or path.name, content, mime)
            self._uploaded[msg.idempotency_key] = key
        return key

    async def _send_media(self, msg: OutboxMessage, kind: str, path_s: str, name: str) -> Delivery:
        """Files and images: uploaded, then sent by key (the uuid makes the send repeat-safe)."""
        key = await self._upload(msg, kind, path_s, name)
        content_key = {"image_key": key} if kind == "image" else {"file_key": key}
        mid = await self.client.send(receive_id_type(msg.recipient), msg.recipient, kind, content_key,
                                     send_uuid(msg.idempotency_key))
        return Delivery(message_id=mid, refs={})

    def sends(self, msg: OutboxMessage) -> int:
        """Each piece of a long text is one more message against the user's and the app's budgets, and so is
        the upload of a card's picture (im/v1/images shares the app's 50/s and 1000/min)."""
        body = body_of(msg.body)
        if isinstance(body, TextBody):
            return len(text_pieces(body.text))
        uploads = isinstance(body, CardBody) and body.card.get("image") and msg.idempotency_key not in self._uploaded
        return 2 if uploads else 1

    async def _send_text(self, msg: OutboxMessage, text: str) -> Delivery:
        first = None
        for n, piece in enumerate(text_pieces(text)):
            mid = await self._post(msg, "text", {"text": piece}, send_uuid(msg.idempotency_key, n))
            first = first or mid
        return Delivery(message_id=first, refs={})

    async def _render(self, msg: OutboxMessage, card: Card) -> dict[str, Any]:
        image_key = await self._upload(msg, "image", card.image) if card.image else ""
        rendered = render_card(card, link_url=self.card_link, image_key=image_key)
        if len(str(rendered).encode("utf-8")) > MAX_CARD_BYTES:
            raise FeishuError(230025, "card over 30 KB", retryable=False)
        return rendered

    async def _send_card(self, msg: OutboxMessage, card: Card, part: int = 0) -> Delivery:
        try:
            mid = await self._post(msg, "interactive", await self._render(msg, card), send_uuid(msg.idempotency_key, part))
        except FeishuError as exc:
            if exc.code not in (230099, 230025):
                raise
            log.warning("feishu card refused, sending text", extra={"code": exc.code})
            mid = await self.client.send(receive_id_type(msg.recipient), msg.recipient, "text",
                                         {"text": render_text(card)}, send_uuid(msg.idempotency_key, part + 100))
            return Delivery(message_id=mid, refs={"message_id": mid, "text_only": True})
        return Delivery(message_id=mid, refs={"message_id": mid})

    async def _post(self, msg: OutboxMessage, msg_type: str, content: dict[str, Any], uuid: str) -> str | None:
        """A reply to the rep's own message when this answers it in a one-to-one chat (Feishu quotes the
        question above the answer, so quick successive messages stay matched); a new message otherwise.
        Never a reply in a group: the answer is the rep's own card, not the group's."""
        parent = await self._answering(msg) if msg.op == "send" else None
        if parent:
            try:
                return await self.client.reply(parent, msg_type, content, uuid)
            except FeishuError as exc:
                if exc.code not in REPLY_GONE:
                    raise
        return await self.client.send(receive_id_type(msg.recipient), msg.recipient, msg_type, content, uuid)

    async def _answering(self, msg: OutboxMessage) -> str | None:
        """The platform message id of the p2p message from this recipient whose handling queued ``msg``."""
        inbox_id = source_event(msg.idempotency_key)
        if inbox_id is None or self.db is None:
            return None
        async with self.db.session() as s:
            row = await s.get(InboxEvent, inbox_id)
        if row is None or row.platform != PLATFORM or row.sender != msg.recipient:
            return None
        extra = row.payload.get("extra") or {}
        if extra.get("chat_type") != "p2p" or row.kind == EventKind.card_action.value:
            return None
        return str(extra.get("message_id") or "") or None

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        """PATCH the sent card in place; too old, recalled or never a card → a fresh card."""
        body = body_of(msg.body)
        if not isinstance(body, CardBody):
            raise ChannelError("a card update without a card", retryable=False)
        card = Card.from_dict(body.card)
        mid = refs.get("message_id")
        if mid and not refs.get("text_only"):
            try:
                await self.client.patch(str(mid), await self._render(msg, card))
                return Delivery(message_id=str(mid), refs={})
            except FeishuError as exc:
                if exc.code not in UPDATE_GONE:
                    raise
                log.info("feishu card can no longer be updated, sending a fresh one", extra={"code": exc.code})
        return await self._send_card(msg, card, part=1)
