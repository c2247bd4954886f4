"""A server for bench.ingest, in its own process: ``bare`` (aiohttp baseline) or ``inbox`` (our ack path)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web


async def bare(request: web.Request) -> web.Response:
    """The baseline: what any aiohttp service does at least — read and parse the JSON body, answer."""
    data = await request.json()
    return web.json_response({"ok": True, "duplicate": False, "n": len(data)})


def main(mode: str, port: int, workdir: str, dispatch: bool) -> None:
    if mode == "bare":
        app = web.Application()
        app.router.add_post("/local/api/message", bare)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
        return
    from bot.config import config_from_dict
    from bot.demo.seed import seed_demo
    from bot.service import Service
    from storage.db import Database

    cfg = config_from_dict({
        "database": {"url": f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"},
        "channels": {"local": {"media_dir": str(Path(workdir) / "media")}},
        "logging": {"level": "WARNING"},
        "schedule": {"enabled": False},  # the ack path alone: no timers competing for the core
    })

    async def seed() -> None:
        db = Database(cfg.database.url)
        await db.migrate()
        async with db.session() as s, s.begin():
            await seed_demo(s, datetime.now(UTC), cfg.org.tz)
        await db.close()

    asyncio.run(seed())
    service = Service(cfg, dispatch_workers=4 if dispatch else 0)
    web.run_app(service.app(), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1")
