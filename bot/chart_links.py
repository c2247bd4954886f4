"""Report charts at signed, expiring public links.

WeCom's template cards show a picture only by URL (``news_notice.card_image.url``), fetched by WeCom and by
the reader's phone, which carry no login. So a radar PNG that ``handlers/reports`` wrote to ``reports.dir``
is served at ``<public_url>/charts/<token>``: the token signs the file's name and an expiry (a week) for this
purpose only, so a link opens that one picture, for a while, and nothing else; no path is taken from the
request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.config import Config
from bot.timeline_page import LinkSigner

PURPOSE = "chart"
TTL_S = 7 * 86400  # a weekly radar stays viewable until the next one
NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}\.png$")  # the names ``reports.dir`` holds (``process-12-2026…png``)


def png_aspect(path: str) -> float:
    """Width ÷ height of a picture (its header only; 1.0 when unreadable), for cards that state it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.width / im.height if im.height else 1.0
    except (OSError, UnidentifiedImageError):
        return 1.0


class ChartLinks:
    def __init__(self, cfg: Config, now: Callable[[], datetime]) -> None:
        self.signer = LinkSigner(cfg.security.token_secret, PURPOSE)
        self.base = cfg.server.public_url.rstrip("/")
        self.dir = Path(cfg.reports.dir)
        self.now = now

    def url(self, path: str) -> str | None:
        """The public link of a chart in ``reports.dir``; None for any other file (never linked)."""
        p = Path(path)
        if not NAME.match(p.name) or p.resolve().parent != self.dir.resolve():
            return None
        return f"{self.base}/charts/{self.signer.sign(p.name, self.now().timestamp() + TTL_S)}"

    def picture(self, path: str) -> tuple[str, float] | None:
        """(public link, width ÷ height) of a chart, for cards that show a picture by URL."""
        url = self.url(path)
        return (url, png_aspect(path)) if url else None

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/charts/{token}", self.serve)]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        name = self.signer.subject(request.match_info["token"], self.now().timestamp())
        if name is None or not NAME.match(name):
            raise web.HTTPForbidden(text="链接无效或已过期")
        path = self.dir / name
        if not await asyncio.to_thread(path.is_file):
            raise web.HTTPNotFound(text="没有这张图片")
        return web.FileResponse(path, headers={"Content-Type": "image/png", "Cache-Control": "private, max-age=86400",
                                               "X-Content-Type-Options": "nosniff"})
