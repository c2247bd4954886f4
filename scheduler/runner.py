"""The Scheduler: APScheduler cron triggers in the org's zone, workday checks, claimed batches, catch-up.

Time has one source, the injected clock. A trigger does not carry "the 08:45 run"; it asks "what is
due now?" (``run_due``), the same question start-up catch-up asks and tests ask after travelling in
time. Because every unit of every run is claimed in ``job_run``, asking twice — from a restart, a
second node, or a trigger that fires while catch-up runs — does nothing the second time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.metrics import JOB_RUNS
from handlers.clock import Clock, FixedClock
from handlers.context import Context
from scheduler.registry import Job, Registry, claim_many, summary
from scheduler.workdays import Workdays
from storage.db import Database
from storage.models import JobRun
from storage.upsert import insert_ignore

log = logging.getLogger("actionflow.scheduler")

ContextFactory = Callable[[str, AsyncSession, Clock], Context]
BATCH = 200  # units per transaction: short write locks, few commits
DONE = "*"  # scope of the marker row written when every unit of a run finished


class Scheduler:
    def __init__(self, db: Database, registry: Registry, clock: Clock, make_context: ContextFactory,
                 tz: ZoneInfo, workdays: Workdays, on_run: Callable[[], None] | None = None,
                 batch: int = BATCH) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.make_context = make_context
        self.tz = tz
        self.workdays = workdays
        self.on_run = on_run
        self.batch = batch
        self._aps: AsyncIOScheduler | None = None
        self.catch_up_task: asyncio.Task[dict[str, str]] | None = None

    # ---- life cycle ----------------------------------------------------------------------------
    async def start(self, catch_up: bool = True) -> None:
        """Arm one cron trigger per (job, local time), then catch up what was missed while down."""
        self._aps = AsyncIOScheduler(timezone=self.tz)
        for job in self.registry.jobs.values():
            if job.timetable is None:
                continue
            tt = job.timetable
            days: dict[str, str] = {}  # the trigger only wakes us; slot() decides (incl. "last day of month")
            if tt.weekdays is not None:
                days["day_of_week"] = ",".join(str(d) for d in tt.weekdays)
            if tt.monthdays is not None:
                days["day"] = ",".join("last" if d == -1 else str(d) for d in tt.monthdays)
            for t in tt.times:
                self._aps.add_job(self._fire, CronTrigger(hour=t.hour, minute=t.minute, timezone=self.tz, **days),
                                  args=[job.name], id=f"{job.name}@{t:%H%M}", coalesce=True, max_instances=1,
                                  misfire_grace_time=300, replace_existing=True)
        self._aps.start()
        if catch_up:
            self.catch_up_task = asyncio.create_task(self.run_due())
        log.info("scheduler started", extra={"jobs": ",".join(self.registry.jobs)})

    async def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None
        if self.catch_up_task is not None:
            self.catch_up_task.cancel()
            await asyncio.gather(self.catch_up_task, return_exceptions=True)
            self.catch_up_task = None

    def alive(self) -> bool:
        """The timers are armed and APScheduler's loop is running."""
        return self._aps is not None and self._aps.running

    def next_runs(self) -> dict[str, datetime | None]:
        """Each armed trigger's next fire time (for ``jobs list`` and logs)."""
        if self._aps is None:
            return {}
        return {j.id: j.next_run_time for j in self._aps.get_jobs()}

    async def _fire(self, name: str) -> None:
        try:
            await self.run_due(only=name)
        except Exception:  # a failing run must not kill the trigger; the next ask retries unclaimed units
            log.exception("scheduled run failed", extra={"job": name})

    # ---- what is due ---------------------------------------------------------------------------
    def slot(self, job: Job, local: datetime) -> time | None:
        """The slot a run at ``local`` belongs to, or None (not a workday, too early, past the cut-off)."""
        tt = job.timetable
        if tt is None or (tt.workdays_only and not self.workdays.is_workday(local.date())):
            return None
        if not tt.runs_on(local.date()):
            return None
        now = local.time().replace(tzinfo=None)
        past = [t for t in tt.times if t <= now]
        if not past:
            return None
        current = max(past)
        if tt.cutoff is not None:
            limit = tt.cutoff
        else:
            later = [t for t in tt.times if t > current]
            step = datetime.combine(local.date(), current) + (tt.every or timedelta(hours=1))
            limit = later[0] if later else (step.time() if step.date() == local.date() else time.max)
        return current if now < limit else None

    async def run_due(self, at: datetime | None = None, only: str | None = None) -> dict[str, str]:
        """Run every job whose slot has come and whose cut-off has not passed, earliest slot first."""
        at = at or self.clock.now()
        local = at.astimezone(self.tz)
        due = []
        for job in self.registry.jobs.values():
            if only is not None and job.name != only:
                continue
            s = self.slot(job, local)
            if s is not None:
                due.append((s, job))
        out = {}
        for s, job in sorted(due, key=lambda pair: pair[0]):
            out[job.name] = await self.run(job.name, at, slot=s)
        return out

    # ---- one run -------------------------------------------------------------------------------
    async def run(self, name: str, at: datetime | None = None, *, slot: time | None = None,
                  force: bool = False) -> str:
        """Run one job as of ``at``. ``force`` (admin, CLI) skips the calendar and the "already ran"
        marker, but never a unit's claim: what was sent today is not sent again."""
        job = self.registry.get(name)
        if job is None:
            raise KeyError(name)
        at = at or self.clock.now()
        local = at.astimezone(self.tz)
        day = local.date()
        tag = self._tag(job, slot, local)
        run_clock = FixedClock(at)  # every unit of a run sees the same "now"
        prefix = f"job:{name}:{day.isoformat()}"
        if not force and await self._finished(name, day, DONE + tag):
            return f"{job.label}：今天已运行过"
        async with self.db.session() as s:
            ctx = self.make_context(prefix, s, run_clock)
            units = await job.units(ctx) if job.units is not None else ["org"]
        done = skipped = cards = failed = 0
        for i in range(0, len(units), self.batch):
            chunk = units[i: i + self.batch]
            try:
                d, sk, c = await self._batch(job, day, tag, chunk, run_clock, prefix)
            except Exception:
                log.exception("job batch failed; retrying its units one by one", extra={"job": name})
                d = sk = c = 0
                for unit in chunk:
                    try:
                        d1, sk1, c1 = await self._batch(job, day, tag, [unit], run_clock, prefix)
                        d, sk, c = d + d1, sk + sk1, c + c1
                    except Exception:
                        failed += 1
                        log.exception("job unit failed", extra={"job": name, "scope": unit + tag})
            done, skipped, cards = done + d, skipped + sk, cards + c
        if not failed:
            async with self.db.write() as s:
                await insert_ignore(s, JobRun, {"job": name, "local_date": day, "scope": DONE + tag, "status": "done",
                                                "started_at": at, "finished_at": self.clock.now(),
                                                "detail": {"units": done, "skipped": skipped, "cards": cards}})
        if cards and self.on_run is not None:
            self.on_run()
        text = summary(job.label, done, skipped, cards, failed)
        JOB_RUNS.labels(name, "failed" if failed else "done").inc()
        log.info("job run", extra={"job": name, "local_date": day.isoformat(), "scope": tag or "day",
                                   "units": done, "skipped": skipped, "cards": cards, "failed": failed})
        return text

    async def _batch(self, job: Job, day: date, tag: str, units: list[str], clock: Clock,
                     prefix: str) -> tuple[int, int, int]:
        """One transaction: claim the units and do their work; the claims and the queued cards commit together."""
        cards = 0
        async with self.db.write() as s:
            ctx = self.make_context(prefix, s, clock)
            won = set(await claim_many(s, job.name, day, [u + tag for u in units], ctx))
            mine = {u: f"{prefix}:{u}{tag}" for u in units if u + tag in won}
            if job.run_batch is not None:
                cards = await job.run_batch(ctx, mine)
            else:
                for unit, key_prefix in mine.items():
                    unit_ctx = self.make_context(key_prefix, s, clock)
                    cards += await job.run_unit(unit_ctx, unit) if job.run_unit is not None else 0
                    if job.run_unit is None:
                        await job.run(unit_ctx)
        return len(mine), len(units) - len(mine), cards

    def _tag(self, job: Job, slot: time | None, local: datetime) -> str:
        """Claims of a job with several slots a day carry the slot; a forced run outside any slot, its minute."""
        tt = job.timetable
        if tt is None or len(tt.times) <= 1:
            return ""
        return f"@{(slot or local.time()):%H%M}"

    async def _finished(self, name: str, day: date, scope: str) -> bool:
        async with self.db.session() as s:
            q = select(col(JobRun.id)).where(col(JobRun.job) == name, col(JobRun.local_date) == day, col(JobRun.scope) == scope)
            return (await s.execute(q)).first() is not None
