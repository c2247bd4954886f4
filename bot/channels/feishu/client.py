"""The Feishu REST client on aiohttp: one cached tenant_access_token, every error code mapped.

- The token is fetched single-flight and replaced when under 30 minutes remain (Feishu then issues a
  new one; the old one stays valid until it expires), or at once when a call says it is invalid.
- Sends carry a ``uuid`` (Feishu keeps at most one message per uuid for an hour), so a retried outbox
  row cannot post twice.
- Throttling (99991400 with ``x-ogw-ratelimit-reset``, 230020, 11232) is retryable from the outbox;
  everything the docs call permanent is not, with a hint of what to fix.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.channels.base import ChannelError, Pacer, TokenCache, VendorHttp

log = logging.getLogger("actionflow.feishu")

TOKEN_ERRORS = {99991663, 99991661, 99991671}
REFRESH_MARGIN_S = 1800  # Feishu hands out a new token once under 30 min remain
RETRY_AFTER = {99991400: 1.0, 230020: 1.0, 11232: 2.0}
MESSAGES = "/open-apis/im/v1/messages"
# 50 sends in any 1.02 s: the outbox plans by the second when a send is picked, Feishu counts by arrival, and
# a send picked late can arrive sooner than one picked earlier (0.98 of the limit, no 99991400 in bench.fanout).
SEND_WINDOW_S = 1.02
HINTS = {
    10003: "app_id 或 app_secret 无效：检查 FEISHU_APP_ID / FEISHU_APP_SECRET",
    10014: "app_secret 无效：检查 FEISHU_APP_SECRET",
    99991672: "应用缺少接口权限：在开发者后台「权限管理」开通 im:message 等权限并发布版本",
    99991401: "服务器出口 IP 不在应用的 IP 白名单中",
    230002: "机器人不在该群或无发言权限",
    230013: "接收人不在应用的可用范围内（或已离职）",
    230025: "消息内容超出大小限制",
    230031: "消息发出已超过 14 天，不能再更新",
    230053: "用户屏蔽了机器人的消息",
    230099: "卡片构建失败（元素过多或格式错误）",
}


class FeishuError(ChannelError):
    def __init__(self, code: int | None, msg: str, *, retryable: bool, retry_after: float | None = None) -> None:
        hint = HINTS.get(code or 0, "")
        super().__init__(f"feishu {code}: {hint or msg[:200]}", retryable=retryable, retry_after=retry_after)
        self.code = code


def error_for(code: int, msg: str, reset: str | None = None) -> FeishuError:
    wait = RETRY_AFTER.get(code)
    if wait is not None and reset:
        try:
            wait = max(wait, float(reset))
        except ValueError:
            pass
    return FeishuError(code, msg, retryable=wait is not None, retry_after=wait)


class FeishuClient(VendorHttp):
    """All vendor I/O for one self-built app (app_id + app_secret)."""

    def __init__(self, api_base: str, app_id: str, app_secret: str, *, timeout_s: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic, rate_per_second: int = 50) -> None:
        self.api_base = api_base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._tokens = TokenCache(monotonic)
        self.token_fetches = 0
        self.pacer = Pacer(rate_per_second, SEND_WINDOW_S)  # the app's sends per second, as Feishu counts them

    async def token(self, rejected: str | None = None) -> str:
        return await self._tokens.get(self._fetch_token, rejected)

    async def _fetch_token(self) -> tuple[str, float]:
        data = await self._request("POST", "/open-apis/auth/v3/tenant_access_token/internal",
                                   json_body={"app_id": self.app_id, "app_secret": self._secret})
        self.token_fetches += 1
        token = data.get("tenant_access_token")
        if not isinstance(token, str) or not token:
            raise FeishuError(None, "no tenant_access_token in the answer", retryable=True)
        return token, max(60.0, float(data.get("expire") or 7200) - REFRESH_MARGIN_S)

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                       json_body: Any = None, data: Any = None, headers: dict[str, str] | None = None,
                       ) -> dict[str, Any]:
        try:
            async with self.session.request(method, self.api_base + path, params=params, json=json_body,
                                            data=data, headers=headers) as resp:
                raw = await resp.read()
                reset = resp.headers.get("x-ogw-ratelimit-reset")
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeishuError(None, f"{type(exc).__name__}", retryable=True) from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise FeishuError(None, f"HTTP {status}, answer is not JSON", retryable=status >= 500) from None
        if not isinstance(data, dict):
            raise FeishuError(None, "answer is not a JSON object", retryable=True)
        code = int(data.get("code") or 0)
        if code:
            raise error_for(code, str(data.get("msg", "")), reset)
        if status >= 500:
            raise FeishuError(None, f"HTTP {status}", retryable=True)
        return data

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json_body: Any = None) -> dict[str, Any]:
        """Bearer token in the header; one refetch when Feishu says the token is invalid or expired."""
        token = await self.token()
        for attempt in (1, 2):
            paced = method == "POST" and path.startswith(MESSAGES)  # sends and replies share the app's budget
            slot = await self.pacer.slot(MESSAGES) if paced else 0.0
            try:
                return await self._request(method, path, params=params, json_body=json_body,
                                           headers={"Authorization": f"Bearer {token}"})
            except FeishuError as exc:
                if exc.code in TOKEN_ERRORS and attempt == 1:
                    log.info("feishu token rejected, refetching", extra={"code": exc.code})
                    token = await self.token(rejected=token)
                    continue
                raise
            finally:
                if paced:
                    self.pacer.done(MESSAGES, slot)
        raise AssertionError("unreachable")

    async def send(self, receive_id_type: str, receive_id: str, msg_type: str, content: dict[str, Any],
                   uuid: str) -> str | None:
        data = await self.call("POST", "/open-apis/im/v1/messages", params={"receive_id_type": receive_id_type},
                               json_body={"receive_id": receive_id, "msg_type": msg_type,
                                          "content": json.dumps(content, ensure_ascii=False), "uuid": uuid})
        return _message_id(data)

    async def reply(self, parent_id: str, msg_type: str, content: dict[str, Any], uuid: str) -> str | None:
        """Answer a received message: the answer shows its question quoted above it (in the same chat)."""
        data = await self.call("POST", f"/open-apis/im/v1/messages/{parent_id}/reply",
                               json_body={"msg_type": msg_type, "content": json.dumps(content, ensure_ascii=False),
                                          "reply_in_thread": False, "uuid": uuid})
        return _message_id(data)

    async def patch(self, message_id: str, card: dict[str, Any]) -> None:
        await self.call("PATCH", f"/open-apis/im/v1/messages/{message_id}",
                        json_body={"content": json.dumps(card, ensure_ascii=False)})

    async def upload(self, kind: str, filename: str, content: bytes, mime: str) -> str:
        """An image (``im/v1/images``, ≤ 10 MB) or file (``im/v1/files``, ≤ 30 MB) → its key for sending."""
        def form() -> aiohttp.FormData:
            f = aiohttp.FormData(quote_fields=False)
            if kind == "image":
                f.add_field("image_type", "message")
                f.add_field("image", content, filename=filename, content_type=mime)
            else:
                f.add_field("file_type", "pdf" if filename.lower().endswith(".pdf") else "stream")
                f.add_field("file_name", filename)
                f.add_field("file", content, filename=filename, content_type=mime)
            return f

        path, field = ("/open-apis/im/v1/images", "image_key") if kind == "image" else ("/open-apis/im/v1/files",
                                                                                         "file_key")
        token = await self.token()
        for attempt in (1, 2):
            try:
                data = await self._request("POST", path, data=form(), headers={"Authorization": f"Bearer {token}"})
                break
            except FeishuError as exc:
                if exc.code in TOKEN_ERRORS and attempt == 1:
                    token = await self.token(rejected=token)
                    continue
                raise
        inner = data.get("data")
        key = inner.get(field) if isinstance(inner, dict) else None
        if not isinstance(key, str) or not key:
            raise FeishuError(None, f"upload answered without {field}", retryable=True)
        return key

    async def user_from_code(self, code: str) -> dict[str, Any]:
        """OAuth (pages opened inside Feishu): code → user_access_token → the user's open_id and name."""
        data = await self._request("POST", "/open-apis/authen/v2/oauth/token", json_body={
            "grant_type": "authorization_code", "client_id": self.app_id, "client_secret": self._secret,
            "code": code})
        user_token = data.get("access_token")
        if not isinstance(user_token, str) or not user_token:
            raise FeishuError(None, "oauth answered without access_token", retryable=False)
        info = await self._request("GET", "/open-apis/authen/v1/user_info",
                                   headers={"Authorization": f"Bearer {user_token}"})
        inner = info.get("data")
        return inner if isinstance(inner, dict) else {}

    async def recognize(self, pcm16k: bytes, file_id: str) -> str:
        """speech_to_text file_recognize: ≤ 60 s of 16 kHz mono 16-bit PCM → text."""
        data = await self.call("POST", "/open-apis/speech_to_text/v1/speech/file_recognize", json_body={
            "speech": {"speech": base64.b64encode(pcm16k).decode("ascii")},
            "config": {"file_id": file_id, "format": "pcm", "engine_type": "16k_auto"}})
        inner = data.get("data")
        text = inner.get("recognition_text") if isinstance(inner, dict) else None
        return text if isinstance(text, str) else ""

    async def resource(self, message_id: str, key: str, kind: str, max_bytes: int) -> tuple[bytes, str]:
        """Download an image/file/audio of a received message: (bytes, content type). Errors are JSON."""
        token = await self.token()
        url = f"{self.api_base}/open-apis/im/v1/messages/{message_id}/resources/{key}"
        try:
            async with self.session.get(url, params={"type": kind},
                                        headers={"Authorization": f"Bearer {token}"}) as resp:
                ctype = resp.headers.get("Content-Type", "")
                if ctype.startswith("application/json"):
                    data = json.loads(await resp.read())
                    raise error_for(int(data.get("code") or -1), str(data.get("msg", "")))
                if resp.status >= 400:
                    raise FeishuError(None, f"HTTP {resp.status}", retryable=resp.status >= 500)
                body = bytearray()
                async for chunk in resp.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise FeishuError(None, f"resource larger than {max_bytes} bytes", retryable=False)
                return bytes(body), ctype
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeishuError(None, f"{type(exc).__name__}", retryable=True) from None


def _message_id(data: dict[str, Any]) -> str | None:
    inner = data.get("data")
    mid = inner.get("message_id") if isinstance(inner, dict) else None
    return str(mid) if mid else None
