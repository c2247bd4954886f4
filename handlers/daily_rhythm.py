"""The daily rhythm capability: morning must-dos, end-of-day reds and reasons, escalation, warnings.

Declares in one place its card kinds (with typed actions), its jobs and its subscriptions. Each job
lists its units (who it addresses) and handles one.

| job               | when (workdays)          | units            | does                                         |
|-------------------|--------------------------|------------------|----------------------------------------------|
| morning_must_do   | 08:45, catch-up to 11:00 | reps, then boards | proposals + card per rep; a board per supervisor |
| end_of_day        | 16:00, catch-up to 22:00 | reps with items  | open items turn red; reason card to the supervisor |
| reason_escalation | 17:00, catch-up to 23:00 | reason cards     | unanswered → next level, mark on the board   |
| warning_scan      | every 30 min 09:00–18:00 | the org          | stale leads, first contact, overdue touches  |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from handlers import must_do, reasons, warnings
from handlers.context import Context
from handlers.domain import RecordConfirmed
from handlers.event import Event
from handlers.rhythm import Calendar, Rules
from handlers.router import Capability
from scheduler.registry import Job, Timetable, unit_job
from storage.models import Person, Role


@dataclass(frozen=True)
class Times:
    morning: time = time(8, 45)
    morning_cutoff: time = time(11, 0)
    reason_card: time = time(16, 0)
    end_of_day_cutoff: time = time(22, 0)
    reason_deadline: time = time(17, 0)
    escalation_cutoff: time = time(23, 0)
    scan_start: time = time(9, 0)
    scan_end: time = time(18, 0)
    scan_every_min: int = 30

    def scan_times(self) -> tuple[time, ...]:
        out, t = [], datetime.combine(datetime.min.date(), self.scan_start)
        end = datetime.combine(datetime.min.date(), self.scan_end)
        while t <= end:
            out.append(t.time())
            t += timedelta(minutes=self.scan_every_min)
        return tuple(out)


def rhythm_jobs(rules: Rules, times: Times, calendar: Calendar) -> list[Job]:
    async def morning_units(ctx: Context) -> list[str]:
        return [f"rep:{i}" for i in await must_do.morning_reps(ctx)] + [
            f"board:{i}" for i in await must_do.board_supervisors(ctx)]

    async def morning_unit(ctx: Context, unit: str) -> int:
        kind, _, pid = unit.partition(":")
        if kind == "rep":
            return await must_do.send_morning(ctx, rules, int(pid))
        return await must_do.send_board(ctx, rules, int(pid))

    async def morning_batch(ctx: Context, units: dict[str, str]) -> int:
        reps = {int(u.partition(":")[2]): key for u, key in units.items() if u.startswith("rep:")}
        boards = {int(u.partition(":")[2]): key for u, key in units.items() if u.startswith("board:")}
        cards = await must_do.send_mornings(ctx, rules, reps) if reps else 0
        return cards + (await must_do.send_boards(ctx, rules, boards) if boards else 0)

    async def eod_units(ctx: Context) -> list[str]:
        return [f"rep:{i}" for i in await must_do.reps_with_items(ctx)]

    async def eod_unit(ctx: Context, unit: str) -> int:
        return await reasons.end_of_day(ctx, rules, int(unit.partition(":")[2]))

    async def escalation_units(ctx: Context) -> list[str]:
        return [f"card:{c}" for c in await reasons.open_reason_cards(ctx)]

    async def escalation_unit(ctx: Context, unit: str) -> int:
        return await reasons.escalate(ctx, unit.partition(":")[2])

    async def scan_units(ctx: Context) -> list[str]:
        return ["org"]

    async def scan_unit(ctx: Context, unit: str) -> int:
        return await warnings.scan(ctx, rules, calendar)

    hm = "%H:%M"
    return [
        unit_job("morning_must_do", "今日3件必做", f"工作日 {times.morning:{hm}}", morning_units, morning_unit,
                 Timetable((times.morning,), cutoff=times.morning_cutoff), run_batch=morning_batch),
        unit_job("end_of_day", "未完成转红 + 原因卡", f"工作日 {times.reason_card:{hm}}", eod_units, eod_unit,
                 Timetable((times.reason_card,), cutoff=times.end_of_day_cutoff)),
        unit_job("reason_escalation", "原因逾期升级", f"工作日 {times.reason_deadline:{hm}}", escalation_units,
                 escalation_unit, Timetable((times.reason_deadline,), cutoff=times.escalation_cutoff)),
        unit_job("warning_scan", "红黄灯预警",
                 f"工作日 {times.scan_start:{hm}}–{times.scan_end:{hm}} 每{times.scan_every_min}分钟",
                 scan_units, scan_unit,
                 Timetable(times.scan_times(), every=timedelta(minutes=times.scan_every_min))),
    ]


def capability(rules: Rules, times: Times, calendar: Calendar) -> Capability:
    cap = Capability("daily_rhythm")
    cap.card(must_do.KIND, *must_do.ACTIONS)(must_do.on_action)
    cap.card(reasons.KIND, *reasons.ACTIONS)(reasons.on_action)
    cap.card(warnings.KIND, *warnings.ACTIONS)(warnings.on_action)
    cap.on(RecordConfirmed)(must_do.record_confirmed)
    cap.on(RecordConfirmed)(warnings.record_confirmed)
    for job in rhythm_jobs(rules, times, calendar):
        cap.job(job)

    @cap.command("my_must_do", r"(我的)?(今日|今天)?(3件)?必做(清单)?", "我的必做 — 今天的必做清单",
                 roles={Role.rep})
    async def my_must_do(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        await ctx.send_text(await must_do.today_summary(ctx, person.id), person_id=person.id)
        return True

    return cap
