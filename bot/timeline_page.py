"""The customer timeline page: ``GET /timeline/{customer id}?t=<signed link>`` — the whole history of one customer.

The chat card carries a link signed for that customer with an expiry (HMAC-SHA256 with the secret named by
``security.token_secret_env``); the link alone shows nothing. Who is looking comes from ``bot.page_identity``,
the one answer for every H5 page: the emulator's chosen persona, or the member the app's own login step names
inside WeCom, Feishu or DingTalk. Then the database decides (``may_see``): the owner, the supervisors above the
owner, assignees of the customer's tasks, and managers. Anything else is a 403 page that says why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from bot.channels.base import Channel
from bot.config import Config
from bot.guard import WebGuard
from bot.page_identity import OUTSIDE, PageIdentity
from cards.timeline_page import render_refusal, render_timeline
from handlers.customer_timeline import items, may_see
from storage.db import Database
from storage.models import Customer, Person

log = logging.getLogger("actionflow.timeline")
PAGE_ITEMS = 200
LINK_TTL_S = 7 * 86400  # a week: the link is in a chat people scroll back to; who may look is checked anyway
PURPOSE = "timeline"
EXPIRED = "链接无效或已过期：请在聊天里重新发「客户名 最近进展」获取新链接。"
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
        self.identity = PageIdentity(cfg, channels)  # the emulator's persona, or the app's login step

    def link(self, customer_id: str, at: datetime) -> str:
        return page_link(self.cfg)(customer_id, at)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/timeline/{customer_id}", self.page)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        self.guard.check(request)
        customer_id = request.match_info["customer_id"]
        if self.signer.subject(request.query.get("t", ""), self.now().timestamp()) != customer_id:
            return _refuse(EXPIRED)
        # inside an app: its login step comes back here with ?code=…&state=<platform> naming the member
        back = f"{self.cfg.server.public_url.rstrip('/')}{request.path}?t={quote(request.query.get('t', ''))}"
        if (step := self.identity.gate(request, back)) is not None:
            return step
        async with self.db.session() as s:
            person = await self.identity.person(s, request)
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


def _refuse(text: str) -> web.Response:
    return web.Response(status=403, text=render_refusal(text), content_type="text/html",
                        headers={"Cache-Control": "no-store"})
