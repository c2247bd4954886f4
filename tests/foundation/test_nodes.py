"""Two bot processes on one database, with WeCom, Feishu or DingTalk (robot HTTP mode) in front (its fake API on 127.0.0.1): a redelivery
storm gives one record and one reply per message on either, and on PostgreSQL the two processes share the work
(messages, sends, a scheduled job run by both at once) without sending anything twice."""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import eventually
from tests.dingtalk.fake_server import FakeDingtalk
from tests.feishu.fake_server import FakeFeishu
from tests.foundation.nodes import (
    TEXT,
    DingtalkPlatform,
    FeishuPlatform,
    Platform,
    Server,
    Site,
    WecomPlatform,
    child_env,
)
from tests.harness import strings
from tests.wecom.fake_server import FakeWecom

pytestmark = pytest.mark.slow


async def _deployment(tmp_path: Path, url: str, aiohttp_server: Any,
                      name: str = "wecom") -> tuple[Site, Platform, list[Server]]:
    fake = {"wecom": FakeWecom, "feishu": FakeFeishu, "dingtalk": FakeDingtalk}[name]()
    api = await aiohttp_server(fake.app())
    base = str(api.make_url("")).rstrip("/")
    platform = {FakeWecom: WecomPlatform, FakeFeishu: FeishuPlatform, FakeDingtalk: DingtalkPlatform}[type(fake)](
        fake, base)
    site = await Site.create(tmp_path, url, platform=platform)
    servers = list(await asyncio.gather(Server.start(site), Server.start(site)))
    return site, platform, servers


async def _settled(site: Site, platform: Platform, events: int, cards: int) -> bool:
    left = await site.count(f"SELECT count(*) FROM outbox_message WHERE platform='{platform.name}' "
                            "AND status IN ('pending', 'sending')")
    done = await site.count(f"SELECT count(*) FROM inbox_event WHERE platform='{platform.name}' AND status='done'")
    return left == 0 and done == events and len(platform.cards()) >= cards


def _messages(platform: Platform, reps: list[int], n: int, first_id: int) -> list[tuple[int, str, Any]]:
    """(msg id, user, callback body) of n messages spread over the reps, each text marked 第k条."""
    out = []
    for k in range(n):
        user = f"u{reps[k % len(reps)]}"
        out.append((first_id + k, user, platform.text(user, first_id + k, f"第{k}条：{TEXT}")))
    return out


def _one_card_each(platform: Platform, messages: list[tuple[int, str, Any]]) -> None:
    cards = platform.cards()
    for k, (_, user, _) in enumerate(messages):
        mine = [to for to, c in cards if any(f"第{k}条" in s for s in strings(c))]
        assert mine == [user], f"message {k}: {len(mine)} cards"


@pytest.mark.parametrize("name", ["wecom", "feishu", "dingtalk"])
async def test_redelivery_storm_to_two_processes_gives_one_record_and_one_reply(
        tmp_path: Path, db_url: str, aiohttp_server: Any, name: str) -> None:
    """Every message is delivered three times at once, to both processes (the third to either)."""
    site, platform, (a, b) = await _deployment(tmp_path, db_url, aiohttp_server, name)
    reps = [r for (r,) in await site.query("SELECT id FROM person WHERE role='rep' ORDER BY id")]
    messages = _messages(platform, reps, 18, 7_500_000_000)
    rng = random.Random(19)
    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(
            platform.post(http, port, msg_id, body)
            for msg_id, _, body in messages for port in (a.port, b.port, rng.choice([a.port, b.port]))))
    assert all(answers)  # a repeat is acknowledged too (else the platform would keep redelivering it)
    await eventually(lambda: _settled(site, platform, len(messages), len(messages)), within=60)
    for s in (a, b):
        s.kill()
    assert await site.count(f"SELECT count(*) FROM inbox_event WHERE platform='{name}'") == len(messages)
    assert await site.count("SELECT count(DISTINCT source_event_id) FROM action_record "
                            "WHERE source_event_id IS NOT NULL") == len(messages)
    assert await site.count("SELECT count(*) FROM action_record WHERE source_event_id IS NOT NULL") == len(messages)
    assert len(platform.cards()) == len(messages)
    _one_card_each(platform, messages)


async def test_two_processes_on_postgresql_share_the_load_without_duplicate_sends(
        tmp_path: Path, pg_url: str, aiohttp_server: Any) -> None:
    site, platform, (a, b) = await _deployment(tmp_path, pg_url, aiohttp_server)
    reps = [r for (r,) in await site.query("SELECT id FROM person WHERE role='rep' ORDER BY id")]
    messages = _messages(platform, reps, 36, 7_600_000_000)
    before = await site.count("SELECT coalesce(max(id), 0) FROM outbox_message")

    async def morning() -> str:
        """`actionflow jobs run morning_must_do` as a third and fourth process, at the same time."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "--config", "config.yaml", "jobs", "run", "morning_must_do",
            cwd=site.dir, env=child_env(site.env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    async with aiohttp.ClientSession() as http:
        runs = asyncio.gather(morning(), morning())
        answers = await asyncio.gather(*(platform.post(http, (a.port, b.port)[k % 2], msg_id, body)
                                         for k, (msg_id, _, body) in enumerate(messages)))
        said = await runs
    assert all(answers)
    queued = await site.count(f"SELECT count(*) FROM outbox_message WHERE platform='wecom' AND id > {before} "
                              "AND op='send'")
    await eventually(lambda: _settled(site, platform, len(messages), queued), within=60)
    for s in (a, b):
        s.kill()

    cards = platform.cards()
    assert len(cards) == queued, said  # every queued card shown once: none lost, none twice
    _one_card_each(platform, messages)
    must_do = await site.query("SELECT audience_id, count(*) FROM card WHERE kind='must_do' GROUP BY audience_id")
    assert must_do and all(n == 1 for _, n in must_do), must_do  # the job's units: each claimed by one run
    units = await site.query("SELECT scope, count(*) FROM job_run WHERE job='morning_must_do' GROUP BY scope")
    assert all(n == 1 for _, n in units)
    assert isinstance(platform, WecomPlatform) and len(platform.senders()) == 2  # both processes sent (each holds its own access token) …
    sent_by = Counter(r.query["access_token"] for r in platform.fake.calls("message/send"))
    assert min(sent_by.values()) > 0, sent_by  # … a share each
