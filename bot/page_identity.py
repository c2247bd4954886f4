"""Who is opening this page? One answer for every H5 page (store QR flow, and any page after it).

API:

- ``PageIdentity(cfg, channels)``; ``identity.challenge(request, back)`` → a response that sends the browser
  through the app's login step, or None when there is nothing to do (outside the apps, or the answer is already
  in the query). ``back`` is the page's own public URL, which the platform returns to with ``code`` and
  ``state=<platform>``.
- ``await identity.person(session, request)`` → our Person, or None (then refuse politely: ``OUTSIDE``).

How each platform names the member (no separate login):
- WeCom: silent OAuth (``snsapi_base``) → ``code`` → ``auth/getuserinfo`` (``bot.channels.wecom.oauth``).
- Feishu: ``authen/v1/authorize`` → ``code`` → user access token → open_id (``bot.channels.feishu.oauth``).
- DingTalk: the page asks the DingTalk client for a login-free code (JS API ``requestAuthCode``, corpId from
  the ``corpId`` query DingTalk fills for ``$CORPID$``) → ``topapi/v2/user/getuserinfo``
  (``bot.channels.dingtalk.oauth``).
- Local emulator: ``as=<persona id>``, honoured only while the emulator channel is enabled.
Codes are single use and exchanged at once; a code of a platform not deployed names nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from html import escape
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from yarl import URL

from bot.channels.base import Channel, ChannelError
from bot.channels.dingtalk import oauth as dingtalk_oauth
from bot.channels.dingtalk.channel import DingtalkChannel
from bot.channels.feishu import oauth as feishu_oauth
from bot.channels.feishu.channel import FeishuChannel
from bot.channels.wecom import oauth as wecom_oauth
from bot.channels.wecom.channel import WecomChannel
from bot.config import Config
from storage.models import Identity, Person

WECOM_UA = re.compile(r"wxwork", re.IGNORECASE)
FEISHU_UA = re.compile(r"Lark|Feishu", re.IGNORECASE)
DINGTALK_UA = re.compile(r"DingTalk", re.IGNORECASE)
OUTSIDE = "请在企业微信、钉钉或飞书里打开这个链接（需要确认你的身份）。"
_DD_SDK = "https://g.alicdn.com/dingding/dingtalk-jsapi/3.0.25/dingtalk.open.js"


class PageIdentity:
    def __init__(self, cfg: Config, channels: Mapping[str, Channel] | None = None) -> None:
        self.cfg = cfg
        self.personas = cfg.channels.local.enabled
        ch = channels or {}
        wecom, feishu, ding = ch.get("wecom"), ch.get("feishu"), ch.get("dingtalk")
        self.wecom = wecom if isinstance(wecom, WecomChannel) else None
        self.feishu = feishu if isinstance(feishu, FeishuChannel) else None
        self.dingtalk = ding if isinstance(ding, DingtalkChannel) else None

    def challenge(self, request: web.Request, back: str) -> web.StreamResponse | None:
        """Inside an app without a code yet: the step that comes back with one."""
        if request.query.get("code") or request.query.get("as"):
            return None
        agent = request.headers.get("User-Agent", "")
        if self.wecom is not None and WECOM_UA.search(agent):
            url = wecom_oauth.authorize_url(self.wecom.client.corp_id, self.wecom.client.agent_id, back, "wecom")
            return web.HTTPFound(URL(url, encoded=True))  # keep redirect_uri percent-encoded as WeCom wants it
        if self.feishu is not None and FEISHU_UA.search(agent):
            url = feishu_oauth.authorize_url(_accounts(self.cfg.channels.feishu.api_base),
                                             self.feishu.creds.app_id, back, "feishu")
            return web.HTTPFound(URL(url, encoded=True))
        if self.dingtalk is not None and DINGTALK_UA.search(agent):
            return web.Response(text=_dingtalk_shim(back), content_type="text/html",
                                headers={"Cache-Control": "no-store"})
        return None

    def gate(self, request: web.Request, back: str) -> web.StreamResponse | None:
        """``challenge`` for a handler: a redirect is raised, the DingTalk page returned, None: go on."""
        step = self.challenge(request, back)
        if isinstance(step, web.HTTPException):
            raise step
        return step

    async def person(self, s: AsyncSession, request: web.Request) -> Person | None:
        code, platform = request.query.get("code", ""), request.query.get("state", "")
        if code:
            try:
                if platform == "wecom" and self.wecom is not None:
                    userid = await wecom_oauth.userid_from_code(self.wecom.client, code)
                elif platform == "feishu" and self.feishu is not None:
                    userid = await feishu_oauth.open_id_from_code(self.feishu.client, code)
                elif platform == "dingtalk" and self.dingtalk is not None:
                    userid = await dingtalk_oauth.userid_from_code(self.dingtalk.client, code)
                else:
                    userid = None
            except (ValueError, ChannelError):  # malformed, used or expired code
                return None
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


def _dingtalk_shim(back: str) -> str:
    """A tiny page: DingTalk's client hands out the login-free code only to script on the page."""
    target = json.dumps(back)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>正在确认身份…</title>'
            f'<script src="{_DD_SDK}"></script></head><body><p>正在确认钉钉身份…</p><script>'
            f'var back={target};var corp=new URLSearchParams(location.search).get("corpId")||"";'
            f'dd.ready(function(){{dd.runtime.permission.requestAuthCode({{corpId:corp,onSuccess:function(r){{'
            f'location.replace(back+(back.indexOf("?")<0?"?":"&")+"code="+encodeURIComponent(r.code)'
            f'+"&state=dingtalk");}},onFail:function(){{document.body.textContent={json.dumps(escape(OUTSIDE))};}}}});}});'
            f'</script></body></html>')
