"""The local emulator with the tasks section configured (skills, a short limit), on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.service import Service
from handlers.clock import FixedClock
from tests.conftest import make_config, seeded
from tests.harness import LocalChat, people_of

TASKS = {"skills": {"林浩然": ["API对接", "系统集成"], "陈思远": ["新国标适配"]}, "due_hours": 8}


@pytest.fixture
async def chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, db_url: str) -> LocalChat:
    cfg = make_config(tmp_path, tasks=TASKS, database={"url": db_url})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return LocalChat(service, client, clock, await people_of(service))
