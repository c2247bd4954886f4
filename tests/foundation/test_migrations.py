"""The Alembic migrations build exactly the schema the models describe (no create_all anywhere)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.db import Database


async def test_models_match_migrations(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    await db.migrate()  # idempotent

    def diff(conn: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await db.close()
