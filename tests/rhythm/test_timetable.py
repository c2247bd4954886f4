"""Timetables beyond "every workday": weekly (FRI 18:00) and monthly slots, read from text."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.service import Service
from handlers.context import Context
from scheduler.registry import Timetable, unit_job
from tests.rhythm.conftest import at


def test_parse_daily_weekly_monthly() -> None:
    assert Timetable.parse("08:45") == Timetable((time(8, 45),))
    assert Timetable.parse("FRI 18:00").weekdays == (4,)
    assert Timetable.parse("mon,thu 09:00").weekdays == (0, 3)
    assert Timetable.parse("MON-FRI 08:45").weekdays == (0, 1, 2, 3, 4)
    assert Timetable.parse("MONTHLY 1 09:00").monthdays == (1,)
    assert Timetable.parse("MONTHLY -1 17:00").monthdays == (-1,)
    for bad in ("FRY 18:00", "18h00", "MONTHLY 0 09:00", "MONTHLY 32 09:00", "FRI SAT 18:00", ""):
        with pytest.raises(ValueError):
            Timetable.parse(bad)


def test_runs_on_weekday_and_month_days() -> None:
    friday = Timetable.parse("FRI 18:00")
    assert friday.runs_on(date(2026, 11, 27)) and not friday.runs_on(date(2026, 11, 26))
    last = Timetable.parse("MONTHLY -1 17:00")
    assert last.runs_on(date(2026, 11, 30)) and last.runs_on(date(2027, 2, 28)) and not last.runs_on(date(2026, 11, 29))
    assert last.runs_on(date(2028, 2, 29)) and not last.runs_on(date(2028, 2, 28))


async def test_weekly_job_is_due_only_on_its_day(service: Service) -> None:
    ran: list[str] = []

    async def units(ctx: Context) -> list[str]:
        return ["org"]

    async def unit(ctx: Context, scope: str) -> int:
        ran.append(ctx.today().isoformat())
        return 0

    service.jobs.add(unit_job("weekly_radar_test", "周报测试", "周五 18:00", units, unit,
                              Timetable.parse("FRI 18:00", cutoff=time(23, 0))))
    await service.db.migrate()
    assert "weekly_radar_test" not in await service.scheduler.run_due(at(date(2026, 11, 26), 18, 30))  # Thursday
    assert "weekly_radar_test" not in await service.scheduler.run_due(at(date(2026, 11, 27), 17, 59))  # too early
    assert "weekly_radar_test" in await service.scheduler.run_due(at(date(2026, 11, 27), 18, 30))
    await service.scheduler.run_due(at(date(2026, 11, 27), 19, 0))  # asked again: the run is claimed
    assert ran == ["2026-11-27"]
    await service.db.close()
