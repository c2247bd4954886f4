"""Engine and sessions. SQLite runs in WAL mode so readers never block the single writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_inline import BUSY_TIMEOUT_S, creator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    """``hide_parameters``: a failed statement's message (logged, stored in ``inbox_event.error``) must not
    carry the bound values, which are people's messages and names."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(url, async_creator=creator(u.database), hide_parameters=True)
        else:
            engine = create_async_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S}, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (never ``create_all``)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


class Database:
    """One engine plus a session factory; passed explicitly, never a global.

    SQLite has one writer at a time and its busy handler sleeps in growing steps, so writers of
    this process queue on an asyncio lock instead (``write``). PostgreSQL keeps the lock too: the
    inbox workers' transactions then run in arrival order, so one person's quick presses (pick a
    customer, then confirm) are handled in the order they were made; other processes write in parallel.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self._write_lock: asyncio.Lock | None = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (or writes the caller commits itself)."""
        async with self.sessions() as s:
            yield s

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session inside a transaction that commits on exit and rolls back on error."""
        async with self._writer(), self.sessions() as s, s.begin():
            yield s

    @asynccontextmanager
    async def write_conn(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection inside a transaction, for bulk statements."""
        async with self._writer(), self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                yield

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()
