"""Contact person and role, need keywords and tags."""

from __future__ import annotations

import pytest

from handlers.understanding.contacts import find_contact
from handlers.understanding.needs import find_needs, find_tags

from .conftest import Tagger


@pytest.mark.parametrize(
    ("text", "contact", "role"),
    [
        ("见了他们总经理张总", "张总", "总经理"),
        ("采购经理李姐 电话回访", "李姐", "采购经理"),
        ("跟他们生产经理老周打了个电话", "老周", "生产经理"),
        ("信息中心主任孙老师来电", "孙老师", "信息中心主任"),
        ("给园长陈老师演示了", "陈老师", "园长"),
        ("拜访了物流经理郑经理", "郑经理", "物流经理"),
        ("店长小周要一批物料", "小周", "店长"),
        ("王工说参数没问题", "王工", "工程师"),
        ("采购总监刘总嫌贵", "刘总", "采购总监"),
        ("刘院长说预算只有10w", "刘院长", "院长"),
        ("采购王经理嫌交期长", "王经理", "采购经理"),
        ("Jason嫌我们贵", "Jason", None),
        ("quotation sent to 陈总", "陈总", None),
        ("跟老板吃饭", None, "老板"),
        ("今天辛苦了大家", None, None),
        ("给家园共育小程序做了演示", None, None),  # 小程 is not a person
        ("这周总算结清了", None, None),  # 周总 is not a person
        ("施工周期太长", None, None),
    ],
)
def test_contact_and_role(text: str, contact: str | None, role: str | None) -> None:
    assert find_contact(text) == (contact, role)


def test_customer_name_is_not_a_person() -> None:
    text = "金泰汽配 王经理"
    assert find_contact(text, [(0, 4)]) == ("王经理", None)


@pytest.mark.parametrize(
    ("text", "need"),
    [
        ("电池要做新国标适配", "新国标适配"),
        ("这个客户需要定制API对接", "API对接"),
        ("跟她算了运费和账期的账", "账期"),
        ("想先拿一条线做试点", "试点"),
    ],
)
def test_needs(text: str, need: str) -> None:
    assert need in find_needs(text)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("对方提到竞品报价便宜15%", "竞品"),
        ("李姐嫌贵,拿隔壁供应商压价", "价格异议"),
        ("说3月中旬招标", "招标"),
        ("嫌我们交期太长", "交期异议"),
    ],
)
def test_tags(text: str, tag: str) -> None:
    assert tag in find_tags(text)


def test_vague_periods_become_tags(tag: Tagger) -> None:
    u = tag("小橡树 演示了小程序,园长说下个月中旬开会定")
    assert u.next_touch is None and "下个月中旬" in u.tags


def test_contract_dict_has_every_field(tag: Tagger) -> None:
    from handlers.understanding import CONTRACT_FIELDS

    data = tag("佳禾优选 店长小周要一批物料,说周五前必须到,我答应周四送过去").to_contract()
    assert set(CONTRACT_FIELDS) <= set(data)
    assert data["expected_date"] == "2026-11-27" and data["promised_date"] == "2026-11-26"
    assert 0.0 <= data["confidence"] <= 1.0
