"""Scheduled jobs: a name, a schedule, and the handler they trigger; runs are claimed in job_run.

The claim is an INSERT on (job, local date, scope) with a unique key, so a restart or a second
process never repeats a run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.context import Context
from storage.models import JobRun
from storage.upsert import insert_ignore

JobFn = Callable[[Context], Awaitable[str]]  # returns a one-line summary


@dataclass(frozen=True)
class Job:
    name: str
    label: str  # shown in the admin panel (Chinese)
    schedule: str  # human description, e.g. "工作日 08:45"
    run: JobFn


class Registry:
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        self.jobs[job.name] = job

    def get(self, name: str) -> Job | None:
        return self.jobs.get(name)


async def claim(session: AsyncSession, job: str, local_date: date, scope: str, ctx: Context) -> bool:
    """True for the first claimant of (job, local date, scope); everybody else gets False."""
    return await insert_ignore(
        session, JobRun, {"job": job, "local_date": local_date, "scope": scope, "status": "running",
                          "started_at": ctx.now(), "detail": {}},
    )
