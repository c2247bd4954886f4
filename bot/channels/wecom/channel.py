"""The WeCom (企业微信) self-built app channel.

Inbound: one URL answers GET (URL verification) and POST (messages/events). A POST is checked in the
order cheapest-first — replay window, body size, signature, decryption, corp id, XML — and only then
stored through ``intake`` (one insert); the answer is an empty 200, well inside WeCom's 5 s. Anything
refused gets a 4xx and leaves nothing behind. Media download happens later, in ``prepare``.

Outbound: text (split at 2048 bytes) and template cards through message/send with
``enable_duplicate_check`` (a retried outbox row sends an identical request, which WeCom drops);
card updates through update_template_card with the stored single-use response_code, falling back
to a fresh card when it is missing, used or expired.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from bot.channels.base import (
    CallbackRefused,
    Channel,
    ChannelError,
    Delivery,
    Inbound,
    receive_callback,
    split_utf8,
)
from bot.channels.wecom.client import WecomClient, WecomError
from bot.channels.wecom.crypto import CallbackCrypto, check_aes_key
from bot.channels.wecom.groups import GROUP_RECIPIENTS, MARKDOWN_MAX_BYTES, GroupSender
from bot.channels.wecom.inbound import PLATFORM, parse_callback
from bot.channels.wecom.media import download
from bot.config import ConfigError, WecomConfig
from bot.ratelimit import IN_FLIGHT_SLACK, RateLimiter
from cards.model import Card
from cards.render_wecom import render_markdown, render_news_notice, render_template_card
from handlers.clock import Clock
from handlers.event import Event, EventKind
from storage.db import Database
from storage.models import Identity, OutboxMessage
from storage.outbox import Body, CardBody, FileBody, ImageBody, TextBody, body_of

log = logging.getLogger("actionflow.wecom")

TEXT_MAX_BYTES = 2048
CARD_PAGE = "/wecom/card"
CARD_PAGE_HTML = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>销售动作流</title></head>
<body style="font:16px/1.6 sans-serif;padding:24px;color:#1f2329">
<h3>📋 销售动作流</h3><p>这张卡片的内容和按钮都在企业微信的对话里：请返回聊天窗口，在卡片上直接操作。</p>
<p style="color:#646a73">发「帮助」给应用，可以看到所有用法。</p></body></html>"""
INTERACTIVE = {"button_interaction", "vote_interaction", "multiple_interaction"}
CODE_GONE = {60140, 42014, 42016}  # response_code used/expired, task id unknown: send a fresh card
MEDIA_KINDS = (EventKind.image, EventKind.voice, EventKind.file)


@dataclass(frozen=True)
class WecomCredentials:
    corp_id: str
    agent_id: int
    secret: str
    token: str
    aes_key: str
    robot_key: str | None = None

    def __repr__(self) -> str:  # never print secrets by accident
        return f"WecomCredentials(corp_id={self.corp_id!r}, agent_id={self.agent_id})"


def credentials_from_env(cfg: WecomConfig, env: dict[str, str] | None = None) -> WecomCredentials:
    """Read the app's credentials from the env vars the config names; errors name the variable, not the value."""
    env = dict(os.environ) if env is None else env
    names = {"corp_id": cfg.corp_id_env, "agent_id": cfg.agent_id_env, "secret": cfg.secret_env,
             "token": cfg.token_env, "aes_key": cfg.aes_key_env}
    missing = [n for n in names.values() if not env.get(n)]
    if missing:
        raise ConfigError(f"channels.wecom: environment variable(s) not set: {', '.join(missing)}")
    values = {k: env[n].strip() for k, n in names.items()}
    try:
        agent_id = int(values.pop("agent_id"))
    except ValueError:
        raise ConfigError(f"channels.wecom: {cfg.agent_id_env} must be the app's numeric AgentId") from None
    try:
        check_aes_key(values["aes_key"])
    except ValueError as exc:
        raise ConfigError(f"channels.wecom: {cfg.aes_key_env}: {exc}") from None
    return WecomCredentials(agent_id=agent_id, robot_key=env.get(cfg.robot_webhook_key_env) or None, **values)


def numbered(text: str, limit: int = TEXT_MAX_BYTES) -> list[str]:
    """Split, and number the pieces "(1/3) …": a reader sees the order, and two equal pieces stay two
    different requests (enable_duplicate_check would otherwise drop the second one)."""
    pieces = split_utf8(text, limit)
    if len(pieces) == 1:
        return pieces
    pieces = split_utf8(text, limit - 16)
    return [f"({i}/{len(pieces)}) {p}" for i, p in enumerate(pieces, 1)]


def text_pieces(text: str) -> list[str]:
    return numbered(text.strip() or "（空消息）")


def group_pieces(recipient: str, body: Body) -> tuple[list[str], str]:
    """What a group robot posts for ``body``: markdown pieces for a card, text pieces for a text, else none."""
    if isinstance(body, CardBody):
        text = render_markdown(Card.from_dict(body.card))
        return split_utf8(text, MARKDOWN_MAX_BYTES.get(recipient, TEXT_MAX_BYTES)), "markdown"
    if isinstance(body, TextBody):
        return split_utf8(body.text or "（空消息）", TEXT_MAX_BYTES), "text"
    return [], ""


def task_id_for(key: str) -> str:
    """Deterministic per outbox row (a retry sends the identical request) and never reused by another row."""
    return "af-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


class WecomChannel(Channel):
    name = PLATFORM

    def __init__(self, cfg: WecomConfig, creds: WecomCredentials, clock: Clock, *, db: Database | None = None,
                 public_url: str = "http://127.0.0.1:8080", source: str = "销售动作流",
                 tz: ZoneInfo | None = None, picture: Callable[[str], tuple[str, float] | None] | None = None) -> None:
        self.cfg = cfg
        # a card picture's public link and width ÷ height (bot.chart_links); None: cards show no picture
        self.picture = picture
        self.creds = creds
        self.clock = clock
        self.db = db
        self.public_url = public_url
        self.source = source
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.crypto = CallbackCrypto(creds.token, creds.aes_key, creds.corp_id)
        self.client = WecomClient(cfg.api_base, creds.corp_id, creds.secret, creds.agent_id,
                                  timeout_s=cfg.request_timeout_s)
        self.groups = GroupSender(self.client, appchat_id=cfg.appchat_id, robot_key=creds.robot_key,
                                  robot_rate_per_min=cfg.robot_rate_per_min)
        self.limiter = RateLimiter([(cfg.rate_per_member_per_min, 60.0), (cfg.rate_per_member_per_hour, 3600.0)],
                                   slack=IN_FLIGHT_SLACK)
        self.media_dir = Path(cfg.media_dir)
        self._uploaded: dict[str, str] = {}  # outbox key → media_id (valid 3 days; a restart re-uploads)

    def routes(self) -> list[web.RouteDef]:
        return [web.get(self.cfg.callback_path, self.verify), web.post(self.cfg.callback_path, self.callback),
                web.get(CARD_PAGE, self.card_page)]

    @property
    def card_link(self) -> str:
        """Where tapping a card's body leads: a page this service really serves (WeCom requires a URL on
        notice cards), never the bare site root, which a WeCom-only deployment does not serve."""
        return self.public_url.rstrip("/") + CARD_PAGE

    async def card_page(self, request: web.Request) -> web.Response:
        return web.Response(text=CARD_PAGE_HTML, content_type="text/html", charset="utf-8")

    async def close(self) -> None:
        await self.client.close()

    # ---- inbound -------------------------------------------------------------------------------
    def _window(self, request: web.Request) -> tuple[str, str, str]:
        """(msg_signature, timestamp, nonce), refused outside the replay window before any crypto."""
        q = request.query
        sig, ts, nonce = q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
        try:
            skew = abs(self.clock.now().timestamp() - int(ts))
        except ValueError:
            skew = float("inf")
        if not sig or not nonce or skew > self.cfg.timestamp_window_s:
            raise CallbackRefused("replay", "timestamp outside the window or parameters missing")
        return sig, ts, nonce

    async def verify(self, request: web.Request) -> web.StreamResponse:
        """GET URL verification: answer the decrypted echostr, plain text, within 1 s."""

        def echo(req: web.Request, _body: bytes) -> bytes:
            sig, ts, nonce = self._window(req)
            return self.crypto.verify_url(sig, ts, nonce, req.query.get("echostr", "")).encode("utf-8")

        def answer(_req: web.Request, plain: bytes) -> Inbound:
            return Inbound(response=web.Response(text=plain.decode("utf-8"), content_type="text/plain"))

        return await receive_callback(request, platform=PLATFORM, cap=self.cfg.max_callback_bytes,
                                      verify=echo, parse=answer, intake=self.intake)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """POST: replay window → size cap → signature → decryption → corp id → XML → AgentID → one insert."""
        return await receive_callback(request, platform=PLATFORM, cap=self.cfg.max_callback_bytes,
                                      verify=self._decrypt, parse=self._parse, intake=self.intake)

    def _decrypt(self, request: web.Request, body: bytes) -> bytes:
        sig, ts, nonce = self._window(request)
        return self.crypto.decrypt(body, sig, ts, nonce).encode("utf-8")

    def _parse(self, _request: web.Request, plaintext: bytes) -> Inbound:
        fields, event = parse_callback(plaintext.decode("utf-8"))
        agent = fields.get("AgentID")
        if isinstance(agent, str) and agent and agent != str(self.creds.agent_id):
            raise CallbackRefused("app", f"callback for AgentID {agent[:20]}")
        return Inbound(events=[event])

    async def prepare(self, event: Event) -> Event:
        """After the ack, before dispatch: fetch media; keep the userid mapping in step with contact changes."""
        if event.kind in MEDIA_KINDS and event.media is not None:
            return await download(self.client, event, self.media_dir, self.cfg.max_media_bytes)
        change = event.extra.get("change") if event.extra.get("event") == "change_contact" else None
        if isinstance(change, dict) and change.get("ChangeType") == "update_user" and change.get("NewUserID"):
            await self._rename_identity(str(change.get("UserID", "")), str(change["NewUserID"]))
        return event

    async def _rename_identity(self, old: str, new: str) -> None:
        """A member's userid changed in the contacts: follow it (idempotent, so a re-run is harmless)."""
        if self.db is None or not old or old == new:
            return
        async with self.db.write() as s:
            rows = (await s.execute(select(Identity).where(col(Identity.platform) == PLATFORM,
                                                           col(Identity.external_id).in_([old, new])))).scalars().all()
            by_id = {r.external_id: r for r in rows}
            if old in by_id and new not in by_id:
                by_id[old].external_id = new
                log.info("wecom userid renamed", extra={"platform": PLATFORM, "old": old, "new": new})

    # ---- outbound ------------------------------------------------------------------------------
    def _dup(self) -> dict[str, int]:
        return {"enable_duplicate_check": 1, "duplicate_check_interval": self.cfg.duplicate_check_interval_s}

    def _render(self, card: Card, task_id: str) -> dict[str, Any]:
        picture = self.picture(card.image) if card.image and self.picture and not card.actions() else None
        if picture:
            return render_news_notice(card, image_url=picture[0], aspect=picture[1], link_url=self.card_link,
                                      source=self.source)
        today = self.clock.now().astimezone(self.tz).date()
        return render_template_card(card, task_id=task_id, link_url=self.card_link, today=today, source=self.source)

    async def deliver(self, msg: OutboxMessage) -> Delivery:
        if msg.recipient in GROUP_RECIPIENTS:
            return await self._deliver_group(msg)
        match body_of(msg.body):
            case CardBody(card=card):
                return await self._send_card(msg.recipient, Card.from_dict(card), msg.idempotency_key)
            case ImageBody(image=f):
                return await self._send_media(msg, "image", f.path, f.name)
            case FileBody(file=f):
                return await self._send_media(msg, "file", f.path, f.name)
            case TextBody(text=text):
                return await self._send_text(msg, text)
        raise ChannelError("unknown outbox body", retryable=False)

    def sends(self, msg: OutboxMessage) -> int:
        """Each piece of a long text is one more message against the member's (or robot's) budget."""
        body = body_of(msg.body)
        if msg.recipient in GROUP_RECIPIENTS:
            return len(group_pieces(msg.recipient, body)[0])
        return len(text_pieces(body.text)) if isinstance(body, TextBody) else 1

    async def _send_text(self, msg: OutboxMessage, text: str) -> Delivery:
        msgid = None
        for piece in text_pieces(text):
            data = await self.client.send({"touser": msg.recipient, "msgtype": "text", "text": {"content": piece},
                                           **self._dup()})
            msgid = msgid or data.get("msgid")
        return Delivery(message_id=msgid, refs={})

    async def _send_media(self, msg: OutboxMessage, kind: str, path_s: str, name: str) -> Delivery:
        """Images (digest charts) and files: upload once per outbox row, then send by media_id. The
        media_id is remembered per row, so a retry is an identical request that duplicate check drops."""
        media_id = self._uploaded.get(msg.idempotency_key)
        if media_id is None:
            path = Path(path_s)
            content = await asyncio.to_thread(path.read_bytes)
            mime = ("image/png" if path.suffix.lower() == ".png" else "image/jpeg") if kind == "image" \
                else "application/octet-stream"
            media_id = await self.client.media_upload(kind, name or path.name, content, mime)
            self._uploaded[msg.idempotency_key] = media_id
        data = await self.client.send({"touser": msg.recipient, "msgtype": kind, kind: {"media_id": media_id},
                                       **self._dup()})
        return Delivery(message_id=data.get("msgid"), refs={})

    async def _send_card(self, recipient: str, card: Card, key: str) -> Delivery:
        task_id = task_id_for(key)
        tc = self._render(card, task_id)
        data = await self.client.send({"touser": recipient, "msgtype": "template_card", "template_card": tc,
                                       **self._dup()})
        msgid = data.get("msgid")
        refs = {"msgid": msgid, "task_id": task_id, "card_type": tc["card_type"],
                "reply_token": data.get("response_code") or None}
        return Delivery(message_id=msgid, refs=refs)

    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        """Replace the card in place with the stored response_code (single use); a fresh card otherwise."""
        body = body_of(msg.body)
        if not isinstance(body, CardBody):
            raise ChannelError("a card update without a card", retryable=False)
        card = Card.from_dict(body.card)
        code = refs.get("reply_token")
        if msg.recipient not in GROUP_RECIPIENTS and code and refs.get("card_type") in INTERACTIVE:
            tc = self._render(card, str(refs.get("task_id") or task_id_for(msg.idempotency_key)))
            try:
                await self.client.update_template_card({"userids": [msg.recipient], "response_code": code,
                                                        "template_card": tc})
                return Delivery(message_id=refs.get("msgid"), refs={"reply_token": None,
                                                                    "card_type": tc["card_type"]})
            except WecomError as exc:
                if exc.errcode not in CODE_GONE:
                    raise
                log.info("wecom response_code gone, sending a fresh card", extra={"errcode": exc.errcode})
        if msg.recipient in GROUP_RECIPIENTS:
            return await self._deliver_group(msg)
        return await self._send_card(msg.recipient, card, msg.idempotency_key)

    async def recall(self, msgid: str) -> None:
        await self.client.recall(msgid)

    async def _deliver_group(self, msg: OutboxMessage) -> Delivery:
        pieces, kind = group_pieces(msg.recipient, body_of(msg.body))
        if not pieces:
            raise ChannelError("group messages carry text or cards only", retryable=False)
        msgid = None
        for piece in pieces:
            msgid = msgid or await self.groups.send(msg.recipient, kind, piece)
        return Delivery(message_id=msgid, refs={})

