"""查重 at scale: matching a lead against 2,000 and then 200,000 customers (each with two contacts).

Each book is bulk-inserted into a migrated SQLite database (stdlib ``executemany``, keys computed with the
same ``storage.customer_keys`` functions the flush listener uses); then ``handlers.leads.find_existing``
answers 300 leads (a third by name, a third by phone, a third new). The ratio of the two books' times shows
whether matching grows with the book (target ≈ 1); the last line is the old way for comparison — reading
every customer's names, measured in the same run on the small book (it grows linearly with the book).

Run: ``.venv/bin/python -m bench.dedupe [--small 2000] [--big 200000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.leads import find_existing
from storage.customer_keys import norm_name, phone_key
from storage.db import Database
from storage.models import Customer
from tests.conftest import TZ

LEADS = 300
NOW = "2026-11-01 00:00:00.000000"


def book(path: Path, n: int) -> None:
    con = sqlite3.connect(path)
    cust = [(f"C{i:07d}", f"测试客户{i}有限公司", json.dumps([f"客户{i}"], ensure_ascii=False), "", "初步接触", NOW)
            for i in range(n)]
    con.executemany("INSERT INTO customer (id, name, aliases, address, stage, created_at) VALUES (?,?,?,?,?,?)", cust)
    phones = [(f"C{i:07d}", "联系人", f"139{i:08d}") for i in range(n)] + \
             [(f"C{i:07d}", "采购", f"0510-{i:08d}") for i in range(n)]
    con.executemany("INSERT INTO contact (customer_id, name, phone) VALUES (?,?,?)", phones)
    keys = [(c, "name", norm_name(name)) for c, name, *_ in cust] + [(c, "name", f"客户{c[1:].lstrip('0') or 0}")
                                                                      for c, *_ in cust]
    keys += [(c, "phone", k) for c, _, p in phones if (k := phone_key(p)) is not None]
    con.executemany("INSERT OR IGNORE INTO customer_key (customer_id, kind, key) VALUES (?,?,?)", keys)
    con.commit()
    con.close()


def leads(n: int) -> list[tuple[str, str | None]]:
    step = max(1, n // LEADS)
    out: list[tuple[str, str | None]] = []
    for j in range(LEADS):
        i = (j * step) % n
        out.append([(f"测试客户{i}有限公司", None), (f"新名字{j}", f"+86 139{i:08d}"), (f"全新公司{j}", "13700000000")][j % 3])
    return out


async def timed(url: str, n: int, old_way: bool = False, count: int = LEADS) -> tuple[float, int]:
    """Seconds per lead (best of two passes: the first also warms the statement cache) and the hits."""
    best, hits = float("inf"), 0
    for _ in range(2):
        took, hits = await _pass(url, n, old_way, count)
        best = min(best, took / count)
    return best, hits


async def _pass(url: str, n: int, old_way: bool, count: int) -> tuple[float, int]:
    db = Database(url)
    hits = 0
    start = time.perf_counter()
    async with db.session() as s:
        ctx = Context(session=s, clock=FixedClock(datetime(2026, 11, 24, 10, 0, tzinfo=TZ)), settings=Settings(), key_prefix="bench")
        for company, phone in leads(n)[:count]:
            if old_way:  # what 查重 did before the keys: read every customer, compare names in Python
                want = norm_name(company)
                found = next((c for c in (await s.execute(select(Customer))).scalars()
                              if want == norm_name(c.name) or any(want == norm_name(a) for a in c.aliases)), None)
            else:
                found = await find_existing(ctx, company, phone)
            hits += found is not None
            s.expunge_all()
    took = time.perf_counter() - start
    await db.close()
    return took, hits


async def main(small: int, big: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for n in (small, big):
            path = Path(tmp) / f"book{n}.db"
            db = Database(f"sqlite+aiosqlite:///{path}")
            await db.migrate()
            await db.close()
            book(path, n)
            took, hits = await timed(f"sqlite+aiosqlite:///{path}", n)
            times[n] = took
            print(f"{n:>7} customers: {took * 1e6:.0f} µs per lead ({hits} of {LEADS} found)")
        print(f"ratio {big} / {small} customers: {times[big] / times[small]:.2f} (target ≈ 1)")
        old, _ = await timed(f"sqlite+aiosqlite:///{Path(tmp) / f'book{small}.db'}", small, old_way=True, count=15)
        print(f"old way (read every customer) on {small}: {old * 1e6:.0f} µs per lead, {old / times[small]:.0f}× the "
              "keys; it grows with the book")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--big", type=int, default=200_000)
    a = ap.parse_args()
    asyncio.run(main(a.small, a.big))
