"""Quick date buttons say their weekday and never land on a weekend without saying so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cards.confirmation import quick_dates


@pytest.mark.parametrize("today", [date(2026, 11, 23) + timedelta(days=n) for n in range(7)])  # Monday..Sunday
def test_quick_dates_are_workdays_with_their_weekday(today: date) -> None:
    dates = quick_dates(today)
    assert len(dates) == 3 and len({d for _, d in dates}) == 3
    assert all(d.weekday() < 5 and d > today for _, d in dates)  # never a Saturday or Sunday
    for label, d in dates:
        assert "周" in label and "一二三四五六日"[d.weekday()] in label


def test_thursday_offers_friday_and_next_week_not_saturday() -> None:
    labels = [label for label, _ in quick_dates(date(2026, 11, 26))]  # a Thursday
    assert labels == ["明天（周五）", "下周一", "下周二"]
