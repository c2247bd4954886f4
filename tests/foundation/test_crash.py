"""kill -9, on SQLite and on PostgreSQL: nothing lost, nothing doubled (real processes, real databases).

The first two tests kill at the two dangerous moments exactly (crash_script.py); the third kills a
WeCom deployment at random moments while a platform that redelivers whatever was not acknowledged
keeps sending, and checks the fake WeCom API's log: every message got exactly one card."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import eventually
from tests.foundation.nodes import ROOT, TEXT, Server, Site, WecomPlatform, free_port, run_cli
from tests.foundation.nodes import run_cli as run
from tests.foundation.nodes import sqlite_query as query

__all__ = ["ROOT", "free_port", "query", "run"]  # other tests' CLI helpers, kept where they first lived
from tests.harness import strings
from tests.wecom.fake_server import FakeWecom

SCRIPT = Path(__file__).with_name("crash_script.py")
pytestmark = pytest.mark.slow


@pytest.fixture
async def site(tmp_path: Path, db_url: str) -> Site:
    return await Site.create(tmp_path, db_url)


async def rep_id(site: Site) -> int:
    return await site.count("SELECT id FROM person WHERE name='李娜'")  # a rep the demo sends no cards


async def cards_shown(site: Site, rep: int) -> int:
    return await site.count(f"SELECT count(*) FROM local_chat_message WHERE card_id IS NOT NULL AND person_id={rep}")


async def last_outbox_id(site: Site) -> int:
    """Rows up to here are the demo's (whatever the demo sends its reps); the tests follow newer ones."""
    return await site.count("SELECT coalesce(max(id), 0) FROM outbox_message")


async def test_killed_after_store_before_handling_is_handled_once(site: Site) -> None:
    rep = await rep_id(site)
    r = run_cli(site.dir, str(SCRIPT), "store-then-die", "config.yaml", str(rep))
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert await site.query("SELECT status FROM inbox_event") == [("received",)]
    assert await site.count("SELECT count(*) FROM action_record WHERE source_event_id IS NOT NULL") == 0

    server = await Server.start(site)
    await eventually(lambda: _equals(cards_shown(site, rep), 1), within=30)
    server.kill()
    server = await Server.start(site)  # a second restart must not handle it again: ready with nothing in hand
    assert server.ready["ok"] and server.ready["in_hand"] == 0 and server.ready["oldest_unhandled_s"] == 0
    server.kill()
    assert await site.query("SELECT status, attempts FROM inbox_event") == [("done", 1)]
    assert await site.count("SELECT count(*) FROM action_record WHERE source_event_id IS NOT NULL") == 1
    assert await cards_shown(site, rep) == 1


async def test_killed_after_platform_accepted_is_not_sent_again(site: Site) -> None:
    rep, before = await rep_id(site), await last_outbox_id(site)
    r = run_cli(site.dir, str(SCRIPT), "deliver-then-die", "config.yaml", str(rep))
    assert r.returncode == -signal.SIGKILL, r.stderr
    [(key, status)] = await site.query(f"SELECT idempotency_key, status FROM outbox_message "
                                       f"WHERE card_id IS NOT NULL AND person_id={rep} AND id > {before}")
    assert status == "sending"  # the platform accepted, we never recorded it
    assert await site.count(f"SELECT count(*) FROM local_chat_message WHERE delivery_key='{key}'") == 1

    server = await Server.start(site)
    await eventually(lambda: _equals(site.query(f"SELECT status FROM outbox_message WHERE idempotency_key='{key}'"),
                                   [("sent",)]), within=30)
    server.kill()
    assert await site.count(f"SELECT attempts FROM outbox_message WHERE idempotency_key='{key}'") == 2  # retried …
    assert await cards_shown(site, rep) == 1  # … and shown once


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


WAVES = 4  # a wave of messages per life of the process; the first three lives end in kill -9
PER_WAVE = 8


async def test_killed_at_random_moments_every_message_gets_exactly_one_card(
        tmp_path: Path, db_url: str, aiohttp_server: Any) -> None:
    """receive → store → ack → handle → send → record, killed wherever the random moment falls."""
    fake = FakeWecom()
    app = fake.app()
    app.middlewares.append(_slow_sends)
    api = await aiohttp_server(app)
    site = await Site.create(tmp_path, db_url, fake, str(api.make_url("")).rstrip("/"))
    platform = WecomPlatform(fake)
    reps = [r for (r,) in await site.query("SELECT id FROM person WHERE role='rep' ORDER BY id")]
    seed = int(os.environ.get("ACTIONFLOW_CRASH_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    n_events = WAVES * PER_WAVE
    events = {7_400_000_000 + n: (f"u{reps[n % len(reps)]}", platform.text(
        f"u{reps[n % len(reps)]}", 7_400_000_000 + n, f"第{n}条：{TEXT}")) for n in range(n_events)}
    ids = list(events)
    server = await Server.start(site)
    seen_at_kill: list[dict[str, int]] = []

    async def deliver(http: aiohttp.ClientSession, wave: list[int]) -> None:
        """The platform: everything offered so far and not acknowledged, again and again."""
        while todo := [m for m in wave if m not in platform.acked]:
            posts = []
            for m in todo:  # people type one after another: the process is busy over the whole wave
                posts.append(asyncio.create_task(platform.post(http, server.port, m, events[m][1])))
                await asyncio.sleep(0.03)
            await asyncio.gather(*posts)
            if any(m not in platform.acked for m in todo):
                await asyncio.sleep(0.1)

    async with aiohttp.ClientSession() as http:
        for w in range(WAVES):
            offered = ids[: (w + 1) * PER_WAVE]
            delivering = asyncio.create_task(deliver(http, offered))
            if w == WAVES - 1:
                await delivering
                break
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            server.kill()
            seen_at_kill.append(await _in_flight(site))
            delivering.cancel()
            await asyncio.gather(delivering, return_exceptions=True)
            server = await Server.start(site)

        async def settled() -> bool:
            left = await site.count("SELECT count(*) FROM outbox_message WHERE platform='wecom' "
                                    "AND status IN ('pending', 'sending')")
            done = await site.count("SELECT count(*) FROM inbox_event WHERE platform='wecom' AND status='done'")
            return left == 0 and done == n_events and len(platform.cards()) >= n_events

        await eventually(settled, within=90)
    server.kill()

    note = f"seed {seed}, in flight at each kill: {seen_at_kill}"
    assert await site.count("SELECT count(*) FROM inbox_event WHERE platform='wecom'") == n_events, note
    assert await site.count("SELECT count(DISTINCT source_event_id) FROM action_record "
                            "WHERE source_event_id IS NOT NULL") == n_events, note
    cards = platform.cards()
    assert len(cards) == n_events, note  # nothing doubled on screen …
    assert len({c["task_id"] for _, c in cards}) == n_events, note
    for n, (user, _) in enumerate(events.values()):  # … and each message answered in its author's chat
        [to] = [to for to, c in cards if any(f"第{n}条" in s for s in strings(c))]
        assert to == user, note
    assert Counter(to for to, _ in cards) == Counter(user for user, _ in events.values()), note


@web.middleware
async def _slow_sends(request: web.Request, handler: Any) -> web.StreamResponse:
    """WeCom answers a send in tens of milliseconds: long enough for a kill to land between the call and
    its record."""
    if request.path.endswith("/message/send"):
        await asyncio.sleep(random.uniform(0.01, 0.08))
    return await handler(request)


async def _in_flight(site: Site) -> dict[str, int]:
    """Where the work stood when the process died (for the failure message)."""
    rows = await site.query("SELECT 'inbox_' || status, count(*) FROM inbox_event WHERE platform='wecom' "
                            "GROUP BY status UNION ALL SELECT 'outbox_' || status, count(*) FROM outbox_message "
                            "WHERE platform='wecom' GROUP BY status")
    return {str(k): int(v) for k, v in rows}
