"""The WeCom REST client on aiohttp: one cached access token, every errcode mapped to ChannelError.

wechatpy's client is synchronous ``requests`` with no default timeout, so outbound calls are ours:
- the token is cached per app secret and refreshed single-flight (concurrent sends → one gettoken,
  because WeCom frequency-blocks gettoken callers that do not cache);
- 40014/42001 (token invalid/expired early) → refetch once and retry the call;
- throttling (45009/45033/-1) is retryable from the outbox; configuration errors are not, with a
  message saying what to fix (60020 = egress IP not in 企业可信IP).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.base import ChannelError, TokenCache, VendorHttp

log = logging.getLogger("actionflow.wecom")

TOKEN_ERRORS = {40014, 42001}
TOKEN_MARGIN_S = 300  # refresh a little before WeCom's 7200 s
RETRY_AFTER = {45009: 60.0, 45033: 5.0, -1: 2.0}  # 45009 blocks until the window ends (≥ 1 min)
HINTS = {
    40001: "secret 无效或与 corpid 不匹配：检查 WECOM_SECRET 是否为本应用的 Secret",
    40013: "corpid 无效：检查 WECOM_CORP_ID（我的企业 → 企业信息 → 企业ID）",
    40056: "agentid 无效：检查 WECOM_AGENT_ID",
    48002: "应用没有这个接口的权限",
    60011: "应用无权访问该成员：检查应用的可见范围",
    60020: "服务器出口 IP 不在本应用的「企业可信IP」中：在管理后台 → 应用 → 企业可信IP 添加后约 1 分钟生效",
    81013: "接收人全部无效或不在应用可见范围内 (invalid user)",
    40003: "无效的 UserID (invalid user)",
    60140: "response_code 已使用或已过期",
}
_TOKEN_IN_TEXT = re.compile(r"((?:access_token|corpsecret|key)=)[^&\s'\"]+")
_FROM_IP = re.compile(r"from ip: ?([0-9a-fA-F.:]+)")


class WecomError(ChannelError):
    """A WeCom errcode (or transport failure, errcode None) as a ChannelError the sender understands."""

    def __init__(self, errcode: int | None, errmsg: str, *, retryable: bool, retry_after: float | None = None) -> None:
        errmsg = _TOKEN_IN_TEXT.sub(r"\1***", errmsg or "")  # a URL in a transport error carries the token
        hint = HINTS.get(errcode or 0, "")
        ip = _FROM_IP.search(errmsg or "")
        text = f"wecom {errcode}: {hint or errmsg[:200]}" + (f" (出口 IP {ip.group(1)})" if ip else "")
        super().__init__(text, retryable=retryable, retry_after=retry_after)
        self.errcode = errcode
        self.errmsg = errmsg


def error_for(errcode: int, errmsg: str) -> WecomError:
    retry_after = RETRY_AFTER.get(errcode)
    return WecomError(errcode, errmsg, retryable=retry_after is not None, retry_after=retry_after)


class WecomClient(VendorHttp):
    """All vendor I/O for one self-built app (corp id + secret + agent id)."""

    def __init__(self, api_base: str, corp_id: str, secret: str, agent_id: int, *, timeout_s: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.api_base = api_base.rstrip("/")
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._tokens = TokenCache(monotonic)
        self.token_fetches = 0

    # ---- token ---------------------------------------------------------------------------------
    async def token(self, rejected: str | None = None) -> str:
        """The cached token; ``rejected`` names one WeCom refused, so only a stale copy is replaced."""
        return await self._tokens.get(self._fetch_token, rejected)

    async def _fetch_token(self) -> tuple[str, float]:
        data = await self._request("GET", "/cgi-bin/gettoken", params={"corpid": self.corp_id,
                                                                       "corpsecret": self._secret})
        self.token_fetches += 1
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WecomError(None, "gettoken answered without access_token", retryable=True)
        return token, max(60.0, float(data.get("expires_in") or 7200) - TOKEN_MARGIN_S)

    # ---- calls ---------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       json_body: Any = None, data: Any = None) -> dict[str, Any]:
        """One HTTP call; a non-zero errcode raises WecomError. Transport failures are retryable."""
        try:
            async with self.session.request(method, self.api_base + path, params=params, json=json_body,
                                            data=data) as resp:
                if resp.status >= 500:
                    raise WecomError(None, f"HTTP {resp.status}", retryable=True)
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WecomError(None, f"{type(exc).__name__}: {exc}", retryable=True) from None
        return _check(raw)

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json_body: Any = None, data_factory: Callable[[], Any] | None = None) -> dict[str, Any]:
        """An authenticated call: token in the query (never the body); one refetch on 40014/42001."""
        token = await self.token()
        for attempt in (1, 2):
            try:
                return await self._request(method, path, params={**(params or {}), "access_token": token},
                                            json_body=json_body, data=data_factory() if data_factory else None)
            except WecomError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("wecom token rejected, refetching", extra={"errcode": exc.errcode})
                    token = await self.token(rejected=token)
                    continue
                raise
        raise AssertionError("unreachable")

    async def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = await self.call("POST", "/cgi-bin/message/send", json_body={"agentid": self.agent_id, **payload})
        if data.get("invaliduser"):  # partial failure: our sends have one recipient, so it failed
            raise WecomError(81013, f"invaliduser {data['invaliduser']}", retryable=False)
        return data

    async def update_template_card(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/cgi-bin/message/update_template_card",
                               json_body={"agentid": self.agent_id, **payload})

    async def recall(self, msgid: str) -> None:
        """Within 24 h, WeCom client only."""
        await self.call("POST", "/cgi-bin/message/recall", json_body={"msgid": msgid})

    async def appchat_send(self, payload: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/cgi-bin/appchat/send", json_body=payload)

    async def webhook_send(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Group robot: the key in the URL is the only credential (no access token)."""
        return await self._request("POST", "/cgi-bin/webhook/send", params={"key": key}, json_body=payload)

    async def getuserinfo(self, code: str) -> dict[str, Any]:
        return await self.call("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})

    async def media_upload(self, kind: str, filename: str, content: bytes, mime: str) -> str:
        """Temporary media (3 days): multipart field ``media``; returns the media_id."""
        def form() -> aiohttp.FormData:
            f = aiohttp.FormData(quote_fields=False)  # WeCom shows the filename: send UTF-8 as is
            f.add_field("media", content, filename=filename, content_type=mime)
            return f

        data = await self.call("POST", "/cgi-bin/media/upload", params={"type": kind}, data_factory=form)
        media_id = data.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WecomError(None, "media/upload answered without media_id", retryable=True)
        return media_id

    async def media_get(self, media_id: str, max_bytes: int) -> tuple[bytes, str, str]:
        """Download (bytes, content type, filename). Errors come back as a JSON body, not a status."""
        token = await self.token()
        for attempt in (1, 2):
            try:
                async with self.session.get(self.api_base + "/cgi-bin/media/get",
                                            params={"access_token": token, "media_id": media_id}) as resp:
                    ctype = resp.headers.get("Content-Type", "")
                    if resp.status >= 500:
                        raise WecomError(None, f"HTTP {resp.status}", retryable=True)
                    if ctype.startswith(("application/json", "text/plain")):
                        _check(await resp.read())
                        raise WecomError(None, "media/get answered JSON without errcode", retryable=False)
                    body = bytearray()
                    async for chunk in resp.content.iter_chunked(65536):
                        body += chunk
                        if len(body) > max_bytes:
                            raise WecomError(None, f"media larger than {max_bytes} bytes", retryable=False)
                    return bytes(body), ctype, _filename(resp.headers.get("Content-Disposition", ""))
            except WecomError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    token = await self.token(rejected=token)
                    continue
                raise
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise WecomError(None, f"{type(exc).__name__}: {exc}", retryable=True) from None
        raise AssertionError("unreachable")


def _check(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise WecomError(None, "answer is not JSON", retryable=True) from None
    if not isinstance(data, dict):
        raise WecomError(None, "answer is not a JSON object", retryable=True)
    code = int(data.get("errcode") or 0)
    if code:
        raise error_for(code, str(data.get("errmsg", "")))
    return data


def _filename(disposition: str) -> str:
    m = re.search(r'filename="?([^";]+)"?', disposition)
    return m.group(1).strip()[:100] if m else ""
