"""Action type: cues, done vs planned, negation, quick tags and contract precedence."""

from __future__ import annotations

import pytest

from handlers.understanding.action_type import _CUE_PATTERNS, CUE_FIRST_CHARS, PRECEDENCE

from .conftest import DATA, Tagger


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("瑞丰机械 给张总打了个电话,聊了下需求", "call"),
        ("瑞丰机械 电话回访", "call"),
        ("瑞丰机械 张总来电问交期", "call"),
        ("瑞丰机械 视频会议沟通了一下", "call"),
        ("瑞丰机械 微信发了产品资料给张总", "message"),
        ("给瑞丰机械发了邮件", "message"),
        ("上午去瑞丰机械拜访了张总", "visit"),
        ("瑞丰机械 上门拜访", "visit"),
        ("跟瑞丰机械张总吃了个饭", "visit"),
        ("今天在瑞丰机械跟张总聊了下", "visit"),
        ("佳禾优选 今天巡店3家", "visit"),
        ("瑞丰机械 车间现场勘测完成", "site_survey"),
        ("瑞丰机械 量了三台设备的尺寸", "site_survey"),
        ("瑞丰机械 给张总做了产线方案讲解", "presentation"),
        ("瑞丰机械 demo做完了", "presentation"),
        ("瑞丰机械 报价单已发", "quote"),
        ("瑞丰机械 报价调整了,下调3个点", "quote"),
        ("瑞丰机械 quotation sent", "quote"),
        ("瑞丰机械 张总嫌贵,我算了使用成本的账,他认可了", "objection"),
        ("瑞丰机械 交期比竞品晚两周,我解释了备货情况", "objection"),
        ("瑞丰机械 合同今天盖章了", "contract"),
        ("瑞丰机械 合同寄出去了", "contract"),
        ("瑞丰机械 回款到账了", "payment"),
        ("瑞丰机械 货款到了,30万", "payment"),
        ("今天在公司写周报", "other"),
        ("", "other"),
    ],
)
def test_cues(tag: Tagger, text: str, action: str) -> None:
    assert tag(text).action_type == action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        # planned actions never set the type
        ("瑞丰机械 拜访了张总,明天发报价", "visit"),
        ("瑞丰机械 电话沟通,约了下周演示", "call"),
        ("瑞丰机械 电话里张总说下周三打款", "call"),
        ("瑞丰机械 明天上午过去拜访", "other"),
        ("下周计划:下周一瑞丰机械,下周二蜀通,都是例行拜访", "other"),
        ("今天上午公司培训,下午去瑞丰机械", "other"),
        ("瑞丰机械 发了微信,后天过去把合同签了", "message"),
        ("瑞丰机械 张总说月底前付首款", "other"),
        ("请假一天,客户那边有事电话联系我", "other"),
        # negated touches
        ("今日拜访0家,在公司做总结", "other"),
        ("周末在家,没出门", "other"),
        ("瑞丰机械 今天没去成,改天再拜访", "other"),
    ],
)
def test_planned_and_negated_touches_do_not_count(tag: Tagger, text: str, action: str) -> None:
    assert tag(text).action_type == action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("📞 瑞丰机械 张总", "call"),
        ("🧭 瑞丰机械", "site_survey"),
        ("📊 瑞丰机械 张总", "presentation"),
        ("📞", "call"),
        ("📞 瑞丰机械 张总嫌贵,我解释了", "objection"),  # precedence still applies
    ],
)
def test_quick_tags(tag: Tagger, text: str, action: str) -> None:
    assert tag(text).action_type == action


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("瑞丰机械 合同签了,回款也到账了", "contract"),
        ("瑞丰机械 回款到账了,报价单也发了", "payment"),
        ("瑞丰机械 报价单已发,张总嫌贵", "quote"),
        ("瑞丰机械 做了演示,顺便测量了车间尺寸", "presentation"),
        ("瑞丰机械 测量了车间尺寸,张总嫌交期太长", "site_survey"),
        ("瑞丰机械 拜访时张总嫌贵", "objection"),
        ("瑞丰机械 上门拜访,之前也通过电话", "visit"),
        ("瑞丰机械 打了电话,也发了微信", "call"),
    ],
)
def test_precedence(tag: Tagger, text: str, action: str) -> None:
    assert tag(text).action_type == action


def test_precedence_order_matches_contract() -> None:
    assert PRECEDENCE == (
        "contract", "payment", "quote", "presentation", "site_survey", "objection", "visit", "call", "message",
    )


def test_first_char_prefilter_hides_no_cue() -> None:
    """The lookahead prefilter must find exactly what the bare patterns find, on real messages."""
    import json
    import re

    from handlers.understanding.text import normalize

    texts = [normalize(json.loads(line)["text"]) for line in open(DATA / "tagging-dev.jsonl", encoding="utf-8")]
    texts += [
        "重新报价了", "报价sent", "客户打款了", "腾讯会议过了一遍", "Visited the site, met the boss", "Called him",
        "contract signed", "payment received", "wechat him", "跑了三家", "来访", "回电说", "zoom会议", "DEMO做了",
    ]
    for action, pattern in _CUE_PATTERNS.items():
        bare = re.compile(pattern)
        fast = re.compile(f"(?=[{CUE_FIRST_CHARS[action]}])(?:{pattern})")
        for text in texts:
            assert [m.span() for m in bare.finditer(text)] == [m.span() for m in fast.finditer(text)], (action, text)
