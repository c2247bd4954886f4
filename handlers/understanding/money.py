"""Money amounts and the customer's budget.

Amounts come as 50万, 36.5万, 45w/5W, 3k, 1200元, 20来万 or in Chinese (八十万, 十二万八, 一百二十万).
Only an amount tied to a budget cue (预算, 心理价位, 经费 …, also in the clause right after: "预算有限,
大概5w") or a hedged figure nobody else owns (大概5w, 300万上下, 20万以内) is the customer's budget: a
quote total, a price or a payment that arrived is money too, but not the budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import cn2an

_UNITS = {"万": 10_000, "万元": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "千元": 1_000, "k": 1_000,
          "K": 1_000, "元": 1, "块": 1, "块钱": 1, "百万": 1_000_000, "亿": 100_000_000}
_CN = "零〇一二两三四五六七八九十百千万亿"
_DIGIT = "一二两三四五六七八九"
_PLAIN_ALTERNATIVES = (
    r"(?P<arabic>(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|(?<![\d.])\d+(?:\.\d+)?)\s?(?P<about>来|多|余)?个?"
    r"(?P<unit>百万|万元|千元|块钱|万|千|[kKwW](?![a-zA-Z])|元|块|亿)"
    # spoken: 三十五个w, 八十个万 (a voice transcript puts 个 before the unit)
    rf"|(?P<spoken>[{_CN}]+)个(?P<sunit>[wW万亿](?![a-zA-Z]))"
    rf"|(?P<chinese>[{_CN}]*[十百千万亿][{_CN}]*)(?P<cunit>元|块钱|块)?"
    r"|[¥￥]\s?(?P<yen>\d+(?:\.\d+)?)"
)
# The rarer spoken forms are tried only in a text that has one (most messages do not: keeps the tagger fast).
_SPECIAL_ALTERNATIVES = (
    # ranges take their lower bound: 30到40万, 一百五到两百万, 三四十万, 五六百万, 十二三万
    r"(?P<range>(?P<rlo>(?<![\d.])\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s?(?:到|至|~|～|-)\s?"
    r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s?"
    r"(?P<runit>百万|万元|万|[wW](?![a-zA-Z])|亿))"
    rf"|(?P<pair>(?P<plo>[{_DIGIT}])[{_DIGIT}](?P<pmag>十|百|千)(?P<punit>万|亿)?(?P<pyuan>元|块)?)"
    rf"|(?P<teens>十(?P<tlo>[{_DIGIT}])[{_DIGIT}](?P<tunit>万|亿))"
    # 八十来万, 两百来万, 十来万: about the stated figure
    rf"|(?P<lai>[{_CN}]*[十百千])来(?P<laiunit>万|亿)"
    # decimals said in Chinese: 一点五个亿, 一点四八亿
    rf"|(?P<cdec>[{_CN}]+点[{_CN}]+)个?(?P<cdecunit>万|亿)"
)
_MONEY_RE = re.compile(rf"(?=[\d{_CN}¥￥])(?:{_PLAIN_ALTERNATIVES})")
_MONEY_ALL_RE = re.compile(rf"(?=[\d{_CN}¥￥])(?:{_SPECIAL_ALTERNATIVES}|{_PLAIN_ALTERNATIVES})")
_N = "\\d零〇一二两三四五六七八九十百千"
_SPECIAL_HINT = re.compile(
    rf"[{_N}]\s?(?:到|至|~|～|-)\s?[{_N}]|[{_N}]点[{_N}]|来[万亿]|[{_DIGIT}]{{2}}[十百千]|十[{_DIGIT}]{{2}}[万亿]"
)
_NOT_MONEY_AFTER = re.compile(r"[个次家台天年周月号日份点倍成%平米颗条件套名人层楼]")
_BUDGET_CUE = re.compile(
    r"预算|budget|心理价位?|可接受|能接受|最多(?:能)?(?:出|给|花)|最高(?:能)?(?:出|给)|投入|经费|能拿出|打算花|准备花"
    # a planned purchase volume (明年大概要采购两三百万) is what they mean to spend
    r"|采购(?=\s?(?:[\d一二两三四五六七八九十]|大概|大约))"
)
_CLAUSE_END = re.compile(r"[,;!?，；！？。\n]|\.(?!\d)")
_WINDOW = 8  # 预算还有个三百万: a few filler characters may sit between cue and amount
_BARE_YUAN = re.compile(r"[^,.;!?。\n\d]{0,6}?(\d{3,9})(?![\d.%万千kKwW元块])")
_CUE_AFTER = re.compile(r"\s?(?:的|左右的?)?(?:(?:总)?预算|(?:都|也|还)?(?:能|可以|可)接受)")
# "预算有限, 大概5w": the amount may open the next clause after a few hedging words.
_HEDGE_LEAD = re.compile(
    r"\s?(?:大概|大约|约|差不多|估计|可能|应该|也就|就|只有|只|才|是|在|有|控制在|不超过|不能超过|不到|最多|顶多|撑死)*\s?"
)
# A hedged amount with no other owner is the customer's figure: 大概5w, 300万上下, 20万以内.
_HEDGE_BEFORE = re.compile(r"(?:大概|大约|约|差不多|估计|顶多|最多|撑死|不超过|控制在)(?:有|是|在)?个?\s?$")
_HEDGE_AFTER = re.compile(r"\s?(?:左右|上下|以内|之内|以下|封顶|到顶|出头)")
# ... unless the amount is a price, a quote, a payment or someone else's.
_NOT_BUDGET = re.compile(
    r"报|价|合同|款|账|付|打了|打过来|发票|金额|花了|成交|订单|欠|损失|营收|营业额|销售额|采购额|产值|利润|"
    r"去年|上次|竞品|别家|同行|便宜|贵|降|涨|优惠|折|工资|提成|奖金|运费|安装费|差价|差额|还有|剩|尾|首"
)
_CONTEXT = 12


@dataclass(frozen=True, slots=True)
class MoneyMention:
    start: int
    end: int
    amount: int
    about: bool = False  # 20来万, 30多万: an approximate figure


def _chinese_amount(text: str) -> int | None:
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    try:
        return int(round(float(value)))
    except (TypeError, ValueError, OverflowError):
        return None


def _chinese_decimal(text: str) -> Decimal | None:
    """一点四八 → 1.48, 一百五 → 150 (cn2an reads both); None when it is no number."""
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def find_money(text: str) -> list[MoneyMention]:
    """Amounts in yuan; bare numbers without a money unit are not money."""
    found: list[MoneyMention] = []
    pattern = _MONEY_ALL_RE if _SPECIAL_HINT.search(text) else _MONEY_RE
    for m in pattern.finditer(text):
        amount: int | None = None
        g = m.groupdict()
        about = bool(g["about"])
        if g.get("range"):
            lo = m.group("rlo")
            base_value: Decimal | int | None
            try:
                base_value = Decimal(lo)
            except InvalidOperation:
                base_value = _chinese_decimal(lo)
            unit = _UNITS.get(m.group("runit"), 1)
            amount = int(base_value * unit) if base_value is not None else None
        elif g.get("pair"):
            if not (m.group("punit") or m.group("pyuan")):
                continue  # 三四十个人: a count
            amount = _chinese_amount(m.group("plo") + m.group("pmag") + (m.group("punit") or ""))
        elif g.get("teens"):
            amount = _chinese_amount("十" + m.group("tlo") + m.group("tunit"))
        elif g.get("lai"):
            amount = _chinese_amount(m.group("lai") + m.group("laiunit"))
            about = True
        elif g.get("cdec"):
            value = _chinese_decimal(m.group("cdec"))
            amount = int(value * _UNITS[m.group("cdecunit")]) if value is not None else None
        elif m.group("arabic"):
            try:
                amount = int(Decimal(m.group("arabic").replace(",", "")) * _UNITS[m.group("unit")])
            except (InvalidOperation, KeyError, OverflowError):
                continue
        elif m.group("spoken"):
            base = _chinese_amount(m.group("spoken"))
            amount = base * _UNITS[m.group("sunit")] if base is not None else None
        elif m.group("yen"):
            try:
                amount = int(Decimal(m.group("yen")))
            except (InvalidOperation, OverflowError):
                continue
        else:
            chinese = m.group("chinese")
            if not m.group("cunit"):
                if not re.search("[万亿]", chinese) and not chinese.endswith("千"):
                    continue  # 一百 of 一百台 is a count; money without 元 needs 万/千
                if _NOT_MONEY_AFTER.match(text, m.end()):
                    continue
                if text.startswith("多", m.end()) and _NOT_MONEY_AFTER.match(text, m.end() + 1):
                    continue  # 一千多一颗: a unit price count, still money but never a budget
            amount = _chinese_amount(chinese)
        if amount is None or amount <= 0 or amount > 10**13:
            continue
        found.append(MoneyMention(m.start(), m.end(), amount, about))
    return found


def find_budget(text: str, money: list[MoneyMention]) -> int | None:
    """The customer's budget: the amount right after a budget cue (or right before 预算)."""
    for cue in _BUDGET_CUE.finditer(text):
        stop = _CLAUSE_END.search(text, cue.end(), cue.end() + _WINDOW + 1)
        limit = stop.start() if stop else cue.end() + _WINDOW
        for mm in money:
            if cue.end() <= mm.start <= limit:
                return mm.amount
        bare = _BARE_YUAN.match(text, cue.end())
        if bare:
            return int(bare.group(1))  # 预算50000: plain yuan
        if stop and stop.end() - cue.end() <= _WINDOW:
            lead = _HEDGE_LEAD.match(text, stop.end())
            if lead is None:
                continue
            for mm in money:
                if mm.start == lead.end():
                    return mm.amount
    for mm in money:
        if _CUE_AFTER.match(text, mm.end):
            return mm.amount
    for mm in money:
        hedged = mm.about or _HEDGE_AFTER.match(text, mm.end) or _HEDGE_BEFORE.search(text, max(0, mm.start - 5), mm.start)
        if not hedged:
            continue
        if _NOT_MONEY_AFTER.match(text, mm.end):
            continue  # 大概5万台: a count
        stop = _CLAUSE_END.search(text, mm.end)
        if not _NOT_BUDGET.search(text, max(0, mm.start - _CONTEXT), stop.start() if stop else len(text)):
            return mm.amount
    return None


# Whose money an amount is, by the cue it follows (or precedes) in its clause.
_OWNER_CUES = {
    "quote": re.compile(r"报价|报了个?价|报的(?:价|是)?|我们报|报给|给了个?价|开价|(?i:quot(?:e|ation))"),
    "payment": re.compile(r"回款|到账|货款|首付款|尾款|付款|转账|汇款|打过来|转过来|收款|定金|订金|(?i:payment)"),
    "contract": re.compile(r"合同(?:金额|额|价|总额|总价)?|(?<![A-Za-z])(?i:po)(?![A-Za-z])(?:\s?(?:金额|(?i:amount)))?|成交价?|签了|签单"),
}


# A unit price or a per-period fee is not the quote's, payment's or contract's amount (单店两万三, 每月3.2万) …
_UNIT_PRICE = re.compile(r"(?:单价|单店|单台|单套|单个|每(?:店|家|台|套|个|月|年|平|米|吨|件)|一(?:台|套|个|家|平|米|吨|件))\s?$")
# … and a stated total is (总共四十六万, 整体一百零八万, total 62.5万).
_TOTAL = re.compile(r"(?:总价|总共|一共|合计|总计|整体|总金额|总额|(?i:total))\s?(?:是|为|:)?\s?$")
_OLD_PRICE = re.compile(r"(?:原价|原来|之前|从|原)(?:是|为)?\s?$")  # 原价28万降到25.5万: the old figure


def find_owned(text: str, money: list[MoneyMention], owner: str) -> int | None:
    """The amount a quote / payment / contract cue owns: right after the cue in its clause (报价35万, 回款
    20万, 合同金额56万, PO amount 68.5万), else right before it in the same clause (二十三万五的货款)."""
    cue_re = _OWNER_CUES[owner]
    money = [mm for mm in money if not _UNIT_PRICE.search(text, max(0, mm.start - 3), mm.start)]
    if not money or not cue_re.search(text):
        return None
    totals = [mm for mm in money if _TOTAL.search(text, max(0, mm.start - 6), mm.start)]
    if totals:
        return totals[-1].amount
    for cue in cue_re.finditer(text):
        stop = _CLAUSE_END.search(text, cue.end())
        limit = stop.start() if stop else len(text)
        for mm in money:
            if cue.end() <= mm.start <= min(limit, cue.end() + _WINDOW + 4) \
                    and not _OLD_PRICE.search(text, max(0, mm.start - 4), mm.start):
                return mm.amount
        start = _clause_start(text, cue.start())
        for mm in reversed(money):
            if start <= mm.start and mm.end <= cue.start() and cue.start() - mm.end <= 3:
                return mm.amount
    return None


def _clause_start(text: str, pos: int) -> int:
    """Where the clause holding ``pos`` begins."""
    last = 0
    for m in _CLAUSE_END.finditer(text, 0, pos):
        last = m.end()
    return last


def unit_price(text: str, mm: MoneyMention) -> bool:
    """True for a unit price or per-period fee (单店两万三, 每月3.2万): never a record's own amount."""
    return _UNIT_PRICE.search(text, max(0, mm.start - 3), mm.start) is not None
