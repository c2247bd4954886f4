"""The 08:45 fan-out to Feishu: 10,000 reps' morning cards (plus their supervisors' boards) delivered to a
fake Open Platform that enforces Feishu's app-wide 50 messages/s, measured at the platform.

The org and its history are built like bench.morning's (its ``build``), every person reachable on
Feishu; the real ``morning_must_do`` job queues the cards, then the service's own sender delivers them
through the Feishu channel to ``tests/feishu/fake_server.FakeFeishu`` on 127.0.0.1 (with
``app_per_second=50``: one more send in any second is answered 99991400). Reported: achieved send
rate ÷ 50 between the first and the last accepted send (target ≥ 0.95), the throttled answers, and,
checked against the fake's own log, zero lost (every queued message shown once) and zero duplicates.

Feishu also caps an app at 1000 sends per minute, which binds first for any fan-out longer than 20 s. A
second, smaller run (``--minute-reps``) holds both limits on both sides (our config's default budgets, the
fake refusing the 1001st send in any 60 s) and reports the least span the limits allow ÷ the achieved span.
The job and the fake share this process: at 50/s they cost a few per cent of a core.

Run: ``.venv/bin/python -m bench.fanout [--reps 10000] [--minute-reps 2500]``.
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
MINUTE_LIMIT = 1000  # and per minute per app: for a big morning this is the one that binds (10,000 cards ≈ 10 min)


def reachable_on_feishu(path: Path) -> None:
    """bench.morning links everybody to the emulator; here everybody has an open_id instead."""
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE identity SET platform = 'feishu', external_id = 'ou_' || person_id")
    con.close()


def best_seconds(n: int, per_second: int, per_minute: int) -> float:
    """The least time n sends can span (first to last) under both sliding windows: full minutes of
    ``per_minute`` sends, each minute's burst at ``per_second``."""
    full, rest = divmod(n - 1, per_minute)
    return full * 60.0 + rest / per_second


async def fanout(path: Path, fake: FakeFeishu, per_minute: int) -> dict[str, float]:
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
            "rate_per_second": APP_LIMIT, "rate_per_minute": per_minute}},
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


async def run(reps: int, per_minute: int | None) -> dict[str, float]:
    """One fan-out of ``reps`` reps' morning; ``per_minute`` None measures the per-second limit alone (our
    per-minute budget and the fake's lifted), otherwise both sides hold Feishu's per-minute limit too."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fanout.db"
        built = await build(path, reps, reps * 3, reps * 3)
        reachable_on_feishu(path)
        print(f"org built in {built:.1f} s: {reps:,} reps, {reps * 3:,} customers and records", flush=True)
        fake = FakeFeishu(app_per_second=APP_LIMIT, app_per_minute=per_minute)
        r = await fanout(path, fake, per_minute or APP_LIMIT * 60)
    print(f"sent {r['sent']:,} of {r['messages']:,} messages ({r['cards']:,} morning cards) in {r['seconds']:.0f} s")
    print(f"throttled answers (99991400): {r['throttled']}   lost: {r['lost']}   duplicates: {r['duplicates']}   "
          f"failed rows: {r['failed']}")
    return r


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=10_000, help="reps of the 50/s run; 0 skips it")
    ap.add_argument("--minute-reps", type=int, default=2_500,
                    help="reps of the run under Feishu's full limits (50/s and 1000/min); 0 skips it")
    args = ap.parse_args()
    if args.reps:
        print(f"— Feishu's {APP_LIMIT}/s app limit alone —", flush=True)
        r = await run(args.reps, None)
        print(f"achieved {r['rate']:.1f} msg/s ÷ limit {APP_LIMIT}/s = {r['rate'] / APP_LIMIT:.3f}  (target ≥ 0.95)")
    if args.minute_reps:
        print(f"\n— Feishu's full app limits: {APP_LIMIT}/s and {MINUTE_LIMIT}/min (the binding one) —", flush=True)
        r = await run(args.minute_reps, MINUTE_LIMIT)
        best = best_seconds(int(r["sent"]), APP_LIMIT, MINUTE_LIMIT)
        print(f"spanned {r['seconds']:.1f} s; the least the limits allow for {r['sent']:,} sends: {best:.1f} s; "
              f"ratio {best / r['seconds']:.3f}  (target ≥ 0.95)")


if __name__ == "__main__":
    asyncio.run(main())
