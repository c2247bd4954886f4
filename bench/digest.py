"""The 18:30 digest at scale: one manager over 500 reps (50 supervisors), 5,000 customers, with 200,000 and then
2,000,000 action records.

The data comes from ``bench.morning``'s builders (history grows backwards: the extra records are older, as a
longer-running org's would be), plus three chosen must-dos per rep today. Then the manager's real digest card
(``send_digest``: subtree, today's must-dos, funnel, every KPI over the 30-day window, risks, card + outbox
row) is built and queued, alternating between the two datasets (load from other processes hits both alike),
best of ``--repeat`` runs each. The ratio shows whether the cost grows with history (target ≤ 1.5): every
query is bounded by the window through an index.

Run: ``.venv/bin/python -m bench.digest [--reps 500] [--customers 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.morning import AT, TODAY, build
from bot.capabilities import report_rules_from
from bot.config import config_from_dict
from bot.service import Service
from handlers.clock import FixedClock
from handlers.reports.capability import digest_of, send_digest
from storage.models import Person

DIGEST_AT = AT.replace(hour=18, minute=30)
MANAGER_ID = 1  # bench.morning.people(): the manager is person 1, every supervisor reports to them


def must_dos(path: Path, first_rep: int, reps: int) -> None:
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO must_do (rep_id, local_date, rank, source, title, chosen, auto, status, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [(rep, TODAY.isoformat(), rank, "custom", "回访", 1, 0, ("done", "open", "red")[(rep + rank) % 3],
              "2026-11-24 00:45:00.000000") for rep in range(first_rep, first_rep + reps) for rank in range(3)])
    con.close()


class Org:
    """One built dataset and a service on it; ``once()`` builds and queues the manager's digest, then rolls back."""

    def __init__(self, path: Path) -> None:
        cfg = config_from_dict({
            "database": {"url": f"sqlite+aiosqlite:///{path}"},
            "channels": {"local": {"enabled": True, "media_dir": str(path.parent / "media")}},
            "logging": {"level": "WARNING"},
        })
        self.rules = report_rules_from(cfg)
        self.service = Service(cfg, clock=FixedClock(DIGEST_AT), scheduler=False)
        self.best = float("inf")

    async def once(self) -> None:
        async with self.service.db.write() as s:
            ctx = self.service.context("bench", s, FixedClock(DIGEST_AT))
            t0 = time.perf_counter()
            await send_digest(ctx, self.rules, await ctx.person(MANAGER_ID))
            self.best = min(self.best, time.perf_counter() - t0)
            await s.rollback()  # the next run measures the same work

    async def shown(self) -> str:
        async with self.service.db.session() as s:
            d = await digest_of(self.service.context("show", s, FixedClock(DIGEST_AT)), self.rules,
                                await s.get_one(Person, MANAGER_ID))
        return f"{d.reps} reps, must-dos {d.must_done}/{d.must_chosen}, completeness {d.kpis[3].shown()}"


async def built(tmp: Path, label: str, reps: int, n_customers: int, n_records: int) -> Org:
    path = tmp / f"{label}.db"
    took = await build(path, reps, n_customers, n_records)
    must_dos(path, 2 + max(1, reps // 10), reps)
    print(f"{n_records:>9,} records: data built in {took:5.1f} s", flush=True)
    return Org(path)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--small", type=int, default=200_000, help="action records in the first dataset")
    ap.add_argument("--large", type=int, default=2_000_000, help="action records in the second dataset")
    ap.add_argument("--repeat", type=int, default=15, help="digests per dataset, alternating; the best is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        small = await built(tmp, "small", args.reps, args.customers, args.small)
        large = await built(tmp, "large", args.reps, args.customers, args.large)
        try:
            for _ in range(args.repeat):  # alternating, so load from other processes hits both alike
                await small.once()
                await large.once()
            for org, n in ((small, args.small), (large, args.large)):
                print(f"{n:>9,} records: manager's digest {org.best * 1000:7.1f} ms ({await org.shown()})")
        finally:
            await small.service.db.close()
            await large.service.db.close()
    print(f"ratio large/small: {large.best / small.best:.2f}  (target ≤ 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
