"""The 18:30 digest at scale: one manager over 500 reps (50 supervisors), 5,000 customers, with 200,000 and then
2,000,000 action records.

The data comes from ``bench.morning``'s builders (history grows backwards: the extra records are older, as a
longer-running org's would be), plus three chosen must-dos per rep today. Then the manager's real digest card
(``send_digest``: subtree, today's must-dos, funnel, every KPI over the 30-day window, risks, card + outbox
row) is built and queued, best of ``--repeat`` runs. The ratio of the two times shows whether the cost grows
with history (target ≤ 1.5): every query is bounded by the window through an index.

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
from handlers.reports.capability import send_digest

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


async def digest(path: Path, repeat: int) -> tuple[float, str]:
    cfg = config_from_dict({
        "database": {"url": f"sqlite+aiosqlite:///{path}"},
        "channels": {"local": {"enabled": True, "media_dir": str(path.parent / "media")}},
        "logging": {"level": "WARNING"},
    })
    rules = report_rules_from(cfg)
    service = Service(cfg, clock=FixedClock(DIGEST_AT), scheduler=False)
    best = float("inf")
    try:
        for i in range(repeat):
            async with service.db.write() as s:
                ctx = service.context(f"bench:{path.stem}:{i}", s, FixedClock(DIGEST_AT))
                t0 = time.perf_counter()
                await send_digest(ctx, rules, await ctx.person(MANAGER_ID))
                best = min(best, time.perf_counter() - t0)
                await s.rollback()  # the next run measures the same work
        async with service.db.session() as s:
            ctx = service.context("bench:show", s, FixedClock(DIGEST_AT))
            from handlers.reports.capability import digest_of

            d = await digest_of(ctx, rules, await ctx.person(MANAGER_ID))
        shown = f"{d.reps} reps, must-dos {d.must_done}/{d.must_chosen}, completeness {d.kpis[3].shown()}"
        return best, shown
    finally:
        await service.db.close()


async def one(tmp: Path, label: str, reps: int, n_customers: int, n_records: int, repeat: int) -> float:
    path = tmp / f"{label}.db"
    built = await build(path, reps, n_customers, n_records)
    must_dos(path, 2 + max(1, reps // 10), reps)
    elapsed, shown = await digest(path, repeat)
    print(f"{n_records:>9,} records: data built in {built:5.1f} s; manager's digest {elapsed * 1000:7.1f} ms ({shown})",
          flush=True)
    return elapsed


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--small", type=int, default=200_000, help="action records in the first run")
    ap.add_argument("--large", type=int, default=2_000_000, help="action records in the second run")
    ap.add_argument("--repeat", type=int, default=5, help="digests per dataset; the best time is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        small = await one(tmp, "small", args.reps, args.customers, args.small, args.repeat)
        (tmp / "small.db").unlink()
        large = await one(tmp, "large", args.reps, args.customers, args.large, args.repeat)
    print(f"ratio large/small: {large / small:.2f}  (target ≤ 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
