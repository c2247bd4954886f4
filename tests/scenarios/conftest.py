"""The ``chat`` fixture: every scenario in this folder runs once per platform in tests/harness.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.importers import link_identity
from bot.service import Service
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import Person
from tests.conftest import make_config, seeded
from tests.harness import PLATFORMS, Chat, LocalChat, WecomChat, userid
from tests.wecom.conftest import AES_KEY, TOKEN
from tests.wecom.fake_server import Callbacks, FakeWecom


async def _people(service: Service) -> dict[str, Person]:
    async with service.db.session() as s:
        return {p.name: p for p in (await s.execute(select(Person))).scalars()}


async def _local(tmp_path: Path, clock: FixedClock, aiohttp_client: Any) -> Chat:
    cfg = make_config(tmp_path)
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return LocalChat(service, client, clock, await _people(service))


async def _wecom(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                 monkeypatch: pytest.MonkeyPatch) -> Chat:
    """A WeCom-only deployment (the emulator off): every demo person has a WeCom userid."""
    fake = FakeWecom()
    server = await aiohttp_server(fake.app())
    for k, v in {"WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": str(fake.agent_id), "WECOM_SECRET": fake.secret,
                 "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY}.items():
        monkeypatch.setenv(k, v)
    cfg = make_config(tmp_path, channels={"local": {"enabled": False}, "wecom": {
        "enabled": True, "api_base": str(server.make_url("")).rstrip("/"), "media_dir": str(tmp_path / "wecom-media"),
        "request_timeout_s": 5.0}})
    await seeded(cfg, clock.now())
    db = Database(cfg.database.url)
    async with db.session() as s, s.begin():
        for p in (await s.execute(select(Person))).scalars():
            await link_identity(s, p, "wecom", userid(p))
    await db.close()
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return WecomChat(service, client, clock, await _people(service), fake,
                     Callbacks(TOKEN, AES_KEY, fake.corp_id, fake.agent_id))


@pytest.fixture(params=PLATFORMS)
async def chat(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
               aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Chat:
    if request.param == "local":
        return await _local(tmp_path, clock, aiohttp_client)
    return await _wecom(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
