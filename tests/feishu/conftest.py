"""Feishu fixtures: the fake Open Platform, credentials in env vars, a Service with the Feishu channel on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Config
from bot.service import Service
from handlers.clock import FixedClock
from tests.conftest import make_config, seeded
from tests.feishu.fake_server import Callbacks, FakeFeishu
from tests.harness import link_everyone

VERIFICATION_TOKEN = "vt-fake-0123456789"
ENCRYPT_KEY = "ek-fake-0123456789abcdef"


def feishu_env(fake: FakeFeishu, monkeypatch: pytest.MonkeyPatch, encrypt_key: str | None = ENCRYPT_KEY) -> None:
    for k, v in {"FEISHU_APP_ID": fake.app_id, "FEISHU_APP_SECRET": fake.app_secret,
                 "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN}.items():
        monkeypatch.setenv(k, v)
    if encrypt_key:
        monkeypatch.setenv("FEISHU_ENCRYPT_KEY", encrypt_key)
    else:
        monkeypatch.delenv("FEISHU_ENCRYPT_KEY", raising=False)


def feishu_config(tmp_path: Path, server: TestServer, **extra: Any) -> Config:
    """A Feishu-only deployment (the emulator off)."""
    return make_config(tmp_path, channels={"local": {"enabled": False}, "feishu": {
        "enabled": True, "api_base": str(server.make_url("")).rstrip("/"), "media_dir": str(tmp_path / "feishu-media"),
        "request_timeout_s": 5.0, **extra}})


@pytest.fixture
def fake(clock: FixedClock) -> FakeFeishu:
    return FakeFeishu(clock=lambda: clock.now().timestamp())


@pytest.fixture
async def fake_server(fake: FakeFeishu, aiohttp_server: Any) -> TestServer:
    return await aiohttp_server(fake.app())


@pytest.fixture
def callbacks(fake: FakeFeishu) -> Callbacks:
    return Callbacks(fake.app_id, VERIFICATION_TOKEN, ENCRYPT_KEY)


@pytest.fixture
async def fservice(tmp_path: Path, fake: FakeFeishu, fake_server: TestServer, clock: FixedClock,
                   monkeypatch: pytest.MonkeyPatch) -> Service:
    feishu_env(fake, monkeypatch)
    cfg = feishu_config(tmp_path, fake_server)
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "feishu")
    return Service(cfg, clock=clock)


@pytest.fixture
async def fclient(fservice: Service, aiohttp_client: Any) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(fservice.app())
