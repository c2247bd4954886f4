"""Needs another role must answer (跨角色协同): technical → 售前/实施, contract terms → 法务, payment terms → 财务.

Plain keyword families, like ``needs.py``: a family names the roles that can take it (the first is proposed,
the others offered), and the words that mean it. A family counts once per message, in the clause where it
is first stated, unless that clause says it is not needed (不需要定制) or already settled (条款已经谈妥).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROLE_LABELS: dict[str, str] = {"presales": "售前", "delivery": "实施", "legal": "法务", "finance": "财务"}


@dataclass(frozen=True)
class Family:
    need: str  # the label shown on cards and matched against skill tags
    roles: tuple[str, ...]  # who can answer it, the usual one first
    pattern: re.Pattern[str]


FAMILIES: tuple[Family, ...] = tuple(Family(n, r, re.compile(p)) for n, r, p in (
    ("API对接", ("presales", "delivery"),
     r"(?i:api)|接口|系统对接|数据对接|(?:和|与|跟)[^，,。；;]{0,8}系统(?:打通|对接|集成)|打通|系统集成|(?i:erp|mes|his|crm)对接"),
    ("定制开发", ("presales", "delivery"), r"定制(?:开发|功能|化|报表|版本)?|二次开发|非标|个性化开发"),
    ("技术方案", ("presales",),
     r"技术(?:方案|交流|澄清|答疑|参数|评审|标)|(?<!报价)参数(?:对比|确认)|选型|(?i:poc)|测试环境|演示环境|技术(?:人员|工程师)"),
    ("部署实施", ("delivery", "presales"),
     r"部署|实施(?:方案|计划|周期)?|上线(?:计划|时间)?|安装调试|调试|数据迁移|驻场|培训(?:方案|计划)?|排期"),
    ("合同条款", ("legal",),
     r"合同(?:条款|文本|模板|版本)|条款|法务|违约(?:金|责任)?|保密协议|(?i:nda)|知识产权|免责|赔偿|补充协议|律师|盖章版本"),
    ("付款条件", ("finance",),
     r"账期|付款(?:方式|条件|周期|节点|比例)|分期|预付款?(?:比例)?|月结|开票|发票|税点|税率|信用额度|垫资|保证金|质保金|回款计划|财务"),
))
# the need is denied or already handled in its own clause
_NOT_NEEDED = re.compile(r"不(?:需要|用|必|涉及)|无需|没(?:有)?(?:提|要求)|免了")
_CLAUSES = re.compile(r"[,，。!！?？;；\n]+")
_SETTLED = re.compile(r"(?:已经?|都)(?:谈妥|确认|解决|搞定|定了|审完|处理)|没问题了")


@dataclass(frozen=True)
class CollabNeed:
    need: str
    roles: tuple[str, ...]
    clause: str  # the words that asked for it (the task's title)


def find_collab(text: str) -> list[CollabNeed]:
    """Each family stated in the message and still open, in the message's order."""
    out: list[CollabNeed] = []
    found: set[str] = set()
    for words in _CLAUSES.split(text or ""):
        if not words.strip() or _NOT_NEEDED.search(words) or _SETTLED.search(words):
            continue
        for fam in FAMILIES:
            if fam.need not in found and fam.pattern.search(words):
                found.add(fam.need)
                out.append(CollabNeed(fam.need, fam.roles, words.strip(" ，,。；;")))
    return out
