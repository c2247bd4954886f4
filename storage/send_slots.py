"""Rate-limit budgets shared by every sender process of one PostgreSQL (table ``send_slot``).

A sender locks its recipients' budgets with transaction-scoped advisory locks (in one fixed order,
so two senders never deadlock), reads their recent slots, plans, writes the slots it took and
commits, which releases the locks. Two senders wanting the same recipient therefore take turns, and
each sees the other's sends. Times are the database's clock, the one clock every node shares.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SendSlot
from storage.upsert import table

_T = table(SendSlot)
_LOCK = text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k")
_NOW = text("SELECT extract(epoch FROM clock_timestamp())")
_RECENT = (
    select(_T.c.key, _T.c.at)
    .where(_T.c.platform == bindparam("b_platform"), _T.c.key.in_(bindparam("b_keys", expanding=True)),
           _T.c.at > bindparam("b_since"))
    .order_by(_T.c.at)
)
_EXPIRE = delete(_T).where(_T.c.platform == bindparam("b_platform"), _T.c.at <= bindparam("b_before"))


def lock_id(platform: str, key: str) -> int:
    """A stable signed 64-bit advisory lock id for one budget (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(f"budget:{platform}:{key}".encode(), digest_size=8).digest(), "big",
                          signed=True)


async def lock(session: AsyncSession, budgets: Iterable[tuple[str, str]]) -> float:
    """Hold the (platform, key) budgets until this transaction ends; returns the database's time (s)."""
    ids = sorted({lock_id(p, k) for p, k in budgets})
    if ids:
        await session.execute(_LOCK, {"keys": ids})
    return float((await session.execute(_NOW)).scalar_one())


async def recent(session: AsyncSession, platform: str, keys: list[str], since: float) -> dict[str, list[float]]:
    """The slots taken after ``since`` by key, oldest first."""
    out: dict[str, list[float]] = defaultdict(list)
    if keys:
        for key, at in await session.execute(_RECENT, {"b_platform": platform, "b_keys": keys, "b_since": since}):
            out[key].append(at)
    return out


async def take(session: AsyncSession, platform: str, slots: list[tuple[str, float]], expired_before: float) -> None:
    """Record the slots a plan took, and forget this platform's slots no budget looks at any more."""
    await session.execute(_EXPIRE, {"b_platform": platform, "b_before": expired_before})
    if slots:
        await session.execute(insert(_T), [{"platform": platform, "key": k, "at": at} for k, at in slots])
