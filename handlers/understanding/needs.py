"""Need keywords and tags.

Needs are what the customer asked for (the confirmation card shows the last three, and a
technical/legal/finance need proposes a cross-role task); tags are labels for reports and
filtering (竞品, 价格异议, 招标 …). Both are plain keyword rules: cheap, explainable, editable.
"""

from __future__ import annotations

import re

# label -> pattern; order is the output order.
NEED_PATTERNS: tuple[tuple[str, str], ...] = (
    ("新国标适配", r"新国标|国标适配|国标改造"),
    ("API对接", r"(?i:api)|接口|系统对接|对接方案|数据对接"),
    ("账期", r"账期|付款周期|月结|分期付款|付款条件|付款方式"),
    ("定制", r"定制|非标"),
    ("安装", r"安装|装机|进场|施工"),
    ("交期", r"交期|交付时间|交货|到货|货期|工期|施工周期|上线时间"),
    ("质保", r"质保|保修|衰减"),
    ("售后", r"售后|维保|维护|运维"),
    ("培训", r"培训|操作指导"),
    ("试点", r"试点|试用|先做.{0,4}试"),
    ("样品", r"样品|样书|样板|打样"),
    ("合规", r"合规|GSP|院感|备案|资质|验证"),
    ("改造升级", r"改造|升级|扩线|扩建|二期"),
    ("降价", r"降价|能不能降|便宜点|优惠|折扣|让利"),
    ("发票", r"发票|开票"),
    ("物料", r"物料|堆头|陈列|铺货"),
    # the customer asking for a plan is a need; us making, sending or presenting one is our action
    ("方案", r"(?<![出做发写讲改给交递送过讲])(?<!演示了)方案(?!讲解|演示|汇报|介绍|宣讲|展示|发|讲)|平面图|图纸|初稿"),
)
TAG_PATTERNS: tuple[tuple[str, str], ...] = (
    ("竞品", r"竞品|别家|同行|友商|其他家|对手|隔壁(?:供应商|家)|海德堡|代理商"),
    ("价格异议", r"嫌贵|太贵|偏贵|贵了|比.{0,10}贵|压价|砍价|便宜|涨价|涨了|价格高"),
    ("交期异议", r"交期.{0,4}(?:长|慢|晚)|周期.{0,3}长|太赶|晚两周|装不完|来不及"),
    ("招标", r"招标|投标|标书|中标"),
    ("催款", r"催款|催.{0,2}款"),
    ("首付款", r"首付款|首款|预付款|定金"),
    ("尾款", r"尾款|结清"),
    ("新客户", r"第一次接触|初次接触|新客户|朋友介绍|转介绍|陌拜"),
    ("决策人参与", r"老板|总经理|董事长|CEO|CTO|院长|校长|厂长"),
    ("预算待批", r"预算.{0,4}批"),
    ("节日问候", r"快乐|拜年|祝福|新年好|台历"),
    ("样品", r"样品|样书"),
)
# Separate searches beat one big alternation here: each keyword pattern gets the engine's
# literal-prefix fast path.
_NEEDS = tuple((label, re.compile(p)) for label, p in NEED_PATTERNS)
_TAGS = tuple((label, re.compile(p)) for label, p in TAG_PATTERNS)


def find_needs(text: str) -> list[str]:
    """Need keywords stated in the message, in a fixed order."""
    return [label for label, pattern in _NEEDS if pattern.search(text)]


def find_tags(text: str, extra: list[str] | None = None) -> list[str]:
    """Tags from keywords plus ``extra`` (e.g. vague time phrases), deduplicated in order."""
    tags = [label for label, pattern in _TAGS if pattern.search(text)]
    for tag in extra or ():
        if tag not in tags:
            tags.append(tag)
    return tags
