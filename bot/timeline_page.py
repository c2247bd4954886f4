"""The customer timeline page: ``GET /timeline/{customer id}?t=<signed link>`` — the whole history of one customer.

The chat card carries a link signed for that customer with an expiry (HMAC-SHA256 with the secret named by
``security.token_secret_env``); the link alone shows nothing. Who is looking comes from the platform's identity:
in the local emulator the chosen persona (``as``, honoured only while the emulator channel is on), inside WeCom
or Feishu the member its OAuth names — all looked up in the identity table like any platform user id. Then the database decides (``may_see``): the owner, the
supervisors above the owner, assignees of the customer's tasks, and managers. Anything else is a 403 page that
says why, and nothing is shown. Inside WeCom or Feishu the page sends the browser through the app's silent OAuth
and names the member by the code it comes back with (single use, exchanged at once, ``state`` naming the
platform); DingTalk (a login-free code from its JS API) waits for the shared page identity of issue 16 and is
refused politely until then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from yarl import URL

from bot.channels.base import Channel, ChannelError
from bot.channels.feishu import oauth as feishu_oauth
from bot.channels.feishu.channel import FeishuChannel
from bot.channels.wecom import oauth as wecom_oauth
from bot.channels.wecom.channel import WecomChannel
from bot.config import Config
from bot.guard import WebGuard
from cards.timeline_page import render_refusal, render_timeline
from handlers.customer_timeline import items, may_see
from storage.db import Database
from storage.models import Customer, Identity, Person

log = logging.getLogger("actionflow.timeline")
PAGE_ITEMS = 200
LINK_TTL_S = 7 * 86400  # a week: the link is in a chat people scroll back to; who may look is checked anyway
PURPOSE = "timeline"
WECOM_UA = re.compile(r"wxwork", re.IGNORECASE)  # WeCom's in-app browser says so in its User-Agent
FEISHU_UA = re.compile(r"Lark|Feishu", re.IGNORECASE)
EXPIRED = "链接无效或已过期：请在聊天里重新发「客户名 最近进展」获取新链接。"
OUTSIDE = "请在企业微信、钉钉或飞书里打开这个链接（需要确认你的身份）。"
NOT_YOURS = "这个客户的时间线只对负责它的人可见（负责人、其上级、协同任务的负责人和经理）。"


_PROCESS_SECRET = secrets.token_hex(32)  # without a configured secret: one per process, shared by all its signers
_WARNED: list[bool] = []  # said once per process


class LinkSigner:
    """Signed, expiring links for one purpose; the payload names the customer, so a link opens nothing else."""

    def __init__(self, secret: str | None, purpose: str = PURPOSE) -> None:
        if not secret and not _WARNED:
            _WARNED.append(True)
            log.warning("no link secret in the environment (security.token_secret_env): timeline links are valid "
                        "until this process restarts")
        self.key = hashlib.sha256(f"{purpose}:{secret or _PROCESS_SECRET}".encode()).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())

    def sign(self, subject: str, expires: float) -> str:
        body = _b64(json.dumps({"s": subject, "e": int(expires)}, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def subject(self, token: str, now: float) -> str | None:
        """The signed subject, or None for a forged, altered, malformed or expired token."""
        body, _, mac = token.partition(".")
        if not body or not mac or len(token) > 512 or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("s"), str) or not isinstance(data.get("e"), int):
            return None
        return data["s"] if now < data["e"] else None


def page_link(cfg: Config) -> Callable[[str, datetime], str]:
    """What the chat card carries (``handlers.timeline``'s page link): the customer's page, signed until a week on."""
    signer, base = LinkSigner(cfg.security.token_secret), cfg.server.public_url.rstrip("/")

    def link(customer_id: str, at: datetime) -> str:
        token = signer.sign(customer_id, at.timestamp() + LINK_TTL_S)
        return f"{base}/timeline/{quote(customer_id, safe='')}?t={token}"

    return link


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TimelinePage:
    def __init__(self, cfg: Config, db: Database, guard: WebGuard, now: Callable[[], datetime],
                 channels: Mapping[str, Channel] | None = None) -> None:
        self.cfg, self.db, self.guard, self.now = cfg, db, guard, now
        self.signer = LinkSigner(cfg.security.token_secret)
        self.personas = cfg.channels.local.enabled  # the emulator's chosen person is an identity while it runs
        wecom, feishu = (channels or {}).get("wecom"), (channels or {}).get("feishu")
        self.wecom = wecom if isinstance(wecom, WecomChannel) else None
        self.feishu = feishu if isinstance(feishu, FeishuChannel) else None

    def link(self, customer_id: str, at: datetime) -> str:
        return page_link(self.cfg)(customer_id, at)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/timeline/{customer_id}", self.page)]

    async def page(self, request: web.Request) -> web.Response:
        self.guard.check(request)
        customer_id = request.match_info["customer_id"]
        if self.signer.subject(request.query.get("t", ""), self.now().timestamp()) != customer_id:
            return _refuse(EXPIRED)
        code, agent = request.query.get("code", ""), request.headers.get("User-Agent", "")
        if not code:
            # inside an app: its silent OAuth comes back here with ?code=…&state=<platform> naming the member
            back = f"{self.cfg.server.public_url.rstrip('/')}{request.path}?t={quote(request.query.get('t', ''))}"
            if self.wecom is not None and WECOM_UA.search(agent):
                url = wecom_oauth.authorize_url(self.wecom.client.corp_id, self.wecom.client.agent_id, back, "wecom")
                raise web.HTTPFound(URL(url, encoded=True))  # keep redirect_uri percent-encoded as WeCom wants it
            if self.feishu is not None and FEISHU_UA.search(agent):
                url = feishu_oauth.authorize_url(_accounts(self.cfg.channels.feishu.api_base),
                                                 self.feishu.creds.app_id, back, "feishu")
                raise web.HTTPFound(URL(url, encoded=True))
        async with self.db.session() as s:
            person = await self._who(s, request, code)
            if person is None:
                return _refuse(OUTSIDE)
            customer = await s.get(Customer, customer_id)
            if customer is None or not await may_see(s, person, customer):
                return _refuse(NOT_YOURS)
            owner = await s.get(Person, customer.owner_id) if customer.owner_id else None
            got = await items(s, customer.id, PAGE_ITEMS)
        html = render_timeline(customer.name, customer.stage, owner.name if owner else "", got, self.cfg.org.tz)
        return web.Response(text=html, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    async def _who(self, s: AsyncSession, request: web.Request, code: str) -> Person | None:
        """The member a fresh WeCom/Feishu OAuth code names, or the emulator's persona; None for anyone else."""
        platform = request.query.get("state", "")
        try:
            if code and platform == "wecom" and self.wecom is not None:
                userid = await wecom_oauth.userid_from_code(self.wecom.client, code)
            elif code and platform == "feishu" and self.feishu is not None:
                userid = await feishu_oauth.open_id_from_code(self.feishu.client, code)
            else:
                userid = None
        except (ValueError, ChannelError):  # malformed, used or expired code
            return None
        if code:
            return await _person(s, platform, userid) if userid else None
        persona = request.query.get("as", "")
        if not self.personas or not persona.isdigit() or len(persona) > 18:
            return None
        return await _person(s, "local", persona)


def _accounts(api_base: str) -> str:
    """Feishu's accounts host beside its API host (open.feishu.cn → accounts.feishu.cn; Lark likewise)."""
    host = urlsplit(api_base).hostname or ""
    return f"https://accounts.{host[5:]}" if host.startswith("open.") else "https://accounts.feishu.cn"


async def _person(s: AsyncSession, platform: str, external_id: str) -> Person | None:
    return (await s.execute(select(Person).join(Identity, col(Identity.person_id) == col(Person.id)).where(
        col(Identity.platform) == platform, col(Identity.external_id) == external_id,
        col(Person.active).is_(True)))).scalar_one_or_none()


def _refuse(text: str) -> web.Response:
    return web.Response(status=403, text=render_refusal(text), content_type="text/html",
                        headers={"Cache-Control": "no-store"})
