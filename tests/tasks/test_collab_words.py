"""Which role a message needs: general keyword families, tried on several phrasings per role, with the
clauses that deny or settle a need left out (no rule fitted to one sentence)."""

from __future__ import annotations

import pytest

from handlers.understanding.collab import find_collab

CASES = [
    ("这个客户需要定制API对接", "presales"),
    ("客户问能不能跟他们的ERP系统打通", "presales"),
    ("院方要求和HIS系统对接，数据要实时同步", "presales"),
    ("需要出一份技术方案，再安排一次技术交流", "presales"),
    ("客户想先做POC验证一下", "presales"),
    ("下个月要上线，得安排驻场实施", "delivery"),
    ("他们关心部署周期和数据迁移", "delivery"),
    ("合同条款要改", "legal"),
    ("违约金比例客户不认可", "legal"),
    ("对方法务要先签保密协议", "legal"),
    ("账期60天", "finance"),
    ("客户希望付款方式改成分三期", "finance"),
    ("要开13个点的专票，税点得确认", "finance"),
    ("质保金比例想降到3%", "finance"),
]


@pytest.mark.parametrize(("text", "role"), CASES)
def test_the_need_proposes_its_role(text: str, role: str) -> None:
    assert role in [n.roles[0] for n in find_collab(text)]


@pytest.mark.parametrize("text", [
    "今天拜访了瑞丰机械张总，聊得不错，下周三再去",
    "报价单发过去了，周五电话确认",
    "不需要定制，标准版就行",
    "法务那边条款已经谈妥了",
    "账期的事已经确认了",
    "送了样品，客户试用反馈好",
])
def test_no_role_when_none_is_needed(text: str) -> None:
    assert find_collab(text) == []


def test_several_needs_in_one_message_keep_their_order_and_clause() -> None:
    got = find_collab("客户想跟MES系统对接，另外付款方式想改成月结；合同模板要按他们的来")
    assert [(n.need, n.roles[0]) for n in got] == [("API对接", "presales"), ("付款条件", "finance"),
                                                   ("合同条款", "legal")]
    assert got[1].clause == "另外付款方式想改成月结"
    assert find_collab("接口要对接，接口文档下周给") == find_collab("接口要对接")  # a family counts once
