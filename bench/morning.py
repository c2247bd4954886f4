"""The 08:45 run at scale: 5,000 reps, 200,000 customers, with 200,000 and then 2,000,000 action records.

Each dataset is bulk-inserted (stdlib sqlite3 ``executemany`` into a migrated database), then the real
``morning_must_do`` job runs through the same Scheduler path as the timers: proposals from each customer's
latest record, must-do rows, cards and outbox rows, claimed in batches. The ratio of the two times shows
whether the cost grows with history (target ≤ 1.5); the absolute time is the 5,000-card budget (< 60 s).

The same two runs then go to PostgreSQL (the throw-away server of the tests, ``tests/pg_server.py``, with
fsync on; or ``ACTIONFLOW_TEST_PG_URL``'s), data loaded with ``COPY``; target there: 5,000 cards in ≤ 10 s.

Run: ``.venv/bin/python -m bench.morning [--reps 5000] [--customers 200000] [--no-postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from bot.config import config_from_dict
from bot.service import Service
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import Card, OutboxMessage
from tests.conftest import TZ
from tests.pg_server import Postgres

AT = datetime(2026, 11, 24, 8, 45, tzinfo=TZ)  # a Tuesday, a workday
TODAY = AT.date()
SUPERVISOR_SPAN = 10  # reps per supervisor
STAGES = ["初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款"]
TYPES = ["visit", "call", "message", "quote", "presentation"]
CHUNK = 50_000


def ts(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def people(reps: int) -> tuple[list[tuple[Any, ...]], list[int]]:
    now = ts(AT - timedelta(days=400))
    sups = max(1, reps // SUPERVISOR_SPAN)
    rows: list[tuple[Any, ...]] = [(1, "经理", "manager", None, "华东", 1, now)]
    rows += [(2 + i, f"主管{i}", "supervisor", 1, "华东", 1, now) for i in range(sups)]
    first_rep = 2 + sups
    rep_ids = list(range(first_rep, first_rep + reps))
    rows += [(rid, f"销售{rid}", "rep", 2 + (n % sups), "华东", 1, now) for n, rid in enumerate(rep_ids)]
    return rows, rep_ids


def customers(n: int, rep_ids: list[int]) -> Iterator[tuple[Any, ...]]:
    created = ts(AT - timedelta(days=400))
    for i in range(n):
        last = _latest_touch(i)
        yield (f"C{i:06d}", f"测试客户{i}有限公司", "[]", "", STAGES[i % 4], rep_ids[i % len(rep_ids)], created, ts(last))


def _latest_touch(i: int) -> datetime:
    """Customer i's newest record: 1–10 days ago, so some are stale (> 72 h) and some fresh."""
    return AT - timedelta(days=1 + i % 10, hours=i % 7)


def records(n_records: int, n_customers: int, rep_ids: list[int]) -> Iterator[tuple[Any, ...]]:
    """``per`` records per customer, a week apart, going back from the newest one (history grows backwards)."""
    per = max(1, n_records // n_customers)
    for i in range(n_customers):
        rep = rep_ids[i % len(rep_ids)]
        last = _latest_touch(i)
        for k in range(per):
            at = last - timedelta(days=7 * k)
            nxt: date = at.astimezone(TZ).date() + timedelta(days=1 + (i + k) % 12)  # overdue, today or ahead
            yield (TYPES[(i + k) % len(TYPES)], f"C{i:06d}", rep, "拜访", nxt.isoformat(), "[]", "[]", "[]",
                   "confirmed", 0.9, ts(at), ts(at))


def chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def build(path: Path, reps: int, n_customers: int, n_records: int) -> float:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.migrate()  # the real schema and indexes, via Alembic
    await db.close()
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    person_rows, rep_ids = people(reps)
    with con:
        con.executemany("INSERT INTO person (id, name, role, supervisor_id, region, active, created_at) "
                        "VALUES (?,?,?,?,?,?,?)", person_rows)
        con.executemany("INSERT INTO identity (platform, external_id, person_id) VALUES ('local', ?, ?)",
                        [(str(r[0]), r[0]) for r in person_rows])
        for batch in chunks(customers(n_customers, rep_ids)):
            con.executemany("INSERT INTO customer (id, name, aliases, address, stage, owner_id, created_at, "
                            "last_action_at) VALUES (?,?,?,?,?,?,?,?)", batch)
        for batch in chunks(records(n_records, n_customers, rep_ids)):
            con.executemany("INSERT INTO action_record (type, customer_id, rep_id, text, next_touch, needs, tags, "
                            "evidence, status, confidence, created_at, confirmed_at) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", batch)
    con.execute("ANALYZE")
    con.close()
    return time.perf_counter() - t0


PG_TABLES: list[tuple[str, list[str]]] = [
    ("person", ["id", "name", "role", "supervisor_id", "region", "active", "created_at"]),
    ("identity", ["platform", "external_id", "person_id"]),
    ("customer", ["id", "name", "aliases", "address", "stage", "owner_id", "created_at", "last_action_at"]),
    ("action_record", ["type", "customer_id", "rep_id", "text", "next_touch", "needs", "tags", "evidence", "status",
                       "confidence", "created_at", "confirmed_at"]),
]


async def _copy(conn: Any, name: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
    """COPY in CSV chunks (NULL written as \\N, so an empty address stays an empty string)."""
    for batch in chunks(rows):
        buf = io.StringIO()
        out = csv.writer(buf)
        for r in batch:
            out.writerow(["\\N" if v is None else v for v in r])
        await conn.copy_to_table(name, source=io.BytesIO(buf.getvalue().encode()), columns=columns, format="csv",
                                 null="\\N")


async def build_pg(url: str, reps: int, n_customers: int, n_records: int) -> float:
    """The same rows as ``build``, into a migrated PostgreSQL database."""
    import asyncpg

    t0 = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        person_rows, rep_ids = people(reps)
        sources: list[Iterator[tuple[Any, ...]]] = [
            iter(person_rows), iter([("local", str(r[0]), r[0]) for r in person_rows]),
            customers(n_customers, rep_ids), records(n_records, n_customers, rep_ids)]
        for (name, columns), rows in zip(PG_TABLES, sources, strict=True):
            await _copy(conn, name, columns, rows)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - t0


async def morning(path: Path, url: str = "") -> tuple[float, int, int]:
    """Time the real job as the scheduler runs it; returns (seconds, rep cards, all cards queued)."""
    cfg = config_from_dict({
        "database": {"url": url or f"sqlite+aiosqlite:///{path}"},
        "channels": {"local": {"enabled": True, "media_dir": str(path.parent / "media")}},
        "logging": {"level": "WARNING"},
    })
    service = Service(cfg, clock=FixedClock(AT), scheduler=False)
    try:
        t0 = time.perf_counter()
        summary = await service.scheduler.run("morning_must_do", AT)
        elapsed = time.perf_counter() - t0
        async with service.db.session() as s:
            rep_cards = (await s.execute(select(func.count()).select_from(Card).where(col(Card.kind) == "must_do"))).scalar_one()
            queued = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
        if "失败" in summary:
            raise RuntimeError(summary)
        return elapsed, int(rep_cards), int(queued)
    finally:
        await service.db.close()


async def one(tmp: Path, label: str, reps: int, n_customers: int, n_records: int, pg: Postgres | None = None) -> float:
    path = tmp / f"{label}.db"
    url = pg.create_database() if pg else ""
    built = await (build_pg(url, reps, n_customers, n_records) if url else build(path, reps, n_customers, n_records))
    elapsed, rep_cards, queued = await morning(path, url)
    if pg:
        pg.drop_database(url)
    if rep_cards != reps:
        raise RuntimeError(f"expected {reps} morning cards, got {rep_cards}")
    print(f"{n_records:>9,} records: data built in {built:5.1f} s; morning run {elapsed:6.2f} s "
          f"({rep_cards:,} rep cards + {queued - rep_cards:,} boards queued, {rep_cards / elapsed:,.0f} cards/s)",
          flush=True)
    return elapsed


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--small", type=int, default=200_000, help="action records in the first run")
    ap.add_argument("--large", type=int, default=2_000_000, help="action records in the second run")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("SQLite:", flush=True)
        small = await one(tmp, "small", args.reps, args.customers, args.small)
        (tmp / "small.db").unlink()
        large = await one(tmp, "large", args.reps, args.customers, args.large)
        (tmp / "large.db").unlink()
        print(f"ratio large/small: {large / small:.2f}  (target ≤ 1.5)   {args.reps:,} cards in {large:.1f} s "
              f"(target < 60 s)", flush=True)
        if args.no_postgres:
            return
        with Postgres.from_env(durable=True) as pg:
            print("PostgreSQL:", flush=True)
            pg_small = await one(tmp, "pg-small", args.reps, args.customers, args.small, pg)
            pg_large = await one(tmp, "pg-large", args.reps, args.customers, args.large, pg)
        print(f"ratio large/small: {pg_large / pg_small:.2f}  (target ≤ 1.5)   {args.reps:,} cards in {pg_large:.1f} s "
              f"(target ≤ 10 s)")


if __name__ == "__main__":
    asyncio.run(main())
