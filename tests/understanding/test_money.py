"""Money forms and which amount is the customer's budget."""

from __future__ import annotations

import pytest

from handlers.understanding.money import find_budget, find_money

from .conftest import Tagger


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("50万", 500_000),
        ("36.5万", 365_000),
        ("18.64万", 186_400),
        ("八十万", 800_000),
        ("一百二十万", 1_200_000),
        ("三百万", 3_000_000),
        ("十二万八", 128_000),
        ("二十三万六千", 236_000),
        ("45w", 450_000),
        ("10W", 100_000),
        ("3k", 3_000),
        ("1200元", 1_200),
        ("五千块", 5_000),
        ("¥8000", 8_000),
        ("2万元", 20_000),
    ],
)
def test_money_forms(text: str, amount: int) -> None:
    found = find_money(text)
    assert [m.amount for m in found] == [amount]


@pytest.mark.parametrize("text", ["2400平", "三台设备", "一百台", "30%", "5kW", "3个点", "两周", ""])
def test_not_money(text: str) -> None:
    assert find_money(text) == []


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("预算50万左右", 500_000),
        ("客户预算八十万", 800_000),
        ("总价12.6万,刘院长说预算只有10w", 100_000),
        ("预算2w以内", 20_000),
        ("总预算就1200元", 1_200),
        ("一期预算还有个三百万左右", 3_000_000),
        ("共47.8万 客户预算大概45w", 450_000),
        ("50万的预算", 500_000),
        ("预算50000", 50_000),
        ("心理价位30万", 300_000),
        # money that is not the customer's budget
        ("回款到账了,十二万八", None),
        ("报价单已发,总价62万", None),
        ("尾款到了,12万", None),
        ("等年底预算批下来,报价20万", None),
    ],
)
def test_budget_is_only_the_customers(text: str, budget: int | None) -> None:
    assert find_budget(text, find_money(text)) == budget


def test_budget_through_understand(tag: Tagger) -> None:
    assert tag("雅居坊 跟老板吃饭,预算50万左右").budget == 500_000
    assert tag("海韵酒店回款到账了,十二万八").budget is None
    assert tag("豫香园 报价单已发 共47.8万 客户预算大概45w").budget == 450_000
