"""The DingTalk (钉钉) internal-app robot channel, Stream mode.

Inbound: a Stream connection (``stream.py``) delivers robot messages and card presses; each becomes an
Event stored by ``intake`` (one inbox insert) and only then is the frame ACKed. A duplicate (DingTalk
re-delivers about 60 s later when an ACK is late or lost) is ACKed too and dropped by the inbox.
Downloads happen later, in ``prepare``. Optionally (``http_callback_path``) the robot's HTTP mode: the same
messages POSTed with a signed timestamp, through the shared callback pipeline.

Outbound: a text goes through the person's 1:1 ``sessionWebhook`` while it is fresh (no OpenAPI quota),
else ``oToMessages/batchSend``; cards go through the card platform (``createAndDeliver`` with
``callbackType: STREAM`` into ``IM_ROBOT.<userId>``, ``outTrackId`` derived from the outbox key, so a
retry names the same card) and are updated in place with ``PUT /v1.0/card/instances``. Without a
configured card template, cards go as robot markdown without buttons.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from dingtalk_stream.chatbot import ChatbotMessage
from dingtalk_stream.frames import CallbackMessage
from dingtalk_stream.handlers import CallbackHandler

from bot.channels.base import (
    CallbackRefused,
    Channel,
    ChannelError,
    Delivery,
    Inbound,
    Intake,
    receive_callback,
    split_utf8,
)
from bot.channels.dingtalk.client import DingtalkClient, DingtalkError
from bot.channels.dingtalk.crypto import check_signature
from bot.channels.dingtalk.inbound import PLATFORM, card_event, message_event
from bot.channels.dingtalk.media import download
from bot.channels.dingtalk.stream import StreamConnection
from bot.config import ConfigError, DingtalkConfig
from bot.ratelimit import IN_FLIGHT_SLACK, RateLimiter
from cards.model import Card
from cards.render_dingtalk import render_card_params, render_markdown
from handlers.clock import Clock
from handlers.event import Event, EventKind
from storage.models import OutboxMessage
from storage.outbox import CardBody, FileBody, ImageBody, TextBody, body_of

log = logging.getLogger("actionflow.dingtalk")

BOT_TOPIC: str = ChatbotMessage.TOPIC
CARD_TOPIC: str = CallbackHandler.TOPIC_CARD_CALLBACK
TEXT_MAX_BYTES = 12_000  # msgParam ≤ 15,000 bytes (groupMessages/send); room left for JSON escapes
WEBHOOK_HOSTS = {"oapi.dingtalk.com", "api.dingtalk.com"}
WEBHOOK_MARGIN_MS = 60_000  # a webhook about to expire is not used
MEDIA_KINDS = (EventKind.image, EventKind.voice, EventKind.file)
FILE_TYPES = {"xlsx", "pdf", "zip", "rar", "doc", "docx"}


@dataclass(frozen=True)
class DingtalkCredentials:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never print secrets by accident
        return f"DingtalkCredentials(client_id={self.client_id!r})"


def credentials_from_env(cfg: DingtalkConfig, env: dict[str, str] | None = None) -> DingtalkCredentials:
    """The app's credentials from the env vars the config names; errors name the variable, not the value."""
    env = dict(os.environ) if env is None else env
    missing = [n for n in (cfg.client_id_env, cfg.client_secret_env) if not env.get(n, "").strip()]
    if missing:
        raise ConfigError(f"channels.dingtalk: environment variable(s) not set: {', '.join(missing)}")
    return DingtalkCredentials(env[cfg.client_id_env].strip(), env[cfg.client_secret_env].strip())


def out_track_id(key: str) -> str:
    """Deterministic per outbox row (a retry names the same card instance), ≤ 64 characters."""
    return "af-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


class DingtalkChannel(Channel):
    name = PLATFORM

    def __init__(self, cfg: DingtalkConfig, creds: DingtalkCredentials, clock: Clock, *,
                 tz: ZoneInfo | None = None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._secret = creds.client_secret  # HTTP mode signatures
        self.client = DingtalkClient(cfg.api_base, creds.client_id, creds.client_secret, robot_code=cfg.robot_code,
                                     clock=clock, timeout_s=cfg.request_timeout_s, rate_per_second=cfg.rate_per_second,
                                     oapi_base=cfg.oapi_base)
        self.stream = StreamConnection(self.client, {BOT_TOPIC: self._on_message, CARD_TOPIC: self._on_press},
                                       max_backoff_s=cfg.reconnect_max_s, silent_s=cfg.silent_reconnect_s)
        self.limiter = RateLimiter([(cfg.rate_per_second, 1.0)], slack=IN_FLIGHT_SLACK)
        self.media_dir = Path(cfg.media_dir)
        self.webhooks: dict[str, tuple[str, int]] = {}  # userId → (1:1 sessionWebhook, expires at ms)
        self._uploaded: dict[str, str] = {}  # outbox key → media_id (a restart uploads again)
        api_host = urlsplit(cfg.api_base).hostname
        self._webhook_hosts = WEBHOOK_HOSTS | ({api_host} if api_host else set())

    def routes(self) -> list[web.RouteDef]:
        """Robot HTTP mode, when configured: the same messages as Stream, POSTed and signed."""
        return [web.post(self.cfg.http_callback_path, self.http_callback)] if self.cfg.http_callback_path else []

    async def start(self, intake: Intake) -> None:
        await super().start(intake)
        if self.cfg.stream:
            self.stream.start()

    async def close(self) -> None:
        await self.stream.stop()
        await self.client.close()

    # ---- inbound -------------------------------------------------------------------------------
    async def _on_message(self, msg: CallbackMessage) -> None:
        """A robot message: remember the 1:1 reply webhook, store the event; the ACK follows our return."""
        data = msg.data if isinstance(msg.data, dict) else {}
        try:
            event = message_event(data, msg.headers.message_id)
        except ValueError as exc:  # unreadable however often it comes: ACK it rather than have it pushed forever
            log.warning("dingtalk message not readable", extra={"platform": PLATFORM, "error": str(exc)[:200]})
            return
        self._remember_webhook(event, data)
        await self.intake(event)

    async def _on_press(self, msg: CallbackMessage) -> dict[str, Any]:
        """A card press: store it; the card itself is updated through the outbox (PUT by outTrackId)."""
        data = msg.data if isinstance(msg.data, dict) else {}
        try:
            event = card_event(data, msg.headers.message_id, self.clock.now())
        except ValueError as exc:
            log.warning("dingtalk card press not readable", extra={"platform": PLATFORM, "error": str(exc)[:200]})
            return {}
        await self.intake(event)
        return {}  # an empty response leaves the card as it is until our update arrives

    async def http_callback(self, request: web.Request) -> web.StreamResponse:
        """HTTP mode: size cap → time window → signature → JSON → robot → one insert; an empty 200 (replies go
        out later, through the outbox)."""
        return await receive_callback(request, platform=PLATFORM, cap=self.cfg.max_callback_bytes,
                                      verify=self._verify_http, parse=self._parse_http, intake=self.intake)

    def _verify_http(self, request: web.Request, body: bytes) -> bytes:
        check_signature(request.headers.get("timestamp", ""), request.headers.get("sign", ""), self._secret,
                        now_ms=int(self.clock.now().timestamp() * 1000), window_s=self.cfg.timestamp_window_s)
        return body

    def _parse_http(self, _request: web.Request, body: bytes) -> Inbound:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # nested deeper than the parser's stack is a 400, not a 500
            raise CallbackRefused("json", "body is not JSON") from None
        if not isinstance(data, dict) or not data.get("msgId") or not data.get("msgtype"):
            raise CallbackRefused("malformed", "msgId/msgtype missing")
        robot = data.get("robotCode")
        if robot and robot != self.client.robot_code:
            raise CallbackRefused("app", "callback for another robot")
        event = message_event(data, None)
        self._remember_webhook(event, data)
        return Inbound(events=[event])

    def _remember_webhook(self, event: Event, data: dict[str, Any]) -> None:
        url = str(data.get("sessionWebhook") or "")
        if event.extra.get("conversation_type") != "single" or not url or not event.sender:
            return
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or parts.hostname not in self._webhook_hosts:
            log.warning("dingtalk sessionWebhook on an unexpected host ignored", extra={"platform": PLATFORM})
            return
        if parts.scheme == "http" and parts.hostname in WEBHOOK_HOSTS:
            return
        try:
            expires = int(data.get("sessionWebhookExpiredTime") or 0)
        except (TypeError, ValueError):
            return
        self.webhooks[event.sender] = (url, expires)

    async def prepare(self, event: Event) -> Event:
        """After the ack, before dispatch: fetch the photo, voice, file or video by its downloadCode."""
        if event.kind in MEDIA_KINDS and event.media is not None:
            return await download(self.client, event, self.media_dir, self.cfg.max_media_bytes)
        return event

    # ---- outbound ------------------------------------------------------------------------------
    def _webhook_for(self, recipient: str) -> str | None:
        url, expires = self.webhooks.get(recipient, ("", 0))
        now_ms = int(self.clock.now().timestamp() * 1000)
        return url if url and expires - WEBHOOK_MARGIN_MS > now_ms else None

    async def deliver(self, msg: OutboxMessage) -> Delivery:
        match body_of(msg.body):
            case CardBody(card=card):
                return await self._send_card(msg, Card.from_dict(card))
            case TextBody(text=text):
                return await self._send_text(msg.recipient, text.strip() or "（空消息）")
            case ImageBody(image=f):
                return await self._send_media(msg, "image", f.path, f.name)
            case FileBody(file=f):
                return await self._send_media(msg, "file", f.path, f.name)
        raise ChannelError("unknown outbox body", retryable=False)

    def sends(self, msg: OutboxMessage) -> int:
        """Each piece of a long text is one more call against the app's budget."""
        body = body_of(msg.body)
        return len(split_utf8(body.text, TEXT_MAX_BYTES)) if isinstance(body, TextBody) else 1

    async def _send_text(self, recipient: str, text: str, *, markdown_title: str = "") -> Delivery:
        pieces = split_utf8(text, TEXT_MAX_BYTES)
        message_id = None
        for piece in pieces:
            message_id = await self._send_piece(recipient, piece, markdown_title) or message_id
        return Delivery(message_id=message_id, refs={})

    async def _send_piece(self, recipient: str, piece: str, markdown_title: str) -> str | None:
        url = self._webhook_for(recipient)
        if url is not None:
            body: dict[str, Any] = ({"msgtype": "markdown", "markdown": {"title": markdown_title, "text": piece}}
                                    if markdown_title else {"msgtype": "text", "text": {"content": piece}})
            try:
                await self.client.webhook_send(url, body)
                return None
            except DingtalkError as exc:  # expired or refused: the OpenAPI still reaches the person
                log.info("dingtalk sessionWebhook failed, using the OpenAPI", extra={"platform": PLATFORM,
                                                                                    "error": str(exc)[:200]})
                self.webhooks.pop(recipient, None)
        if recipient.startswith("ext:"):
            raise ChannelError("dingtalk: an external user can only be answered while the chat's webhook lives",
                               retryable=False)
        key, param = (("sampleMarkdown", {"title": markdown_title, "text": piece}) if markdown_title
                      else ("sampleText", {"content": piece}))
        data = await self.client.batch_send([recipient], key, param)
        if recipient in (data.get("invalidStaffIdList") or []) or recipient in (data.get("filteredStaffIdList") or []):
            raise ChannelError(f"dingtalk: {recipient} is not a valid recipient of this robot (invalid or filtered)",
                               retryable=False)
        if recipient in (data.get("flowControlledStaffIdList") or []):
            raise ChannelError("dingtalk: recipient flow-controlled", retryable=True, retry_after=60.0)
        return str(data.get("processQueryKey") or "") or None

    async def _send_media(self, msg: OutboxMessage, kind: str, path_s: str, name: str) -> Delivery:
        """A chart image or a file: uploaded once per outbox row (a retry reuses the media_id), then sent as
        a robot message. Robot file messages take only xlsx/pdf/zip/rar/doc/docx."""
        path = Path(path_s)
        name = name or path.name
        ext = Path(name).suffix.lower().lstrip(".")
        if kind == "file" and ext not in FILE_TYPES:
            raise ChannelError(f"dingtalk: robot file messages take {'/'.join(sorted(FILE_TYPES))}, not {ext or '?'}",
                               retryable=False)
        media_id = await self._upload(msg, kind, path, name)
        param = ({"photoURL": media_id} if kind == "image"
                 else {"mediaId": media_id, "fileName": name, "fileType": ext})
        data = await self.client.batch_send([msg.recipient], "sampleImageMsg" if kind == "image" else "sampleFile",
                                            param)
        if msg.recipient in (data.get("invalidStaffIdList") or []):
            raise ChannelError(f"dingtalk: {msg.recipient} is not a valid recipient of this robot", retryable=False)
        return Delivery(message_id=str(data.get("processQueryKey") or "") or None, refs={})

    async def _upload(self, msg: OutboxMessage, kind: str, path: Path, name: str) -> str:
        """Once per outbox row (a retry reuses the media_id)."""
        media_id = self._uploaded.get(msg.idempotency_key)
        if media_id is None:
            content = await asyncio.to_thread(path.read_bytes)
            ext = Path(name).suffix.lower().lstrip(".")
            mime = ("image/png" if ext == "png" else "image/jpeg") if kind == "image" else "application/octet-stream"
            media_id = await self.client.media_upload(kind, name, content, mime)
            self._uploaded[msg.idempotency_key] = media_id
        return media_id

    async def _params(self, msg: OutboxMessage, card: Card) -> dict[str, str]:
        """The template's variables; the card's picture is uploaded first and named by its media id."""
        image = await self._upload(msg, "image", Path(card.image), Path(card.image).name) if card.image else ""
        return render_card_params(card, today=self.clock.now().astimezone(self.tz).date(), image=image)

    async def _send_card(self, msg: OutboxMessage, card: Card) -> Delivery:
        if not self.cfg.card_template_id:
            return await self._send_text(msg.recipient, render_markdown(card), markdown_title=card.title[:20])
        track = out_track_id(msg.idempotency_key)
        data = await self.client.create_and_deliver({
            "cardTemplateId": self.cfg.card_template_id, "outTrackId": track, "callbackType": "STREAM",
            "cardData": {"cardParamMap": await self._params(msg, card)},
            "openSpaceId": f"dtv1.card//IM_ROBOT.{msg.recipient}",
            "imRobotOpenSpaceModel": {"supportForward": False},
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self.client.robot_code},
            "userIdType": 1})
        raw = data.get("result")
        result: dict[str, Any] = raw if isinstance(raw, dict) else {}
        failed = [r for r in result.get("deliverResults") or [] if isinstance(r, dict) and not r.get("success")]
        if data.get("success") is False or failed:
            reason = str(failed[0].get("errorMsg") if failed else data.get("message") or "")[:200]
            raise ChannelError(f"dingtalk: card not delivered: {reason}", retryable=False)
        return Delivery(message_id=track, refs={"out_track_id": track})

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        """Replace the card's data in place by its outTrackId; a markdown card is sent again instead."""
        body = body_of(msg.body)
        if not isinstance(body, CardBody):
            raise ChannelError("a card update without a card", retryable=False)
        card = Card.from_dict(body.card)
        track = refs.get("out_track_id")
        if not track or not self.cfg.card_template_id:
            return await self._send_card(msg, card)
        try:
            await self.client.update_card({"outTrackId": track, "cardData": {"cardParamMap": await self._params(msg, card)},
                                           "cardUpdateOptions": {"updateCardDataByKey": True}, "userIdType": 1})
        except DingtalkError as exc:
            if not (isinstance(exc.code, str) and "outTrackId" in exc.code):
                raise
            log.info("dingtalk card instance gone, sending a fresh card", extra={"platform": PLATFORM})
            return await self._send_card(msg, card)  # its own outTrackId, from the update row's key
        return Delivery(message_id=str(track), refs={"out_track_id": track})
