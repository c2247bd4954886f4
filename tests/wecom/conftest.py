"""WeCom fixtures: the fake API server, credentials in env vars, a Service with the WeCom channel on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels.wecom import WecomChannel, credentials_from_env
from bot.config import Config
from bot.importers import link_identity
from bot.service import Service
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import Person
from tests.conftest import make_config, seeded
from tests.wecom.fake_server import Callbacks, FakeWecom

TOKEN = "QDG6eK"  # callback Token (≤32 letters/digits)
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # 43 chars
REP_USERID = "zhangwei"


@pytest.fixture
def fake() -> FakeWecom:
    return FakeWecom()


@pytest.fixture
async def fake_server(fake: FakeWecom, aiohttp_server: Any) -> TestServer:
    return await aiohttp_server(fake.app())


@pytest.fixture
def wecom_env(fake: FakeWecom, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": str(fake.agent_id), "WECOM_SECRET": fake.secret,
           "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_ROBOT_KEY": "robot-key-1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def wecom_cfg(tmp_path: Path, fake_server: TestServer, wecom_env: dict[str, str]) -> Config:
    return make_config(tmp_path, channels={"wecom": {
        "enabled": True, "api_base": str(fake_server.make_url("")).rstrip("/"),
        "media_dir": str(tmp_path / "wecom-media"), "appchat_id": "chat-team-1", "request_timeout_s": 5.0}})


@pytest.fixture
def callbacks(fake: FakeWecom) -> Callbacks:
    return Callbacks(TOKEN, AES_KEY, fake.corp_id, fake.agent_id)


@pytest.fixture
async def wservice(wecom_cfg: Config, clock: FixedClock) -> Service:
    await seeded(wecom_cfg, clock.now())
    db = Database(wecom_cfg.database.url)
    async with db.session() as s, s.begin():
        rep = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        await link_identity(s, rep, "wecom", REP_USERID)
    await db.close()
    return Service(wecom_cfg, clock=clock)


@pytest.fixture
async def wclient(wservice: Service, aiohttp_client: Any) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(wservice.app())


@pytest.fixture
async def channel(wecom_cfg: Config, clock: FixedClock) -> AsyncIterator[WecomChannel]:
    """A channel on its own (no service) for client-level tests."""
    ch = WecomChannel(wecom_cfg.channels.wecom, credentials_from_env(wecom_cfg.channels.wecom), clock)
    yield ch
    await ch.close()
