"""Shared fixtures: a config in a temp folder, the demo org, a running service behind a test client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Config, config_from_dict
from bot.demo.seed import seed_demo
from bot.service import Service
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import Person
from tests.pg_server import SKIP_ENV, Postgres, PostgresUnavailable

TZ = ZoneInfo("Asia/Shanghai")
DATA = Path(__file__).resolve().parent / "data"


def make_config(tmp: Path, **overrides: Any) -> Config:
    data: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp / 'test.db'}"},
        "channels": {"local": {"enabled": True, "media_dir": str(tmp / "media")}},
        "outbox": {"poll_interval_s": 0.05, "backoff_base_s": 0.05, "backoff_max_s": 0.5},
        "logging": {"level": "WARNING"},
        "evidence": {"dir": str(tmp / "evidence")},
    }
    for k, v in overrides.items():
        data[k] = {**data.get(k, {}), **v}
    return config_from_dict(data)


async def seeded(cfg: Config, now: datetime) -> None:
    db = Database(cfg.database.url)
    await db.migrate()
    async with db.session() as s, s.begin():
        await seed_demo(s, now, TZ)
    await db.close()


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """Poll until ``check`` returns something truthy (background loops finish on their own time)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """This session's throw-away PostgreSQL (or ``ACTIONFLOW_TEST_PG_URL``'s). A missing server fails the
    tests that need it; only ``ACTIONFLOW_TEST_PG=skip`` (a laptop without the package) turns that into a skip."""
    try:
        pg = Postgres.from_env().start()
    except PostgresUnavailable as exc:
        if os.environ.get(SKIP_ENV) == "skip":
            pytest.skip(f"{exc} ({SKIP_ENV}=skip)")
        pytest.fail(str(exc), pytrace=False)
    yield pg
    pg.stop()


@pytest.fixture
def pg_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, migrated database of its own for one test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a test on both backends: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 24, 10, 0, tzinfo=TZ))  # a Tuesday


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
async def service(cfg: Config, clock: FixedClock) -> Service:
    await seeded(cfg, clock.now())
    return Service(cfg, clock=clock)


@pytest.fixture
async def client(service: Service, aiohttp_client: Any) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(service.app())


@pytest.fixture
async def people(service: Service, client: TestClient) -> dict[str, Person]:
    async with service.db.session() as s:
        return {p.name: p for p in (await s.execute(select(Person))).scalars()}
