"""Date expressions across week, month and year boundaries, resolved in now's own timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handlers.understanding.dates import find_dates, small_int

from .conftest import Tagger, at


def first_date(text: str, now: str) -> date | None:
    found = [d for d in find_dates(text, at(now)) if d.value is not None]
    return found[0].value if found else None


TUE = "2026-11-24 10:00"  # Tuesday
SUN = "2026-11-29 16:00"  # Sunday
MON_END_OF_MONTH = "2026-11-30 09:00"  # Monday, last day of November
NEW_YEARS_EVE = "2026-12-31 17:00"  # Thursday


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # the contract's own example: now Tuesday 2026-11-24
        ("周五", TUE, date(2026, 11, 27)),
        ("下周三", TUE, date(2026, 12, 2)),
        ("下周一", TUE, date(2026, 11, 30)),
        # the three weekday spellings and digits
        ("星期五", TUE, date(2026, 11, 27)),
        ("礼拜五", TUE, date(2026, 11, 27)),
        ("周5", TUE, date(2026, 11, 27)),
        ("这周五", TUE, date(2026, 11, 27)),
        ("本周五", TUE, date(2026, 11, 27)),
        ("下星期三", TUE, date(2026, 12, 2)),
        ("下个礼拜三", TUE, date(2026, 12, 2)),
        ("下个星期一", TUE, date(2026, 11, 30)),
        ("礼拜天", TUE, date(2026, 11, 29)),
        ("星期天", TUE, date(2026, 11, 29)),
        ("周日", TUE, date(2026, 11, 29)),
        ("上周五", TUE, date(2026, 11, 20)),
        # a Sunday now: the current Monday-based week ends today
        ("周日", SUN, date(2026, 11, 29)),
        ("周一", SUN, date(2026, 11, 23)),
        ("下周一", SUN, date(2026, 11, 30)),
        ("下个礼拜三", SUN, date(2026, 12, 2)),
        # relative days over a month end
        ("明天", MON_END_OF_MONTH, date(2026, 12, 1)),
        ("明早", MON_END_OF_MONTH, date(2026, 12, 1)),
        ("后天", MON_END_OF_MONTH, date(2026, 12, 2)),
        ("大后天", MON_END_OF_MONTH, date(2026, 12, 3)),
        ("三天后", MON_END_OF_MONTH, date(2026, 12, 3)),
        ("5天后", MON_END_OF_MONTH, date(2026, 12, 5)),
        ("两周后", MON_END_OF_MONTH, date(2026, 12, 14)),
        ("今晚", MON_END_OF_MONTH, date(2026, 11, 30)),
        ("周三", MON_END_OF_MONTH, date(2026, 12, 2)),
        # absolute dates
        ("12月3号", TUE, date(2026, 12, 3)),
        ("12月1日", TUE, date(2026, 12, 1)),
        ("十二月三号", TUE, date(2026, 12, 3)),
        ("2026-12-03", TUE, date(2026, 12, 3)),
        ("2026年12月3日", TUE, date(2026, 12, 3)),
        ("12/3", TUE, date(2026, 12, 3)),
        ("15号", TUE, date(2026, 12, 15)),
        ("30号", TUE, date(2026, 11, 30)),
        # over the year end: month-days before now roll to next year
        ("1月5号", NEW_YEARS_EVE, date(2027, 1, 5)),
        ("1月4日", NEW_YEARS_EVE, date(2027, 1, 4)),
        ("12/3", NEW_YEARS_EVE, date(2027, 12, 3)),
        ("12月31日", NEW_YEARS_EVE, date(2026, 12, 31)),
        ("明天", NEW_YEARS_EVE, date(2027, 1, 1)),
        ("下周一", NEW_YEARS_EVE, date(2027, 1, 4)),
        ("周五", NEW_YEARS_EVE, date(2027, 1, 1)),
    ],
)
def test_date_forms(text: str, now: str, expected: date) -> None:
    assert first_date(text, now) == expected


@pytest.mark.parametrize("text", ["周五前", "周五之前", "周五以前", "12月3号前", "下周二前"])
def test_deadline_suffix_is_the_date_itself(text: str) -> None:
    found = find_dates(text, at(TUE))
    assert len(found) == 1 and found[0].deadline and found[0].end == len(text)
    assert found[0].value is not None


@pytest.mark.parametrize("text", ["下个月中旬", "年底", "下周", "月底前", "3月中旬", "春节前", "周末"])
def test_vague_periods_have_no_date(text: str) -> None:
    found = find_dates(text, at(TUE))
    assert found and all(d.value is None and d.kind == "vague" for d in found)


@pytest.mark.parametrize("text", ["2月30号", "13/45", "一周一次", "三周完工", "5号楼", "2400平", "0.92元/W"])
def test_not_dates(text: str) -> None:
    assert first_date(text, TUE) is None


def test_time_of_day_tense_depends_on_now() -> None:
    morning = find_dates("下午去恒远化工", at("2026-11-26 08:05"))[0]
    assert morning.value == date(2026, 11, 26) and morning.future and not morning.past
    noon = find_dates("上午去瑞丰机械拜访", at("2026-11-23 12:10"))[0]
    assert noon.past and not noon.future


def test_resolves_in_nows_own_timezone() -> None:
    # 23:30 UTC on the 24th is already the 25th in Shanghai, but the message's clock says the 24th.
    now = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    assert find_dates("明天", now)[0].value == date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "value"), [("三", 3), ("十", 10), ("十二", 12), ("二十三", 23), ("两", 2), ("12", 12), ("百", None)]
)
def test_small_int(text: str, value: int | None) -> None:
    assert small_int(text) == value


@pytest.mark.parametrize(
    ("text", "now", "next_touch"),
    [
        ("瑞丰机械 电话沟通了，周五再去拜访", TUE, date(2026, 11, 27)),
        ("瑞丰机械 张总说下周三前给答复", TUE, date(2026, 12, 2)),
        ("瑞丰机械 拜访完了，大后天带样品过去", MON_END_OF_MONTH, date(2026, 12, 3)),
        ("瑞丰机械 今天拜访了张总，1月5号再过去", NEW_YEARS_EVE, date(2027, 1, 5)),
        ("瑞丰机械 今天拜访了张总，下个月中旬再约", TUE, None),
        ("瑞丰机械 今天拜访了张总，年底前再说", TUE, None),
        ("瑞丰机械 拜访了张总，方案下周出", TUE, None),
        ("瑞丰机械 拜访了张总，明天休息，后天再去", TUE, date(2026, 11, 26)),
        ("瑞丰机械 张总说今晚回我", TUE, date(2026, 11, 24)),
    ],
)
def test_next_touch(tag: Tagger, text: str, now: str, next_touch: date | None) -> None:
    assert tag(text, now).next_touch == next_touch


def test_expected_and_promised_dates(tag: Tagger) -> None:
    u = tag("佳禾优选 店长要一批物料，说周五前必须到，我答应周四送过去", TUE)
    assert u.expected_date == date(2026, 11, 27)
    assert u.promised_date == date(2026, 11, 26)
    assert u.next_touch == date(2026, 11, 26)
    u = tag("晨曦光伏 电话沟通，对方希望12月15号前给方案，我承诺12月10号先发初稿", TUE)
    assert (u.expected_date, u.promised_date) == (date(2026, 12, 15), date(2026, 12, 10))
    assert u.next_touch == date(2026, 12, 10)
