"""The front door of the browser-facing endpoints (the emulator and the admin API).

A page on another origin can make a browser send simple requests (text/plain, multipart forms, no-cors
fetches) to a service on 127.0.0.1, and a DNS-rebinding name can even read its answers. So every
guarded request must name a host we serve (``Host``), a browser request must come from our own origin
(``Origin``, ``Sec-Fetch-Site``) and carry the per-start token the emulator page embeds, and JSON
endpoints accept ``application/json`` only (a cross-origin page cannot send that without a preflight,
which we never answer). Clients that are not browsers (scripts, tests) send no Origin and need no token.
"""

from __future__ import annotations

import hmac
import json
import secrets
from ipaddress import ip_address
from typing import TypeVar
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.config import Config

CSRF_HEADER = "X-CSRF-Token"
CSRF_PLACEHOLDER = "__ACTIONFLOW_CSRF__"  # in emulator.html; replaced by the token when the page is served
LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
MAX_ID = 2**63 - 1  # ids outside SQLite's 64-bit integers raise OverflowError deep in the driver
MIN_ID = -(2**63)
M = TypeVar("M", bound=BaseModel)


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost; hostnames other than localhost are not trusted to be local."""
    host = (host or "").strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class WebGuard:
    """Host / Origin / CSRF checks; one instance (one token) per service start."""

    def __init__(self, public_url: str = "http://127.0.0.1:8080", bind_host: str = "127.0.0.1",
                 token: str | None = None) -> None:
        public = urlsplit(public_url)
        self.public_origin = f"{public.scheme}://{public.netloc}".lower()
        self.names = {n for n in ((public.hostname or "").lower(), bind_host.lower()) if n}
        self.token = token or secrets.token_urlsafe(32)

    @classmethod
    def from_config(cls, cfg: Config) -> WebGuard:
        return cls(cfg.server.public_url, cfg.server.host)

    def host_allowed(self, host_header: str | None) -> bool:
        """IP literals cannot be rebound by an attacker's DNS; names must be ours or localhost."""
        name = _hostname(host_header or "")
        if not name:
            return False
        try:
            ip_address(name)
            return True
        except ValueError:
            return name in LOOPBACK_NAMES or name in self.names

    def check(self, request: web.Request, *, write: bool = False) -> None:
        """Refuse (403) foreign hosts always; for ``write`` requests (and WebSocket handshakes) also foreign
        origins, and browser requests without the page's token."""
        if not self.host_allowed(request.headers.get("Host")):
            raise web.HTTPForbidden(text="拒绝：请求的主机名不是本服务的地址")
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if origin is not None and origin.lower() not in {self.public_origin, f"{request.scheme}://{request.host}".lower()}:
            raise web.HTTPForbidden(text="拒绝：跨站请求")
        if site is not None and site not in ("same-origin", "none"):
            raise web.HTTPForbidden(text="拒绝：跨站请求")
        if write and (origin is not None or site is not None):
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), self.token.encode()):
                raise web.HTTPForbidden(text="拒绝：缺少或错误的页面令牌，请刷新模拟器页面")

    def page(self, html: str) -> web.Response:
        """The emulator page with this start's token in it, never cached (the token changes per start)."""
        return web.Response(text=html.replace(CSRF_PLACEHOLDER, self.token), content_type="text/html",
                            headers={"Cache-Control": "no-store"})


async def read_json(request: web.Request, model: type[M]) -> M:
    """A JSON object body validated into ``model``; every malformed input is a 400 (or 415), never a 500."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="需要 Content-Type: application/json")
    try:
        data = json.loads(await request.text())
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, or nested deeper than the parser's stack
        raise web.HTTPBadRequest(text="请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="请求体必须是 JSON 对象")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(x) for x in e["loc"]) or "(root)" for e in exc.errors())
        raise web.HTTPBadRequest(text=f"字段无效：{fields}") from None


def query_id(value: str | None, name: str = "person") -> int:
    """A 64-bit id from a query string (unknown ids simply match nothing), or 400."""
    try:
        n = int(value or "")
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} 参数无效") from None
    if not MIN_ID <= n <= MAX_ID:
        raise web.HTTPBadRequest(text=f"{name} 参数无效")
    return n
