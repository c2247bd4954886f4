"""INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL alike: how repeats become no-ops."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignore_stmt(dialect: str, model: Any, values: dict[str, Any] | None = None) -> Any:
    """Without ``values`` the statement takes a list of rows at execute time (one multi-row insert)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(model)
    return (stmt.values(**values) if values is not None else stmt).on_conflict_do_nothing()


@lru_cache(maxsize=64)
def insert_ignore_into(dialect: str, model: Any) -> Any:
    """One statement per table, values given at execute time: built and compiled once, not per row
    (building an ORM insert with ``.values()`` cost more than running it)."""
    return insert_ignore_stmt(dialect, table(model))


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """True when the row was inserted, False when a unique key already held it."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    result = await session.execute(insert_ignore_into(dialect, model), values)
    return bool(changed(result))


def dialect_of(session: AsyncSession) -> str:
    """"sqlite" or "postgresql": the few statements that must differ ask this."""
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def changed(result: Result[Any]) -> int:
    """Rows an UPDATE/INSERT touched: how a conditional write learns whether it won."""
    return cast(CursorResult[Any], result).rowcount


def table(model: Any) -> Table:
    """The Core table behind a SQLModel class (for multi-row statements and RETURNING)."""
    return cast(Table, model.__table__)
