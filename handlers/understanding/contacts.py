"""The person the rep met and their role.

Reps name people by surname plus title (张总, 王工, 李姐, 刘院长), by 老/小 plus surname (老周, 小周),
or by an English name (Jason), usually right after the role (采购经理李姐, 信息中心主任孙老师).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from .text import is_cjk

# Common surnames. Characters that also start everyday words after 老/小 (方, 石, 白, 时, 程 …) are
# only accepted before an explicit title.
_SURNAMES_SAFE = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡杜叶苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范廖贾韦邹孟熊秦邱尹薛闫段雷侯陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤温康施牛樊葛邢齐易乔伍庞"
    "颜倪庄聂章岳翟殷詹欧耿焦俞柳祝舒阮柯梅童凌裴霍涂苗盛翁冉骆蓝辛靳管柴鲍喻祁蒲滕屈饶艾尤穆卓"
)
_SURNAMES_TITLED = _SURNAMES_SAFE + "高于余方石白金万向龙江史田夏程付常文安宁成鲁左甘包"
_TITLES = (
    "总经理", "总工程师", "工程师", "总监", "总工", "经理", "老师", "院长", "科长", "主任", "厂长", "园长",
    "店长", "校长", "局长", "处长", "部长", "秘书", "会计", "主管", "董事长", "律师", "医生", "大夫", "教授",
    "博士", "老板", "董", "总", "工", "姐", "哥",
)
_TITLE_ALT = "|".join(sorted(_TITLES, key=len, reverse=True))
_NAME_RE = re.compile(
    rf"(?P<titled>[{_SURNAMES_TITLED}](?:{_TITLE_ALT}))"
    rf"|(?P<oldyoung>[老小][{_SURNAMES_SAFE}])"
    r"|(?P<english>(?<![A-Za-z])[A-Z][a-z]{2,15}(?![A-Za-z]))"
)
# 总 and 工 start many words (总价, 工期 …); after a surname they are titles only before these.
_TITLE_BLOCK = {
    "总": re.compile(r"[价额共部结计之体量裁算数账包线站]"),
    "工": re.compile(r"[作厂期艺人资地具序位业单时钱商会种装字号]"),
    "董": re.compile(r"[事]"),
}
_OLDYOUNG_BLOCK = re.compile(r"[序时区型组家年人客板子品票车米面样式姐妹]")
_WEEK_BEFORE = re.compile(r"[这下上本每两一几当同个]$")
_NOT_NAMES = frozenset(
    # everyday English words that open a sentence (Yesterday下午去…, Had a call with…, Quick call with…)
    "Yesterday Today Tomorrow Tonight Weekend Weekday Morning Afternoon Evening Night Had Have Has Was Were Just "
    "Quick Next Last Still Also Again Visited Called Met Meet Visit Talked Spoke Went Got Good Great Nice Done "
    "Demo Quote Quotation Email Mail Hello Thanks Thank Okay The This That These They There Then Sent Send "
    "Revise Revised Reply Call Meeting Please Sorry Monday Tuesday Wednesday Thursday Friday Saturday Sunday "
    "January February March April May June July August September October November December Wechat Excel "
    "Word Windows Apple China Chinese Feedback Follow Update Check Team Sales Offer Order Price Deal Contract "
    "Invoice Payment Survey Visit Report Today Tomorrow Next Done Version Plan Draft Final Called Visited Met "
    "Will Signed Paid Budget Boss Customer Client Tonight Quote Follow Waiting Received Meeting Site".split()
)
_ROLE_SUFFIXES = (
    "副总经理", "总经理", "副总", "总监", "经理", "主任", "主管", "店长", "园长", "副院长", "院长", "校长", "厂长",
    "科长", "处长", "部长", "局长", "老板娘", "老板", "董事长", "负责人", "工程师", "采购", "财务", "会计", "出纳",
    "前台", "秘书", "助理", "专员", "医生", "护士长", "组长", "CTO", "CEO", "CFO", "CIO",
)
_ROLE_TITLE_END = re.compile(r"(?:经理|总监|主任|主管|长|老板娘?|董事长|负责人|工程师|助理|专员|秘书|医生|CTO|CEO|CFO|CIO)$")
_ROLE_SUFFIX_RE = re.compile("(?:" + "|".join(sorted(_ROLE_SUFFIXES, key=len, reverse=True)) + ")$")
# Characters that end a role phrase when walking left from it: particles and verbs of meeting.
_ROLE_STOP = set("的了和跟给与及在是见把被向找约请让叫说问同访去来到打通联电陪带")
_LEAD_STRIP = re.compile(
    r"^(?:他们|她们|我们|咱们|对方|客户|那边|这边|那个|这个|那位|这位|一个|他|她|其|位|个|[一二两三四五六七八九十几\d]+[个位名])+"
)
# One or more role words in a row, so 采购总监 / 财务总监 come out whole rather than as 采购.
_ROLE_ONLY_RE = re.compile(
    r"(?:" + "|".join(sorted(_ROLE_SUFFIXES + ("主任", "厂长"), key=len, reverse=True)) + ")+"
)
_IMPLIED_ROLE = {"工": "工程师", "工程师": "工程师", "总工": "总工程师", "总工程师": "总工程师", "总经理": "总经理",
                 "院长": "院长", "科长": "科长", "主任": "主任", "厂长": "厂长", "园长": "园长", "店长": "店长",
                 "校长": "校长", "局长": "局长", "处长": "处长", "部长": "部长", "总监": "总监", "董事长": "董事长",
                 "经理": "经理"}
_OUR_STAFF_BEFORE = re.compile(
    r"(?:带[着了上]?|叫上|喊上|同事|我们的?|我司|咱们?的?|我方)(?:[一二两三四五六七八九十几\d]+[个位名])?(?:技术|售前|售后|项目)?$"
)
_DEPT_END = re.compile(r"(?:科|部|处|办|中心|室|采购|财务|设备|工程|信息)$")


def _role_before(text: str, pos: int, floor: int) -> str | None:
    """The role phrase ending right before ``pos`` (采购经理 in 采购经理李姐), if any."""
    end = pos
    if end > floor and text[end - 1] == " ":
        end -= 1
    start = end
    while start > floor and end - start < 10 and (is_cjk(text[start - 1]) or text[start - 1].isupper()):
        if text[start - 1] in _ROLE_STOP:
            break
        start -= 1
    phrase = text[start:end]
    if not phrase or not _ROLE_SUFFIX_RE.search(phrase):
        return None
    phrase = _LEAD_STRIP.sub("", phrase)
    return phrase or None


def _dept_before(text: str, pos: int, floor: int) -> str:
    start = pos
    while start > floor and pos - start < 5 and is_cjk(text[start - 1]) and text[start - 1] not in _ROLE_STOP:
        start -= 1
    phrase = _LEAD_STRIP.sub("", text[start:pos])
    return phrase if phrase and _DEPT_END.search(phrase) else ""


def find_contact(
    text: str, names: Sequence[tuple[int, int]] = (), token_starts: Collection[int] | None = None
) -> tuple[str | None, str | None]:
    """(contact, role) of the first person named; role alone when only a role is mentioned.

    ``names`` are customer-name spans: no person is read inside one and no role phrase crosses one.
    ``token_starts`` (jieba token offsets) reject a "surname" that is the tail of a word (对方总经理).
    """
    boundaries = [end for _, end in names]
    for m in _NAME_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in names):
            continue
        if token_starts is not None and not m.group("english") and m.start() not in token_starts:
            continue
        name = m.group(0)
        title = ""
        if m.group("titled"):
            title = name[1:]
            block = _TITLE_BLOCK.get(title)
            if block and block.match(text, m.end()):
                continue
            if name[0] == "周" and _WEEK_BEFORE.search(text, 0, m.start()):
                continue  # 这周总算 / 下周工作: 周 is the week here
            if title == "工" and (text.startswith("程师", m.end()) or name[0] in "施车"):
                continue  # 施工, 车工 are work, not people
        elif m.group("oldyoung"):
            if _OLDYOUNG_BLOCK.match(text, m.end()):
                continue
        elif name in _NOT_NAMES:
            continue
        if _OUR_STAFF_BEFORE.search(text, max(0, m.start() - 6), m.start()) and not m.group("english"):
            continue  # 带小李去…: a colleague of ours, not the person met
        floor = max((b for b in boundaries if b <= m.start()), default=0)
        role = _role_before(text, m.start(), floor)
        if role and title in _IMPLIED_ROLE and title != "工" and not _ROLE_TITLE_END.search(role):
            role += _IMPLIED_ROLE[title]  # 采购王经理 -> 采购经理
        if role is None and title:
            implied = _IMPLIED_ROLE.get(title)
            dept = _dept_before(text, m.start(), floor)
            if dept and implied and title not in ("工", "总工", "总工程师", "总经理"):
                role = dept + implied if not dept.endswith(implied) else dept
            else:
                role = implied if title not in ("经理",) else (dept + "经理" if dept else None)
        return name, role
    for role_only in _ROLE_ONLY_RE.finditer(text):
        if _OUR_STAFF_BEFORE.search(text, max(0, role_only.start() - 6), role_only.start()):
            continue  # 带着工程师去了趟…: our own people, not the person met
        floor = max((b for b in boundaries if b <= role_only.start()), default=0)
        return None, _role_before(text, role_only.end(), floor) or role_only.group(0)
    return None, None
