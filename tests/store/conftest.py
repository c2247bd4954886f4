"""The local emulator with the demo store (长沙旗舰店: 吴静 manages 郑丽, 冯雪, 何洋)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.service import Service
from handlers.clock import FixedClock
from tests.conftest import make_config, seeded
from tests.harness import LocalChat, people_of

SECRET = "store-tests-secret-0123456789"


@pytest.fixture
async def chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> LocalChat:
    monkeypatch.setenv("ACTIONFLOW_TOKEN_SECRET", SECRET)
    cfg = make_config(tmp_path)
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return LocalChat(service, client, clock, await people_of(service))
