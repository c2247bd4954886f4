"""DingTalk fixtures: the fake gateway and OpenAPI on 127.0.0.1, credentials in env vars, a channel on its own
or a whole Service with the DingTalk channel on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.dingtalk import DingtalkChannel, credentials_from_env
from bot.config import Config
from handlers.clock import FixedClock
from tests.conftest import make_config
from tests.dingtalk.chat import DingtalkChat, dingtalk_section, open_chat, start_fake
from tests.dingtalk.fake_server import FakeDingtalk


@pytest.fixture
async def fake_and_base(clock: FixedClock, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeDingtalk, str]:
    return await start_fake(clock, aiohttp_server, monkeypatch)


@pytest.fixture
def fake(fake_and_base: tuple[FakeDingtalk, str]) -> FakeDingtalk:
    return fake_and_base[0]


@pytest.fixture
def dt_cfg(tmp_path: Path, fake_and_base: tuple[FakeDingtalk, str]) -> Config:
    fake, base = fake_and_base
    return make_config(tmp_path, channels={"local": {"enabled": False},
                                           "dingtalk": dingtalk_section(fake, base, tmp_path)})


@pytest.fixture
async def channel(dt_cfg: Config, clock: FixedClock) -> AsyncIterator[DingtalkChannel]:
    """A channel on its own (no service, no Stream started) for client-level tests."""
    ch = DingtalkChannel(dt_cfg.channels.dingtalk, credentials_from_env(dt_cfg.channels.dingtalk), clock)
    yield ch
    await ch.close()


@pytest.fixture
async def dchat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                monkeypatch: pytest.MonkeyPatch) -> DingtalkChat:
    chat = await open_chat(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert isinstance(chat, DingtalkChat)
    return chat
