"""SQLite statements run on the event loop itself, behind aiosqlite's interface.

aiosqlite moves every call (cursor, execute, fetch, close — four per statement) to its own thread
and back. A small indexed SQLite statement takes microseconds; the thread round trips took ten
times longer and were the handling path's main cost (measured by ``bench.ingest``). So the
SQLAlchemy aiosqlite dialect is given this connection instead (``async_creator``), whose coroutines
finish without awaiting anything.

Nothing here blocks the loop on a lock: the connection's own busy timeout is 0, and a statement that
finds the database locked (another process, or another ``Database`` on the same file in this one) is
retried after an ``asyncio.sleep``, so whoever holds the lock can finish, for up to ``BUSY_TIMEOUT_S``.
WAL readers never wait. PostgreSQL keeps its own async driver.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

BUSY_TIMEOUT_S = 10.0  # how long a statement may wait for another connection's write lock
T = TypeVar("T")


async def _patiently(call: Callable[[], T]) -> T:
    """Run ``call``; while SQLite says the database is locked, yield to the loop and try again."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any] | dict[str, Any]]) -> InlineCursor:
        rows = list(parameters)  # a retry must see the same rows again
        await _patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """The subset of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite adapter calls."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._connection: sqlite3.Connection | None = conn  # the adapter checks it before commit/rollback

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    def stop(self) -> None:
        """Terminate (SQLAlchemy's force-close path): nothing runs elsewhere, so closing is enough."""
        if self._connection is not None:
            self._conn.close()
            self._connection = None

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._conn.create_function(*args, **kw)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


def creator(path: str) -> Any:
    """An ``async_creator`` for ``create_async_engine``: opens ``path`` with pysqlite defaults."""

    async def connect() -> InlineConnection:
        conn = sqlite3.connect(path, timeout=0, check_same_thread=False)  # never wait inside SQLite: see above
        return InlineConnection(conn)

    return connect
