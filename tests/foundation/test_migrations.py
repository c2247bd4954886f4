"""The Alembic migrations build exactly the schema the models describe (no create_all anywhere)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from storage.db import Database, alembic_config
from tests.pg_server import Postgres


async def test_models_match_migrations(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await db.migrate()
    await db.migrate()  # idempotent

    def diff(conn: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await db.close()


async def test_every_migration_runs_on_postgresql(postgres: Postgres) -> None:
    """0001 → head on an empty PostgreSQL database, twice, ending exactly at the models' schema; then
    back down to nothing (every downgrade runs there too)."""
    url = postgres.create_database(migrated=False)
    db = Database(url)
    try:
        await db.migrate()
        await db.migrate()

        def diff(conn: Connection) -> list[object]:
            return compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []

        def down(conn: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")

        async with db.engine.begin() as conn:
            await conn.run_sync(down)
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert tables == ["alembic_version"]
    finally:
        await db.close()
        postgres.drop_database(url)
