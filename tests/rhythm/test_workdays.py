"""The workday calendar: statutory holidays off, 调休 Saturdays on, overrides, and years the library lacks."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from scheduler.workdays import Workdays


def test_labour_day_week_2026() -> None:
    w = Workdays()
    week = [date(2026, 5, d) for d in range(4, 11)]  # Mon 4 … Sun 10
    assert [w.is_workday(d) for d in week] == [False, False, True, True, True, True, False]
    assert w.kind(date(2026, 5, 4)) == "节假日" and w.kind(date(2026, 5, 9)) == "调休上班"
    assert w.kind(date(2026, 5, 10)) == "周末" and w.kind(date(2026, 5, 6)) == "工作日"
    assert w.next_workday(date(2026, 4, 30)) == date(2026, 5, 6)


def test_workdays_after_counts_make_up_saturdays() -> None:
    w = Workdays()
    assert w.workdays_after(date(2026, 5, 6), date(2026, 5, 9)) == 3  # Thu, Fri, 调休 Sat
    assert w.workdays_after(date(2026, 4, 30), date(2026, 5, 6)) == 1  # the holiday does not count
    assert w.workdays_after(date(2026, 5, 6), date(2026, 5, 6)) == 0


def test_unknown_year_falls_back_to_weekdays_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    w = Workdays()
    with caplog.at_level(logging.WARNING, logger="actionflow.scheduler"):
        days = [w.is_workday(date(2027, 1, d)) for d in range(1, 11)]
    assert days == [True, False, False, True, True, True, True, True, False, False]  # Fri 1 Jan is a guess
    assert sum("no data for this year" in r.getMessage() for r in caplog.records) == 1


def test_config_overrides_win() -> None:
    w = Workdays(extra_holidays=[date(2027, 1, 1), date(2026, 5, 6)], extra_workdays=[date(2026, 5, 10)])
    assert not w.is_workday(date(2027, 1, 1)) and not w.is_workday(date(2026, 5, 6))
    assert w.is_workday(date(2026, 5, 10))
    with pytest.raises(ValueError):
        Workdays(extra_holidays=[date(2026, 5, 6)], extra_workdays=[date(2026, 5, 6)])
