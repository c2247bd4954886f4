"""Who and when a report covers: a person's subtree of active reps, and a window of time.

A manager's report covers every active rep under them (through any number of supervisors); a rep's
covers the rep. The person table is small (an org, not its history), so the tree is walked in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Person, Role


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC, and the local dates it spans (for must-do rows, keyed by local date)."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    @classmethod
    def ending(cls, end: datetime, days: int, tz: ZoneInfo) -> Window:
        return cls(end - timedelta(days=days), end, tz)

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return self.end.astimezone(self.tz).date()


async def reps_under(session: AsyncSession, person_id: int) -> list[int]:
    """Active reps in the person's subtree (the person themself when a rep), in id order."""
    return await under(session, person_id, {Role.rep})


async def under(session: AsyncSession, person_id: int, roles: set[Role]) -> list[int]:
    """Active people of ``roles`` in the person's subtree (the person themself included), in id order."""
    rows: list[Any] = list((await session.execute(select(col(Person.id), col(Person.supervisor_id),
                                                         col(Person.role), col(Person.active)))).all())
    children: dict[int, list[int]] = {}
    role: dict[int, tuple[Role | None, bool]] = {pid: (r, active) for pid, _, r, active in rows}
    for pid, boss, _, _ in rows:
        if boss is not None:
            children.setdefault(boss, []).append(pid)
    out: list[int] = []
    seen: set[int] = set()
    stack: list[int] = [person_id]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue  # a cycle in bad data must not loop forever
        seen.add(pid)
        r, active = role.get(pid, (None, False))
        if r in roles and active:
            out.append(pid)
        stack += children.get(pid, [])
    return sorted(out)


async def is_above(session: AsyncSession, boss_id: int, rep_id: int) -> bool:
    """True when ``rep_id`` is in ``boss_id``'s subtree (a supervisor asking about a rep's radar)."""
    return boss_id != rep_id and rep_id in await reps_under(session, boss_id)
