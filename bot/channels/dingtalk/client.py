"""The DingTalk OpenAPI client on aiohttp: one cached access token, paced calls, every error a ChannelError.

The dingtalk-stream SDK's own HTTP calls are blocking ``requests`` (0.24.3: without a timeout) made from
coroutines, so every outbound call is ours:
- the token (``/v1.0/oauth2/accessToken``, 7200 s) is cached until 5 minutes before it ends, by the
  injected clock, and fetched single-flight; a 401 (token revoked or expired early) refetches once;
  the legacy ``oapi`` host (media upload, login-free codes) gets its own ``gettoken`` token the same way;
- each API is paced to ``rate_per_second`` per app (DingTalk's standard edition allows 20 QPS per
  API per app and answers 403 ``QpsLimitForAppkeyAndApi`` above it);
- errors map to ``DingtalkError(retryable=…)``: throttling and the monthly quota go back to the outbox
  with a delay, bad parameters and permissions do not (see ``error_for``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.channels.base import ChannelError, Pacer, VendorHttp
from handlers.clock import Clock

log = logging.getLogger("actionflow.dingtalk")

TOKEN_MARGIN_S = 300
TOKEN_HEADER = "x-acs-dingtalk-access-token"
# code (v1.0 string or legacy errcode) → seconds to wait before the outbox tries again
RETRY_AFTER: dict[str | int, float] = {
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": 1.0, 90018: 1.0,  # per app per API: throttled, not processed
    "Forbidden.AccessDenied.QpsLimitForApi": 2.0, 90002: 2.0,  # global per API
    "Forbidden.AccessDenied.ApiCountLimitForOrg": 3600.0, 90020: 3600.0,  # monthly org quota: hold, do not drop
    "ServiceUnavailable": 2.0, "SystemError": 2.0, -1: 2.0,
}
HINTS: dict[str | int, str] = {
    "invalidClientIdOrSecret": "Client ID / Client Secret 不匹配：检查 DINGTALK_CLIENT_ID 与 DINGTALK_CLIENT_SECRET",
    "invalidParameter.robotCode.auth": "robotCode 无效或机器人未授权：检查 channels.dingtalk.robot_code（留空即 AppKey）",
    "invalidParameter.userIds.overMax": "一次最多发给 20 人",
    "Forbidden.AccessDenied.AccessTokenPermissionDenied": "应用缺少该接口权限：在开发者后台 → 权限管理 开通",
    "Forbidden.AccessDenied.ApiCountLimitForOrg": "本企业本月 API 调用量已用完（标准版 1 万次/月）：升级或购买扩展包",
    90020: "本企业本月 API 调用量已用完（标准版 1 万次/月）：升级或购买扩展包",
    40078: "免登授权码无效、已使用或已过期（5 分钟内只能用一次）",
}
QUOTA = {"Forbidden.AccessDenied.ApiCountLimitForOrg", 90020}
LEGACY_TOKEN_ERRORS = {40014, 42001}
QPS_PER_APP = {"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", 90018}
WINDOW_S = 1.05  # the pacer's second, a little long: our clock and the platform's do not tick together


class DingtalkError(ChannelError):
    """A DingTalk error (``code`` None for transport failures) as a ChannelError the sender understands."""

    def __init__(self, code: str | int | None, message: str, *, status: int = 0, retryable: bool,
                 retry_after: float | None = None) -> None:
        hint = HINTS.get(code, "") if code is not None else ""
        super().__init__(f"dingtalk {code if code is not None else status or 'transport'}: {hint or message[:200]}",
                         retryable=retryable, retry_after=retry_after)
        self.code = code
        self.status = status
        self.detail = message


def error_for(status: int, body: bytes) -> DingtalkError:
    """An error answer → DingtalkError. v1.0 APIs answer ``{"code": "...", "message": ...}`` with a 4xx/5xx;
    legacy ones ``{"errcode": N, "errmsg": ...}``; a banned source IP gets ``{"status": 1111, "wait": 5, …}``."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return DingtalkError(None, f"HTTP {status}", status=status, retryable=status >= 500 or status == 429,
                             retry_after=2.0 if status >= 500 else None)
    if data.get("status") == 1111 or data.get("punish") == "deny":  # source IP banned for `wait` minutes
        wait = float(data.get("wait") or 5) * 60
        return DingtalkError(1111, "source IP banned", status=status, retryable=True, retry_after=wait)
    code: str | int | None = data.get("code") if isinstance(data.get("code"), str) else None
    if code is None and isinstance(data.get("errcode"), int):
        code = int(data["errcode"])
    message = str(data.get("message") or data.get("errmsg") or "")
    if code in QUOTA:
        log.error("dingtalk monthly API quota used up: messages wait in the outbox",
                  extra={"platform": "dingtalk", "code": code})
    if code in RETRY_AFTER:
        return DingtalkError(code, message, status=status, retryable=True, retry_after=RETRY_AFTER[code])
    return DingtalkError(code, message, status=status, retryable=status >= 500,
                         retry_after=2.0 if status >= 500 else None)


def _legacy_answer(status: int, raw: bytes) -> dict[str, Any]:
    """An ``oapi`` answer: the data, or DingtalkError for an HTTP error or a non-zero ``errcode``."""
    if status >= 400:
        raise error_for(status, raw)
    try:
        data = json.loads(raw)
    except ValueError:
        raise DingtalkError(None, "answer is not JSON", retryable=True) from None
    if not isinstance(data, dict):
        raise DingtalkError(None, "answer is not a JSON object", retryable=True)
    if data.get("errcode"):
        raise error_for(200, raw)
    return data


class DingtalkClient(VendorHttp):
    """All vendor I/O for one internal app (client id + secret) and its robot."""

    def __init__(self, api_base: str, client_id: str, secret: str, *, robot_code: str, clock: Clock,
                 timeout_s: float = 10.0, rate_per_second: int = 20,
                 oapi_base: str = "https://oapi.dingtalk.com") -> None:
        self.api_base = api_base.rstrip("/")
        self.oapi_base = oapi_base.rstrip("/")
        self.client_id = client_id
        self.robot_code = robot_code or client_id
        self._secret = secret
        self.clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self._legacy: str | None = None  # the oapi host's own token (gettoken): reports conflict on whether
        self._legacy_expires: datetime | None = None  # the v1.0 token works there, so it gets its own
        self.pacer = Pacer(rate_per_second, WINDOW_S)
        self.token_fetches = 0

    def __repr__(self) -> str:  # never print the secret by accident
        return f"DingtalkClient(api_base={self.api_base!r}, client_id={self.client_id!r})"

    # ---- token ---------------------------------------------------------------------------------
    async def token(self, rejected: str | None = None) -> str:
        """The cached token; ``rejected`` names one DingTalk refused, so only a stale copy is replaced."""
        if (token := self._valid(rejected)) is not None:
            return token
        async with self._lock:  # single flight: waiters reuse what the first caller fetched
            if (token := self._valid(rejected)) is not None:
                return token
            data = await self._request("POST", "/v1.0/oauth2/accessToken",
                                       {"appKey": self.client_id, "appSecret": self._secret})
            self.token_fetches += 1
            token = data.get("accessToken")
            if not isinstance(token, str) or not token:
                raise DingtalkError(None, "accessToken missing in the answer", retryable=True)
            expire_in = float(data.get("expireIn") or 7200)  # a re-request inside the window may return less
            life = expire_in - TOKEN_MARGIN_S if expire_in > 2 * TOKEN_MARGIN_S else expire_in / 2
            self._token, self._expires = token, self.clock.now() + timedelta(seconds=life)
            return token

    async def legacy_token(self, rejected: str | None = None) -> str:
        """The token for the legacy ``oapi`` host (``/gettoken``, 7200 s), cached like the v1.0 one."""
        now = self.clock.now()
        if self._legacy and self._legacy != rejected and self._legacy_expires and now < self._legacy_expires:
            return self._legacy
        async with self._lock:
            now = self.clock.now()
            if self._legacy and self._legacy != rejected and self._legacy_expires and now < self._legacy_expires:
                return self._legacy
            try:
                async with self.session.get(self.oapi_base + "/gettoken",
                                            params={"appkey": self.client_id, "appsecret": self._secret}) as resp:
                    raw, status = await resp.read(), resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DingtalkError(None, f"{type(exc).__name__}", retryable=True) from None
            data = _legacy_answer(status, raw)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise DingtalkError(None, "gettoken answered without access_token", retryable=True)
            self.token_fetches += 1
            expire_in = float(data.get("expires_in") or 7200)
            life = expire_in - TOKEN_MARGIN_S if expire_in > 2 * TOKEN_MARGIN_S else expire_in / 2
            self._legacy, self._legacy_expires = token, now + timedelta(seconds=life)
            return token

    def _valid(self, rejected: str | None) -> str | None:
        if self._token and self._token != rejected and self._expires and self.clock.now() < self._expires:
            return self._token
        return None

    # ---- calls ---------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, body: Any, *, token: str | None = None) -> dict[str, Any]:
        """One HTTP call to the OpenAPI; transport failures and 5xx are retryable."""
        headers = {"Content-Type": "application/json", **({TOKEN_HEADER: token} if token else {})}
        try:
            async with self.session.request(method, self.api_base + path, headers=headers,
                                            data=json.dumps(body, ensure_ascii=False).encode("utf-8")) as resp:
                raw = await resp.read()
                if resp.status >= 400:
                    raise error_for(resp.status, raw)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingtalkError(None, f"{type(exc).__name__}", retryable=True) from None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            raise DingtalkError(None, "answer is not JSON", retryable=True) from None
        if not isinstance(data, dict):
            raise DingtalkError(None, "answer is not a JSON object", retryable=True)
        if isinstance(data.get("errcode"), int) and data["errcode"] != 0:  # legacy style inside a 200
            raise error_for(200, raw)
        return data

    async def call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """An authenticated, paced call: the token in its header; one refetch on 401; one more try a second
        after a per-app QPS refusal (a throttled request was not processed, so repeating it is safe)."""
        token = await self.token()
        for attempt in (1, 2, 3):
            await self.pacer.slot(path)
            try:
                return await self._request(method, path, body, token=token)
            except DingtalkError as exc:
                if exc.status == 401 and attempt == 1:
                    log.info("dingtalk token refused, refetching", extra={"platform": "dingtalk", "code": exc.code})
                    token = await self.token(rejected=token)
                elif exc.code in QPS_PER_APP and attempt < 3:
                    await asyncio.sleep(exc.retry_after or 1.0)
                else:
                    raise
        raise AssertionError("unreachable")

    async def legacy_call(self, path: str, body: Any = None, *, params: dict[str, str] | None = None,
                          form: Callable[[], aiohttp.FormData] | None = None) -> dict[str, Any]:
        """A call to the legacy ``oapi`` host: its own token in ``?access_token=``, ``errcode`` in a 200;
        40014/42001 (token invalid or expired early) refetch it once. ``form`` makes a multipart body."""
        await self.pacer.slot(path)
        token = await self.legacy_token()
        for attempt in (1, 2):
            try:
                async with self.session.post(self.oapi_base + path, params={**(params or {}), "access_token": token},
                                             json=None if form else body, data=form() if form else None) as resp:
                    raw, status = await resp.read(), resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DingtalkError(None, f"{type(exc).__name__}", retryable=True) from None
            try:
                return _legacy_answer(status, raw)
            except DingtalkError as exc:
                if exc.code in LEGACY_TOKEN_ERRORS and attempt == 1:
                    token = await self.legacy_token(rejected=token)
                    continue
                raise
        raise AssertionError("unreachable")

    async def media_upload(self, kind: str, filename: str, content: bytes, mime: str) -> str:
        """Upload an image or file for a robot message (``oapi /media/upload``); returns the media_id."""
        def form() -> aiohttp.FormData:
            f = aiohttp.FormData(quote_fields=False)  # the name is shown to people: UTF-8 as is
            f.add_field("media", content, filename=filename, content_type=mime)
            return f

        data = await self.legacy_call("/media/upload", params={"type": kind}, form=form)
        media_id = data.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise DingtalkError(None, "media/upload answered without media_id", retryable=True)
        return media_id

    async def open_connection(self, subscriptions: list[dict[str, str]], ua: str) -> tuple[str, str]:
        """Register a Stream connection: (endpoint, single-use ticket valid 90 s). No access token needed."""
        data = await self._request("POST", "/v1.0/gateway/connections/open", {
            "clientId": self.client_id, "clientSecret": self._secret, "subscriptions": subscriptions, "ua": ua})
        endpoint, ticket = data.get("endpoint"), data.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not endpoint or not ticket:
            raise DingtalkError(None, "connections/open answered without endpoint/ticket", retryable=True)
        return endpoint, ticket

    async def batch_send(self, user_ids: list[str], msg_key: str, msg_param: dict[str, Any]) -> dict[str, Any]:
        """A robot message to ≤20 people in their 1:1 chats with the robot (msgParam is a JSON string)."""
        return await self.call("POST", "/v1.0/robot/oToMessages/batchSend", {
            "robotCode": self.robot_code, "userIds": user_ids, "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False)})

    async def group_send(self, open_conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": self.robot_code, "openConversationId": open_conversation_id, "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False)})

    async def create_and_deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "/v1.0/card/instances/createAndDeliver", body)

    async def update_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("PUT", "/v1.0/card/instances", body)

    async def download(self, download_code: str, max_bytes: int) -> tuple[bytes, str]:
        """A received file by its downloadCode: ask for a temporary URL, then GET it (no auth) at once."""
        data = await self.call("POST", "/v1.0/robot/messageFiles/download",
                               {"downloadCode": download_code, "robotCode": self.robot_code})
        url = data.get("downloadUrl")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise DingtalkError(None, "messageFiles/download answered without downloadUrl", retryable=True)
        try:
            async with self.session.get(url) as resp:
                if resp.status >= 400:
                    raise DingtalkError(None, f"download HTTP {resp.status}", status=resp.status,
                                        retryable=resp.status >= 500)
                body = bytearray()
                async for chunk in resp.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise DingtalkError(None, f"file larger than {max_bytes} bytes", retryable=False)
                return bytes(body), resp.headers.get("Content-Type", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingtalkError(None, f"download {type(exc).__name__}", retryable=True) from None

    async def webhook_send(self, url: str, body: dict[str, Any]) -> None:
        """A reply through the conversation's sessionWebhook (no token). HTTP 200 can hide an error: check errcode."""
        try:
            async with self.session.post(url, json=body) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DingtalkError(None, f"sessionWebhook {type(exc).__name__}", retryable=True) from None
        if status >= 400:
            raise error_for(status, raw)
        try:
            data = json.loads(raw)
        except ValueError:
            raise DingtalkError(None, "sessionWebhook answer is not JSON", retryable=True) from None
        if not isinstance(data, dict) or data.get("errcode") not in (0, None):
            raise error_for(200, raw) if isinstance(data, dict) else DingtalkError(None, "bad answer", retryable=True)
