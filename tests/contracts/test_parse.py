"""Reading 「发起合同审批 …」: the customer's words and one amount in yuan, or the reason it cannot be read."""

from __future__ import annotations

import pytest

from bot.capabilities import router_from
from bot.config import config_from_dict
from handlers.contracts import parse_request
from scheduler.workdays import Workdays
from storage.models import Role


@pytest.mark.parametrize(("rest", "name", "amount"), [
    (" 恒远化工 金额50万", "恒远化工", 500_000),
    ("恒远化工 五十万", "恒远化工", 500_000),
    (" 客户：瑞丰机械，合同金额：36.5万元", "瑞丰机械", 365_000),
    (" 仁爱医院 1,200,000元", "仁爱医院", 1_200_000),
    ("恒远化工 金额80000元", "恒远化工", 80_000),
])
def test_a_customer_and_one_amount_are_read(rest: str, name: str, amount: int) -> None:
    assert parse_request(rest) == (name, amount, "")


@pytest.mark.parametrize(("rest", "problem"), [
    ("", "请写明合同金额"),
    (" 金额50万", "请写明客户名称"),
    (" 恒远化工", "请写明合同金额"),
    (" 恒远化工 金额50", "请写明合同金额"),  # a bare number is no amount
    (" 恒远化工 金额50万 首付20万", "一次只能写一个合同金额"),
    (" 恒远化工 瑞丰机械 50万", "请只写一个客户名称"),
    (" 恒远化工 0元", "请写明合同金额"),
    (" 恒远化工 五千亿", "不合理"),
])
def test_what_cannot_be_read_is_refused_with_the_reason(rest: str, problem: str) -> None:
    words, amount, said = parse_request(rest)
    assert amount is None and problem in said


@pytest.mark.parametrize(("text", "command"), [
    ("发起合同审批 恒远化工 金额50万", "contract_approval"),
    ("发起审批 恒远化工 50万", "contract_approval"),
    ("发起合同审批", "contract_approval"),  # answered with how to use it, not read as a record
    ("我的合同审批", "my_contracts"),
    ("合同审批进度", "my_contracts"),
    ("查看合同审批", "my_contracts"),
])
def test_the_router_gives_contract_messages_to_the_contract_commands(text: str, command: str) -> None:
    router = router_from(config_from_dict({}), Workdays())
    found = router.command_for(text, Role.rep)
    assert found is not None and found[0].name == command
