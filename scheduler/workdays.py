"""Which local dates are workdays: China's statutory calendar, company overrides, Mon–Fri as a last resort.

``chinese_calendar`` ships the State Council's holiday and 调休 tables only for the years it knows
(1.11: 2004–2026) and raises for any other year. A scheduler that crashes on 2 January 2027 is worse
than one that guesses, so unknown years fall back to Mon–Fri with one warning per year, and the config's
``extra_holidays`` / ``extra_workdays`` let an admin declare the new year's table before the library has it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("actionflow.scheduler")


class Workdays:
    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = ()) -> None:
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        overlap = self.extra_holidays & self.extra_workdays
        if overlap:
            raise ValueError(f"dates both holiday and workday: {sorted(overlap)}")
        self._warned: set[int] = set()

    def is_workday(self, d: date) -> bool:
        """Company overrides first, then the statutory table, then Mon–Fri for years it does not cover."""
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            if d.year not in self._warned:
                self._warned.add(d.year)
                log.warning("chinese-calendar has no data for this year; assuming Mon–Fri workdays "
                            "(add schedule.extra_holidays / extra_workdays, or upgrade chinesecalendar)",
                            extra={"year": d.year})
            return d.weekday() < 5

    def kind(self, d: date) -> str:
        """A short Chinese label for logs and job summaries: 工作日 / 调休上班 / 节假日 / 周末."""
        work = self.is_workday(d)
        if work:
            return "调休上班" if d.weekday() >= 5 else "工作日"
        return "周末" if d.weekday() >= 5 else "节假日"

    def workdays_after(self, start: date, end: date) -> int:
        """How many workdays lie in (start, end]; 0 when end <= start (an overdue ladder counts these)."""
        n, d = 0, start
        while d < end:
            d += timedelta(days=1)
            n += self.is_workday(d)
        return n

    def next_workday(self, d: date) -> date:
        """The first workday strictly after ``d``."""
        d += timedelta(days=1)
        for _ in range(366):
            if self.is_workday(d):
                return d
            d += timedelta(days=1)
        raise ValueError("no workday within a year")  # only with absurd overrides
