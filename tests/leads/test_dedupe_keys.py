"""查重 keys: matching a lead is an indexed lookup in ``customer_key``, never a read of every customer. The keys
follow renames, new aliases and new contact phones through any ORM write, rows older than migration 0010 get
theirs from it, and on both backends the lookup finds the same customer."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.leads import find_existing
from storage.db import Database, alembic_config
from storage.models import Contact, Customer, CustomerKey


def ctx_of(session: object, clock: FixedClock) -> Context:
    return Context(session=session, clock=clock, settings=Settings(), key_prefix="t")  # type: ignore[arg-type]


async def keys(db: Database, customer_id: str) -> set[tuple[str, str]]:
    async with db.session() as s:
        rows = (await s.execute(select(CustomerKey.kind, CustomerKey.key)
                                .where(CustomerKey.customer_id == customer_id))).all()
    return {(k, v) for k, v in rows}


async def test_keys_follow_every_write_on_both_backends(db_url: str, clock: FixedClock) -> None:
    db = Database(db_url)
    await db.migrate()
    async with db.session() as s, s.begin():
        s.add(Customer(id="K1", name="杭州 云帆科技有限公司", aliases=["云帆"]))
        await s.flush()
        s.add(Contact(customer_id="K1", name="王总", phone="+86 138-1234-5678"))
    assert await keys(db, "K1") == {("name", "杭州云帆科技有限公司"), ("name", "云帆"), ("phone", "13812345678")}
    async with db.session() as s, s.begin():
        c = await s.get(Customer, "K1")
        assert c is not None
        c.name, c.aliases = "杭州云帆智能科技有限公司", ["云帆智能"]
        c.last_action_at = clock.now()
    assert await keys(db, "K1") == {("name", "杭州云帆智能科技有限公司"), ("name", "云帆智能"), ("phone", "13812345678")}
    async with db.session() as s:
        ctx = ctx_of(s, clock)
        assert (await find_existing(ctx, "云帆智能", None)).id == "K1"  # type: ignore[union-attr]
        assert await find_existing(ctx, "云帆", None) is None  # the old alias is gone with the rename
        assert (await find_existing(ctx, "某新公司", "13812345678")).id == "K1"  # type: ignore[union-attr]
        assert (await find_existing(ctx, "杭州云帆智能科技有限公司", "0000")).id == "K1"  # type: ignore[union-attr]
    await db.close()


async def test_the_lookup_uses_the_index_not_a_scan(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    await db.migrate()
    async with db.session() as s:
        plan = (await s.execute(text(
            "EXPLAIN QUERY PLAN SELECT customer_id FROM customer_key WHERE kind = 'name' AND key = 'x' "
            "ORDER BY customer_id LIMIT 1"))).all()
    detail = " ".join(str(r[-1]) for r in plan)
    assert "USING COVERING INDEX" in detail and "SCAN customer_key" not in detail.replace("USING", "")
    await db.close()


async def test_migration_fills_keys_for_existing_customers(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")

    def upgrade(conn: Connection, rev: str) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)

    async with db.engine.begin() as conn:
        await conn.run_sync(upgrade, "0009")
        await conn.execute(text("INSERT INTO customer (id, name, aliases, address, stage, created_at) "
                                "VALUES ('OLD1', '宁波 金泰汽配', '[\"金泰\"]', '', '初步接触', '2026-11-01 00:00:00')"))
        await conn.execute(text("INSERT INTO contact (customer_id, name, phone) VALUES ('OLD1', '陈经理', '0574-8888 1234')"))
    async with db.engine.begin() as conn:
        await conn.run_sync(upgrade, "head")
    assert await keys(db, "OLD1") == {("name", "宁波金泰汽配"), ("name", "金泰"), ("phone", "057488881234")}
    await db.close()


async def test_the_timeline_question_finds_customers_by_the_keys(db_url: str, clock: FixedClock) -> None:
    from handlers.timeline import find_customer

    db = Database(db_url)
    await db.migrate()
    async with db.session() as s, s.begin():
        s.add(Customer(id="Y1", name="杭州云帆科技有限公司", aliases=["云帆"]))
        s.add(Customer(id="Y2", name="杭州云海物流有限公司", aliases=["云海物流"]))
    async with db.session() as s:
        ctx = ctx_of(s, clock)
        found = {q: (c.id if (c := await find_customer(ctx, q)) else None)
                 for q in ("云帆", "杭州云帆", "杭州 云海", "云海", "杭州云", "某某公司", "杭")}
    assert found == {"云帆": "Y1", "杭州云帆": "Y1", "杭州 云海": "Y2", "云海": "Y2", "杭州云": None,
                     "某某公司": None, "杭": None}  # exact, unique prefixes, an ambiguous one, none, too short
    await db.close()
