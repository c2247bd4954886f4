"""Scheduled jobs: a name, a schedule, and the handler they trigger; runs are claimed in job_run.

The claim is an INSERT on (job, local date, scope) with a unique key, so a restart or a second
process never repeats a run. Jobs that address many people split into *units* (one rep, one
supervisor, one card): each unit is claimed in the same transaction as the cards it queues, so a
crash half-way leaves the finished units claimed and the rest still to do, and two nodes share the
work without doubling any of it.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.context import Context
from storage.models import JobRun
from storage.upsert import insert_ignore, insert_ignore_stmt

JobFn = Callable[[Context], Awaitable[str]]  # returns a one-line summary
UnitsFn = Callable[[Context], Awaitable[list[str]]]  # the scopes a run covers, e.g. ["rep:4", "rep:5"]
UnitFn = Callable[[Context, str], Awaitable[int]]  # handles one scope; returns how many cards it queued
# Handles many claimed units in one go (bulk statements): unit → the outbox key prefix it must use.
BatchFn = Callable[[Context, dict[str, str]], Awaitable[int]]


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Timetable:
    """When the scheduler fires a job: local times in the org's zone, on workdays only by default.

    ``weekdays`` (0 = Monday) and ``monthdays`` (1…31, -1 = the month's last day) narrow the days:
    the weekly radar is ``Timetable.parse("FRI 18:00")``, a monthly report ``parse("MONTHLY 1 09:00")``.
    A missed run is caught up while the clock is before ``cutoff`` (daily jobs) or before the next
    slot / ``times[-1] + every`` (jobs with several slots a day)."""

    times: tuple[time, ...]
    cutoff: time | None = None
    every: timedelta | None = None
    workdays_only: bool = True
    weekdays: tuple[int, ...] | None = None
    monthdays: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, text: str, *, cutoff: time | None = None, workdays_only: bool | None = None) -> Timetable:
        """``"08:45"`` (daily), ``"FRI 18:00"``, ``"MON,THU 09:00"``, ``"MON-FRI 08:45"``, ``"MONTHLY 1 09:00"``,
        ``"MONTHLY -1 17:00"``; raises ValueError naming what it could not read. Daily slots skip
        non-workdays by default; weekly and monthly ones run on their day unless told otherwise."""
        parts = text.strip().upper().split()
        try:
            at = time.fromisoformat(parts[-1])
        except (IndexError, ValueError):
            raise ValueError(f"{text!r}: expected a time HH:MM at the end") from None
        head = parts[:-1]
        if not head:
            return cls((at,), cutoff=cutoff, workdays_only=workdays_only is not False)
        workdays_only = bool(workdays_only)
        if head[0] == "MONTHLY" and len(head) == 2:
            days = tuple(int(d) for d in head[1].split(","))
            if any(d == 0 or not -1 <= d <= 31 for d in days):
                raise ValueError(f"{text!r}: month days are 1…31 or -1 (the last day)")
            return cls((at,), cutoff=cutoff, workdays_only=workdays_only, monthdays=days)
        if len(head) == 1:
            return cls((at,), cutoff=cutoff, workdays_only=workdays_only, weekdays=_weekdays(head[0], text))
        raise ValueError(f"{text!r}: expected 'HH:MM', 'FRI HH:MM' or 'MONTHLY D HH:MM'")

    def runs_on(self, day: date) -> bool:
        """The weekday / month-day filter (the workday calendar is the scheduler's, checked separately)."""
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        if self.monthdays is not None:
            last = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
            if not any(d == day.day or (d == -1 and day.day == last) for d in self.monthdays):
                return False
        return True


def _weekdays(spec: str, text: str) -> tuple[int, ...]:
    out: list[int] = []
    for piece in spec.split(","):
        lo, _, hi = piece.partition("-")
        if lo not in WEEKDAYS or (hi and hi not in WEEKDAYS):
            raise ValueError(f"{text!r}: weekdays are MON TUE WED THU FRI SAT SUN")
        a, b = WEEKDAYS.index(lo), WEEKDAYS.index(hi or lo)
        out += list(range(a, b + 1))
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class Job:
    name: str
    label: str  # shown in the admin panel (Chinese)
    schedule: str  # human description, e.g. "工作日 08:45"
    run: JobFn
    timetable: Timetable | None = None  # None: only run by hand (admin panel, `actionflow jobs run`)
    units: UnitsFn | None = None
    run_unit: UnitFn | None = None
    run_batch: BatchFn | None = None  # optional fast path for jobs addressing thousands of people


class Registry:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        self.jobs[job.name] = job

    def get(self, name: str) -> Job | None:
        return self.jobs.get(name)


async def claim(session: AsyncSession, job: str, local_date: date, scope: str, ctx: Context,
                status: str = "running", detail: dict[str, Any] | None = None) -> bool:
    """True for the first claimant of (job, local date, scope); everybody else gets False.

    Pass ``status="done"`` when the claim commits together with the work it stands for."""
    return await insert_ignore(
        session, JobRun, {"job": job, "local_date": local_date, "scope": scope, "status": status,
                          "started_at": ctx.now(), "finished_at": ctx.now() if status == "done" else None,
                          "detail": detail or {}},
    )


async def claim_many(session: AsyncSession, job: str, local_date: date, scopes: list[str], ctx: Context) -> list[str]:
    """Claim many scopes with one multi-row insert; returns the ones this call won, in order.

    Rows carry a random run token, so after ``INSERT … DO NOTHING`` a read-back tells our claims from
    another node's (whose insert either committed before ours or made ours wait until it did)."""
    if not scopes:
        return []
    token = secrets.token_hex(8)
    now = ctx.now()
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    await session.execute(insert_ignore_stmt(dialect, JobRun), [
        {"job": job, "local_date": local_date, "scope": s, "status": "done", "started_at": now, "finished_at": now,
         "detail": {"run": token}} for s in scopes])
    got = await session.execute(select(col(JobRun.scope), col(JobRun.detail)).where(
        col(JobRun.job) == job, col(JobRun.local_date) == local_date, col(JobRun.scope).in_(scopes)))
    ours = {scope for scope, detail in got if (detail or {}).get("run") == token}
    return [s for s in scopes if s in ours]


def unit_job(name: str, label: str, schedule: str, units: UnitsFn, run_unit: UnitFn,
             timetable: Timetable | None = None, run_batch: BatchFn | None = None) -> Job:
    """A job split into claimed units. Its ``run`` does every unclaimed unit inside the caller's one
    transaction (fine for a small org); the Scheduler batches units over several transactions."""

    async def run(ctx: Context) -> str:
        day = ctx.today()
        done = skipped = cards = 0
        for unit in await units(ctx):
            if not await claim(ctx.session, name, day, unit, ctx, status="done"):
                skipped += 1
                continue
            cards += await run_unit(replace(ctx, key_prefix=f"{ctx.key_prefix}:{unit}"), unit)
            done += 1
        return summary(label, done, skipped, cards)

    return Job(name=name, label=label, schedule=schedule, run=run, timetable=timetable, units=units,
               run_unit=run_unit, run_batch=run_batch)


def summary(label: str, done: int, skipped: int, cards: int, failed: int = 0) -> str:
    text = f"{label}：处理 {done} 项，发出 {cards} 张卡片"
    if skipped:
        text += f"，{skipped} 项此前已处理"
    if failed:
        text += f"，{failed} 项失败（稍后重试）"
    return text
