"""The 08:45 fan-out to Feishu: 10,000 reps' morning cards (plus their supervisors' boards) delivered to a
fake Open Platform that enforces Feishu's app-wide 50 messages/s, measured at the platform.

The org and its history are built like bench.morning's (its ``build``), every person reachable on
Feishu; the real ``morning_must_do`` job queues the cards, then the service's own sender delivers them
through the Feishu channel to ``tests/feishu/fake_server.FakeFeishu`` on 127.0.0.1 (with
``app_per_second=50``: one more send in any second is answered 99991400). Reported: achieved send
rate ÷ 50 between the first and the last accepted send (target ≥ 0.95), the throttled answers, and,
checked against the fake's own log, zero lost (every queued message shown once) and zero duplicates.
The job and the fake share this process: at 50/s they cost a few per cent of a core.

Run: ``.venv/bin/python -m bench.fanout [--reps 10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from bench.ingest import free_port
from bench.morning import AT, build
from bot.channels.feishu.channel import send_uuid
from bot.config import config_from_dict
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import Card, OutboxMessage, OutboxStatus
from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.feishu.fake_server import FakeFeishu

APP_LIMIT = 50  # Feishu: messages per second per app


def reachable_on_feishu(path: Path) -> None:
    """bench.morning links everybody to the emulator; here everybody has an open_id instead."""
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE identity SET platform = 'feishu', external_id = 'ou_' || person_id")
    con.close()


async def fanout(path: Path, fake: FakeFeishu) -> dict[str, float]:
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    for k, v in {"FEISHU_APP_ID": fake.app_id, "FEISHU_APP_SECRET": fake.app_secret,
                 "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN, "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY}.items():
        os.environ[k] = v
    cfg = config_from_dict({
        "database": {"url": f"sqlite+aiosqlite:///{path}"},
        "channels": {"local": {"enabled": False}, "feishu": {
            "enabled": True, "api_base": f"http://127.0.0.1:{port}", "media_dir": str(path.parent / "media"),
            # the per-minute budget set to 50/s × 60 so that the per-second app limit is the one measured
            "rate_per_second": APP_LIMIT, "rate_per_minute": APP_LIMIT * 60}},
        "logging": {"level": "WARNING"},
        "schedule": {"enabled": False},
        "outbox": {"poll_interval_s": float(os.environ.get("FANOUT_POLL_S", "1.0"))},
    })
    service = Service(cfg, clock=FixedClock(AT), scheduler=False)
    try:
        t0 = time.perf_counter()
        summary = await service.scheduler.run("morning_must_do", AT)
        queued_s = time.perf_counter() - t0
        if "失败" in summary:
            raise RuntimeError(summary)
        async with service.db.session() as s:
            cards = (await s.execute(select(func.count()).select_from(Card).where(col(Card.kind) == "must_do"))).scalar_one()
            keys = list((await s.execute(select(col(OutboxMessage.idempotency_key)))).scalars())
        print(f"morning run: {cards:,} rep cards, {len(keys):,} messages queued in {queued_s:.1f} s; sending…", flush=True)
        await service.sender.start()
        while True:  # the sender runs on its own; poll its progress (a log line per 2,000)
            async with service.db.session() as s:
                left = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                    col(OutboxMessage.status).in_([OutboxStatus.pending, OutboxStatus.sending])))).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(1.0)
        async with service.db.session() as s:
            failed = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status) == OutboxStatus.failed))).scalar_one()
    finally:
        await service.sender.stop()
        await service.db.close()
        for ch in service.channels.values():
            await ch.close()
        await runner.cleanup()
    sends = [fake.messages[mid] for event, mid in fake.shown if event == "send"]
    times = sorted(m.sent_at for m in sends)
    shown = Counter((m.receive_id, json.dumps(m.content, sort_keys=True, ensure_ascii=False)) for m in sends)
    delivered = set(fake._uuids)  # uuid → message: the platform's record of what it showed
    return {
        "messages": len(keys), "cards": cards, "sent": len(sends), "failed": failed,
        "lost": len({send_uuid(k) for k in keys} - delivered),
        "duplicates": sum(n - 1 for n in shown.values()),
        "rate": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "throttled": fake.throttled, "seconds": times[-1] - times[0] if times else 0.0,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fanout.db"
        built = await build(path, args.reps, args.reps * 3, args.reps * 3)
        reachable_on_feishu(path)
        print(f"org built in {built:.1f} s: {args.reps:,} reps, {args.reps * 3:,} customers and records", flush=True)
        fake = FakeFeishu(app_per_second=APP_LIMIT)
        r = await fanout(path, fake)
    print(f"sent {r['sent']:,} of {r['messages']:,} messages ({r['cards']:,} morning cards) in {r['seconds']:.0f} s")
    print(f"achieved {r['rate']:.1f} msg/s ÷ limit {APP_LIMIT}/s = {r['rate'] / APP_LIMIT:.3f}  (target ≥ 0.95)")
    print(f"throttled answers (99991400): {r['throttled']}   lost: {r['lost']}   duplicates: {r['duplicates']}   "
          f"failed rows: {r['failed']}")


if __name__ == "__main__":
    asyncio.run(main())
