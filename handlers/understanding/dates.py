"""Chinese date expressions resolved against the message's own `now`.

Reps write relative dates (明天, 下周三, 三天后), weekdays in three spellings (周/星期/礼拜), month-days
(12月3号, 12/3) and ISO dates. Each is resolved in `now`'s timezone; vague periods (年底, 下个月中旬,
下周 without a day) are kept as mentions without a date so they can mark tense and become tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def small_int(text: str) -> int | None:
    """Arabic or Chinese numerals up to 99 (三, 十二, 二十三, 两); None if not such a number."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if "十" in text:
        head, _, tail = text.partition("十")
        tens = _CN_DIGITS.get(head, -1) if head else 1
        ones = _CN_DIGITS.get(tail, -1) if tail else 0
        if tens < 0 or ones < 0 or "十" in tail:
            return None
        return tens * 10 + ones
    if len(text) == 1 and text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


_EN_WEEKDAYS = {"mon": 0, "tues": 1, "wednes": 2, "thurs": 3, "fri": 4, "satur": 5, "sun": 6}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
for _i in range(1, 8):
    _WEEKDAYS[str(_i)] = _i - 1

# (start hour, end hour) of each part of the day, to tell "下午去" at 08:00 (planned) from
# "上午去了" at 12:10 (done).
_TIME_OF_DAY = {
    "早上": (6, 10), "早晨": (6, 10), "一早": (6, 10), "今早": (6, 10), "上午": (8, 12), "中午": (11, 14),
    "下午": (13, 18), "傍晚": (17, 19), "晚上": (18, 24), "晚间": (18, 24), "今晚": (18, 24),
    "夜里": (21, 24), "半夜": (22, 24),
}
_TOD = "早上|早晨|一早|上午|中午|下午|傍晚|晚上|晚间|夜里|半夜"
_NUM = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_DAY_WORDS = {
    "大后天": 3, "后天": 2, "明天": 1, "明早": 1, "明晚": 1, "明日": 1, "明儿": 1,
    "今天": 0, "今晚": 0, "今早": 0, "今日": 0, "今儿": 0, "昨天": -1, "昨晚": -1, "昨日": -1, "前天": -2,
}
_FUTURE_VAGUE = re.compile(r"^(?:下下?个?月|下下?周|下下?个?星期|下下?个?礼拜|过两天|过几天|过段时间|改天|回头|下次|下回)")

# Every alternative starts with one of these characters; checking it first lets the engine skip
# most positions without trying each alternative.
_DATE_START = r"(?=[\d一二三四五六七八九十两下上这本大后明今昨前当周星礼月中年春节元国寒暑过近改回劳早晚午傍夜半tTnNmMwWfFsS])"
_DATE_RE = re.compile(
    _DATE_START + r"(?:"
    r"(?P<iso>(?<!\d)(?P<iy>20\d\d)[-/.年](?P<im>\d{1,2})[-/.月](?P<id>\d{1,2})[日号]?(?!\d))"
    rf"|(?P<md>(?<!\d)(?P<mm>{_NUM})月份?(?P<mdd>{_NUM})[日号]?(?!\d))"
    rf"|(?P<mvague>(?<!\d){_NUM}月份?(?:中旬|上旬|下旬|初|底|中|末))"
    rf"|(?P<nextmonth>下个?月(?P<nmd>{_NUM})[号日])"
    r"|(?P<slash>(?<![\d/.])(?P<sm>1[0-2]|0?[1-9])/(?P<sd>3[01]|[12]\d|0?[1-9])(?![\d/%.]))"
    r"|(?P<ndays>(?P<nd>\d{1,2}|[一二两三四五六七八九十]{1,3})个?(?P<nunit>天|日|周|星期|礼拜)(?:之后|以后|后))"
    rf"|(?P<word>大后天|后天|明天|明早|明晚|明日|明儿|今天|今晚|今早|今日|今儿|昨天|昨晚|昨日|前天|当天)(?P<wtod>{_TOD})?"
    r"|(?P<wk>(?P<wpre>下下个?|下个?|上上个?|上个?|这个?|本|这一)?"
    rf"(?:(?<![一二两三四五六七八九十\d])周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))(?P<ktod>{_TOD})?"
    r"|(?P<dayonly>(?<![\d月./\-])(?P<dn>3[01]|[12]\d|0?[1-9])(?:号|日)(?![楼线店仓门机厂院房位室柜车子码]))"
    r"|(?P<vague>下下?个?月(?:初|中旬|上旬|下旬|底|末|中)?|月底|月初|月中|月末|这个?月|本月|中旬|上旬|下旬"
    r"|年底|年初|年末|年前|年后|年内|春节前|春节后|节前|节后|元旦前|元旦后|国庆前|国庆后|五一前|劳动节前|寒假前|暑假前"
    r"|下下?周末|下下?周|下下?个?星期|下下?个?礼拜|这周|本周|这个?星期|这个?礼拜|周末|过两天|过几天|过段时间"
    r"|近期|改天|回头)"
    rf"|(?P<tod>今晚|{_TOD})"
    r"|(?<![A-Za-z])(?P<en>(?i:(?P<enword>tomorrow|today|tonight)|(?P<ennext>next\s+|this\s+)?"
    r"(?P<enday>mon|tues|wednes|thurs|fri|satur|sun)day))(?![A-Za-z]))"
)
_RECENT_DAYS = 60
# Holidays on fixed dates: "before" them means by their eve (春节 moves every year, so it stays vague).
# What follows a plain 周X that plans it ("周一去", "周三之前回复我", "周五前把方案发过去", "周一上午来电话"):
# said after that day has passed this week (a Sunday evening), it means next week's.
_PLAN_AFTER_WEEKDAY = re.compile(
    r"\s?(?:[上下]午|早上|晚上|中午|一早)?\s?(?:[\d一二三四五六七八九十]{1,3}[点:：][\d半]{0,2}分?)?\s?"
    r"(?:就|再|要|会|能|得|才|我|他|她|一起|一定|肯定|准备|打算|计划)?"
    r"(?:去|来|过去|过来|给|发|送|交|签|回复|回我|答复|见|拜访|上门|找|约|联系|打|带|讲|做|演示|开会)(?![了过](?![去来]))"
)
_EARLIER_TOD = re.compile(r"(?:上午|早上|早晨|一早|中午)$")
_LATER_TOD = frozenset({"中午", "下午", "傍晚", "晚上", "晚间"})
_CLAUSE_BREAK = re.compile(r"[,，;；]|然后|接着|再")
_HOLIDAY_EVE = {"元旦前": (12, 31), "国庆前": (9, 30), "五一前": (4, 30), "劳动节前": (4, 30)}
# "周五前", also before an event on that day: "1月8号开学前", "明天下班前".
_DEADLINE = re.compile(r"(?:下班|上班|开学|放假|开会|开业|开工|开园|上线|开标|截标|验收|过年)?(?:之前|以前|前(?![台面期端天几]))")


@dataclass(frozen=True, slots=True)
class DateMention:
    """One time expression: its resolved date (None when vague) and how it relates to now."""

    start: int
    end: int
    text: str
    value: date | None
    kind: str  # absolute, relative, weekday, day_word, time_of_day, vague, anaphoric
    deadline: bool = False  # "周五前": the date is a deadline
    future: bool = False  # planned: a later day, or a later part of today
    past: bool = False  # an earlier day, or a part of today already over
    rolled: bool = False  # a month-day already past this year, moved to next year
    current: bool = False  # a part of today that is under way now (今晚 said at 19:30)
    same_day: bool = False  # resolves to today (今天, 下午, 今晚 …)


def _today_flags(now: datetime, tod: str | None) -> tuple[bool, bool, bool]:
    """(future, past, current) of a part of today relative to now's hour."""
    if not tod:
        return False, False, False
    start, end = _TIME_OF_DAY.get(tod, (0, 24))
    return now.hour < start, now.hour >= end, start <= now.hour < end


def _month_day(today: date, month: int | None, day: int | None) -> tuple[date | None, bool]:
    """This year's month-day, or next year's if already past; ``rolled`` if it was past only recently.

    A recently past month-day ("12月3号" on 12-10) may be a past reference after all; the tense
    logic uses the flag to drop it from planning when its clause is clearly done.
    """
    if not month or not day:
        return None, False
    try:
        value = date(today.year, month, day)
    except ValueError:
        return None, False
    if value >= today:
        return value, False
    recent = (today - value).days <= _RECENT_DAYS
    try:
        return date(today.year + 1, month, day), recent
    except ValueError:  # 2月29号 of a leap year, past: next year has no such day
        return None, False


def _day_of_month(today: date, day: int) -> tuple[date | None, bool]:
    """This month's day, or the next month that has it; ``rolled`` when this month's has passed."""
    month, year = today.month, today.year
    for step in range(3):
        try:
            value = date(year, month, day)
        except ValueError:
            value = None
        if value is not None and value >= today:
            return value, step > 0
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None, False


def _plans_ahead(text: str, end: int) -> bool:
    """A weekday followed by a deadline or a planned step ("周三之前回复我", "周一去"), not a report
    ("周一去瑞丰拜访了张总": a done marker in the rest of its clause)."""
    rest = _CLAUSE_REST.match(text, end)
    if rest and _DONE_IN_CLAUSE.search(rest.group(0)):
        return False
    return bool(_DEADLINE.match(text, end) or _PLAN_AFTER_WEEKDAY.match(text, end))


_CLAUSE_REST = re.compile(r"[^,，.。;；!！?？\n]*")
_DONE_IN_CLAUSE = re.compile(r"了(?!解)|过(?![去来])|已|完")


def find_dates(text: str, now: datetime) -> list[DateMention]:
    """Every date-like expression in ``text`` with its resolved date (in now's own timezone)."""
    today = now.date()
    found: list[DateMention] = []
    for m in _DATE_RE.finditer(text):
        kind = m.lastgroup or ""
        value: date | None = None
        tod: str | None = None
        rolled = False
        if m.group("iso"):
            kind = "absolute"
            try:
                value = date(int(m.group("iy")), int(m.group("im")), int(m.group("id")))
            except ValueError:
                continue
        elif m.group("md"):
            kind = "absolute"
            value, rolled = _month_day(today, small_int(m.group("mm")), small_int(m.group("mdd")))
            if value is None:
                continue
        elif m.group("mvague"):
            kind = "vague"
        elif m.group("nextmonth"):
            kind = "absolute"
            day = small_int(m.group("nmd")) or 0
            year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            try:
                value = date(year, month, day)
            except ValueError:
                continue
        elif m.group("slash"):
            kind = "absolute"
            value, rolled = _month_day(today, int(m.group("sm")), int(m.group("sd")))
            if value is None:
                continue
        elif m.group("ndays"):
            kind = "relative"
            n = small_int(m.group("nd"))
            if n is None or n > 400:
                continue
            unit = m.group("nunit")
            value = today + timedelta(days=n if unit in ("天", "日") else 7 * n)
        elif m.group("word"):
            word = m.group("word")
            tod = m.group("wtod")
            if word == "当天":
                kind = "anaphoric"
            else:
                kind = "day_word"
                value = today + timedelta(days=_DAY_WORDS[word])
                if word in ("今晚", "今早"):
                    tod = tod or word
        elif m.group("wk"):
            kind = "weekday"
            prefix = m.group("wpre") or ""
            weeks = {"下下": 2, "下下个": 2, "下": 1, "下个": 1, "上上": -2, "上上个": -2, "上": -1, "上个": -1}.get(
                prefix, 0
            )
            monday = today - timedelta(days=today.weekday())
            value = monday + timedelta(days=7 * weeks + _WEEKDAYS[m.group("wd")])
            tod = m.group("ktod")
            if not prefix and found and found[-1].value is not None and m.start() - found[-1].end <= 2 \
                    and found[-1].value.weekday() == _WEEKDAYS[m.group("wd")]:
                continue  # 明天周一, 1月20号（周三）: the weekday only restates the date before it
            if not prefix and value < today and _plans_ahead(text, m.end()):
                value += timedelta(days=7)
        elif m.group("dayonly"):
            kind = "absolute"
            value, rolled = _day_of_month(today, int(m.group("dn")))
            if value is None:
                continue
        elif m.group("vague"):
            kind = "vague"
            eve = _HOLIDAY_EVE.get(m.group("vague"))
            if eve is not None:  # 元旦前 = by 31 December: a fixed-date holiday's eve is a real deadline
                kind = "absolute"
                value = date(today.year, *eve)
                if value < today:
                    value = date(today.year + 1, *eve)
        elif m.group("en"):
            word = (m.group("enword") or "").lower()
            if word:
                kind = "day_word"
                value = today + timedelta(days=1 if word == "tomorrow" else 0)
                tod = "今晚" if word == "tonight" else None
            else:
                kind = "weekday"
                weeks = 1 if (m.group("ennext") or "").lower().startswith("next") else 0
                monday = today - timedelta(days=today.weekday())
                value = monday + timedelta(days=7 * weeks + _EN_WEEKDAYS[m.group("enday").lower()])
                if not m.group("ennext") and value < today and not re.match(r"\s?(?:了|过)", text[m.end():]):
                    value += timedelta(days=7)  # "I'll send it Monday" on a Friday
        elif m.group("tod"):
            kind = "time_of_day"
            tod = m.group("tod")
            value = today
        end = m.end()
        deadline = m.group("vague") in _HOLIDAY_EVE  # 元旦前 carries its own 前
        dl = _DEADLINE.match(text, end)
        if dl and kind not in ("anaphoric",):
            deadline = True
            end = dl.end()
        future = past = current = False
        same_day = value == today
        if value is not None:
            if value > today:
                future = True
            elif value < today:
                past = True
            else:
                future, past, current = _today_flags(now, tod)
        elif kind == "vague":
            future = bool(_FUTURE_VAGUE.match(m.group(0)))
        if kind == "time_of_day" and found and found[-1].value is not None and found[-1].value != today \
                and m.start() - found[-1].end <= 1:
            continue  # 12月1日上午10点: the part of the day belongs to that date, not to today
        if kind == "time_of_day" and found and found[-1].value is not None and found[-1].value > today \
                and _EARLIER_TOD.search(found[-1].text) and tod in _LATER_TOD and m.start() - found[-1].end <= 24 \
                and _CLAUSE_BREAK.search(text, found[-1].end, m.start()):
            # 周一上午去佳禾，下午去彩云之家: the afternoon of that planned day, not this one
            value, future, past, current, same_day = found[-1].value, True, False, False, False
        found.append(
            DateMention(
                m.start(), end, text[m.start() : end], value, kind, deadline, future, past, rolled, current, same_day
            )
        )
    return found
