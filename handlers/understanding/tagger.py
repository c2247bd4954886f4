"""One message -> the tagging contract's fields (docs/tagging.md), offline and in one pass.

The pipeline: normalise, tokenise once with the directory's jieba, find customers, split clauses
and give each a tense, then read cues, dates, money, contacts and keywords against that structure.
Every step is a precompiled regex or a dictionary lookup, so a message costs well under a
millisecond and nothing depends on network or model state.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .action_type import (
    DONE,
    PLANNED,
    Cue,
    arranged_through,
    clause_tenses,
    decide,
    find_cues,
    has_done_marker,
)
from .contacts import find_contact
from .dates import DateMention, find_dates
from .directory import CustomerMatch, Directory, Mention
from .money import find_budget, find_money, find_owned, unit_price
from .needs import find_needs, find_tags
from .text import Clause, normalize, split_clauses

logger = logging.getLogger(__name__)

CONTRACT_FIELDS: tuple[str, ...] = (
    "action_type", "customer_id", "next_touch", "budget", "quote_amount", "payment_amount", "contract_amount",
    "expected_date", "promised_date", "contact", "contact_role", "needs", "tags", "confidence",
)


@dataclass
class Understanding:
    """The tagged record for one message (field meanings: docs/tagging.md)."""

    action_type: str = "other"
    customer_id: str | None = None
    customer_candidates: list[str] = field(default_factory=list)
    next_touch: date | None = None
    budget: int | None = None
    quote_amount: int | None = None  # what we quoted (报价35万)
    payment_amount: int | None = None  # money that arrived (回款20万)
    contract_amount: int | None = None  # the deal's value (合同金额56万, PO 68.5万)
    expected_date: date | None = None
    promised_date: date | None = None
    contact: str | None = None
    contact_role: str | None = None
    needs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    confidence: float = 0.0

    def to_contract(self) -> dict[str, Any]:
        """JSON-ready dict with every contract field (dates as YYYY-MM-DD) plus the candidates."""

        def iso(value: date | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "action_type": self.action_type,
            "customer_id": self.customer_id,
            "customer_candidates": list(self.customer_candidates),
            "next_touch": iso(self.next_touch),
            "budget": self.budget,
            "quote_amount": self.quote_amount,
            "payment_amount": self.payment_amount,
            "contract_amount": self.contract_amount,
            "expected_date": iso(self.expected_date),
            "promised_date": iso(self.promised_date),
            "contact": self.contact,
            "contact_role": self.contact_role,
            "needs": list(self.needs),
            "tags": list(self.tags),
            "confidence": round(float(self.confidence), 2),
        }


# Internal activities: a date next to these is not a customer touch (明天休息, 下周一早会).
_INTERNAL = re.compile(r"休息|放假|休假|早会|周会|例会|晨会|夕会|请假|迟到|团建|年会|调休|整理|总结|述职|周报|日报")
# Verbs of reaching the customer; required for a same-day date (今晚回我, 下午去恒远化工).
_CONTACT_VERB = re.compile(
    r"去|过来|来|拜访|见|约|打|电话|联系|发|送|寄|回|答复|给|确认|跟进|谈|签|看|问|取|提|付|到|进场|开会|讲|演示"
    r"|盯|带|上门|测|量|聊|交|装|对接|沟通|反馈|定|评审"
)
_PROMISE = re.compile(r"答应|承诺|保证|确保|拍胸脯|打包票|说好|讲好|许诺|应承")
# Who promised: "跟老板说好了" / "向客户承诺" is us (the person is the object); "刘院长答应下周一打款" is
# the customer's own promise, a next touch but not our promised_date.
_PROMISE_TO = re.compile(r"(?:跟|和|给|向|对|同|与)[^\s,，的都也]{1,6}$")
_THEIR_PROMISE = re.compile(
    r"(?:他|她|对方|客户|甲方|人家|老板娘?|[总工姐哥董长]|经理|主任|老师|财务|采购|总监|主管|负责人"
    r"|[A-Za-z]{2,}|[老小][\u4e00-\u9fff])们?\s?"
    r"(?:也|都|已经|已|又|还|亲口|当场|口头|当面|最后|终于|总算|才|就|在?电话里|电话中|微信上|在?会上)*$"
)
# ... or what is promised is for us: "说好下周三给我们答复".
_FOR_US = re.compile(r"^[^,，。!！?？;；\n]{0,12}?(?:给|回|答复|告诉|通知|付给|打给)(?:我|咱)")
_SEGMENT_START = re.compile(r"[,，。!！?？;；\n][^,，。!！?？;；\n]*$")
# "我答应了, 下周五前一定发货": a bare promise whose content is the next clause.
_BARE_PROMISE = re.compile(r"^(?:我|咱|我们|咱们)?(?:这边)?(?:也|就|当场|当时|马上|都)?(?:答应|承诺|保证|说好|拍胸脯|打包票)(?:了|他|她|他们|对方|客户|下来)*$")
_REQUEST = re.compile(r"要|希望|想|必须|需要|让我|让咱|催|务必|得|最晚|最迟|等着|能不能|能否|(?<![A-Za-z])(?i:wants?|needs?|asked)(?![A-Za-z])")
# Our delivery, installation or go-live (a promised or expected day, not a contact) and going there anyway.
_DELIVERY = re.compile(r"交期|发货|到货|交货|送到|装好|装完|安装完|完工|上线|交付|排产|到位|布线|供货|备货|出货|(?i:deliver)")
_DONE_OR_FIRST = re.compile(r"了(?!解)|已|先")
_ASKED = re.compile(r"(?:能不能|能否|可不可以|可否|是否|会不会|行不行)$")
_CLOSES_AFTER = re.compile(r"\s?(?:投标|报名|报价)?(?:截止|截标)")
_DECISION_AFTER = re.compile(
    r"[^,，。;；!！?？]{0,4}?(?:定|决定|拍板|确定|给结果|出结果|给答复|答复|回复|给(?:个)?(?:准信|回话)|(?i:decide|decision))"
)
_REMOTE_DELIVERY = re.compile(r"交期|发货|到货|交货|完工|上线|交付|排产|到位|布线|供货|备货|出货|(?i:deliver)")
_GO_THERE = re.compile(r"去|过去|上门|拜访|见面|找")
_EN_BEFORE = re.compile(r"(?<![A-Za-z])(?i:before|by)\s*$")
# A touch called off and moved: 本来/原定…改到, 取消了…改到, 没去成…约了
_CALLED_OFF = re.compile(r"本来|原定|原计划|原来|取消|(?i:cancel)|没[^,，。]{0,3}成|去不了|不方便|临时|推迟|改期")
_MOVED_TO = re.compile(r"(?:改到|改成|改在|改为|推到|推迟到|延到|延期到|挪到|换到|约了|约到|定在|(?i:reschedule[ds]?)(?:\s?(?:to|到))?)[^,，。]{0,3}$")
_STRONG_REQUEST = re.compile(r"要求|希望|必须|务必|最晚|最迟")
_US_SUBJECT = re.compile(r"^\s*(?:我|咱)")
# The customer's side speaking ("采购说春节前要到货, 交期能不能再提前"): the touch happened.
_CUSTOMER_SAID = re.compile(
    r"(?:他|她|对方|客户|甲方|老板|[总工姐哥长]|经理|主任|老师|财务|采购|总监|主管|[老小][\u4e00-\u9fff])们?"
    r"(?:也|还|又|就|都)?(?:说|问|提|反映|反馈|表示|觉得|嫌)"
)
_VISIT_BEFORE_NAME = re.compile(r"(?:在|到|去(?:了趟|了一趟|趟)?)$")
_VAGUE_TAGS = re.compile(r"月|中旬|上旬|下旬|年底|年初|年末|年内|春节|元旦|国庆|寒假|暑假|^下下?周$|下个?星期$|下个?礼拜$")
_HAS_TEXT = re.compile(r"[\u3400-\u9fffA-Za-z]")


def understand(text: str, now: datetime, directory: Directory) -> Understanding:
    """Tag one message. Pure and offline; never raises (a bug yields an empty, zero-confidence record)."""
    try:
        return analyse(text if isinstance(text, str) else str(text or ""), now, directory)
    except Exception:  # the bot must always answer; the record will ask the rep to confirm
        logger.exception("understanding failed; returning an empty record")
        return Understanding()


def analyse(text: str, now: datetime, directory: Directory) -> Understanding:
    """The rules path without the safety net (tests call it directly so bugs surface)."""
    norm = normalize(text)
    if not _HAS_TEXT.search(norm):
        quick = [c for c in find_cues(norm) if c.quick]
        return Understanding(action_type=quick[0].type if quick else "other", confidence=0.1 if quick else 0.0)

    tokens = directory.tokenize(norm)
    starts = {t[1] for t in tokens}
    ends = {t[2] for t in tokens}
    mentions = _about(norm, directory.find_mentions(norm, starts, ends))
    match = directory.resolve(mentions)

    clauses = split_clauses(norm) or [Clause(0, len(norm), False)]
    clause_starts = [c.start for c in clauses]
    dates = find_dates(norm, now)
    weak_plan: list[bool] = []
    topics: list[int | None] = []
    tenses = clause_tenses(norm, clauses, dates, tokens, weak_plan, topics)

    def clause_index(pos: int) -> int:
        return max(0, bisect.bisect_right(clause_starts, pos) - 1)

    cues = find_cues(norm)
    for m in mentions:
        if _VISIT_BEFORE_NAME.search(norm, max(0, m.start - 4), m.start):
            cues.append(Cue("visit", m.start, m.end, weak=True))
    # A pushback reported with 要/得/再 ("还得再压一压") during a touch that happened counts; a
    # planned touch does not, nor a pushback only feared for one ("明天去拜访, 估计他们会压价").
    done_at = [tenses[clause_index(c.start)] == DONE and not _in_topic(c.start, topics[clause_index(c.start)])
               for c in cues]
    if any(c.type == "objection" for c in cues) and (
        has_done_marker(norm)
        or _CUSTOMER_SAID.search(norm)
        or any(done for c, done in zip(cues, done_at, strict=True) if c.type != "objection")
    ):
        for i, c in enumerate(cues):
            if c.type == "objection" and weak_plan[clause_index(c.start)]:
                done_at[i] = True
    for i, c in enumerate(cues):
        if not done_at[i] and c.type in ("call", "message") and arranged_through(norm, clauses[clause_index(c.start)]):
            done_at[i] = True  # 电话约好了时间, 打电话来改到大后天: the call that arranged it happened
        elif not done_at[i] and c.type in ("call", "message") and _SPOKE_AFTER.match(norm, c.end) \
                and not _planned_before(norm, clauses[clause_index(c.start)].start, c.start, dates):
            done_at[i] = True  # 微信问能不能大后天来装机, 打电话约我周三去: the call or message is what happened
    _drop_background(norm, cues, done_at, dates, clause_index)
    action, strong, n_types = decide(cues, done_at)

    money = find_money(norm)
    budget = find_budget(norm, money)
    owned = {k: find_owned(norm, money, k) if money else None for k in ("quote", "payment", "contract")}
    owned = {k: (v if v != budget else None) for k, v in owned.items()}
    if money and action in owned and owned[action] is None:
        # on a quote / payment / contract record, the last amount nobody else owns is that record's own
        # (PO到了，136.8万; 原价28万降到25.5万 -> the new price)
        taken = {budget, *owned.values()}
        free = [m.amount for m in money if m.amount not in taken and not m.about and not unit_price(norm, m)]
        owned[action] = free[-1] if free else None
    next_touch, expected, promised = _schedule(norm, now, clauses, tenses, dates, clause_index)
    spans = [(m.start, m.end) for m in mentions]
    contact, role = find_contact(norm, spans, starts)
    vague = [d.text for d in dates if d.kind == "vague" and _VAGUE_TAGS.search(d.text)]
    needs = find_needs(norm)
    tags = find_tags(norm, vague)
    confidence = _confidence(match, action, strong, n_types, next_touch, dates, contact)
    return Understanding(
        action_type=action,
        customer_id=match.customer_id,
        customer_candidates=match.candidates,
        next_touch=next_touch,
        budget=budget,
        quote_amount=owned["quote"],
        payment_amount=owned["payment"] if action == "payment" else None,  # 下周付款30万 is no payment yet
        contract_amount=owned["contract"] if action == "contract" else None,
        expected_date=expected,
        promised_date=promised,
        contact=contact,
        contact_role=role,
        needs=needs,
        tags=tags,
        confidence=confidence,
    )


def _schedule(
    text: str,
    now: datetime,
    clauses: list[Clause],
    tenses: list[str],
    dates: list[DateMention],
    clause_index: Callable[[int], int],
) -> tuple[date | None, date | None, date | None]:
    """(next_touch, expected_date, promised_date) from the dated, planned clauses."""
    today = now.date()
    moved_from = _moved_from(text, dates)
    touches: list[date] = []
    expected: date | None = None
    promised: date | None = None
    for d in dates:
        if d.value is None or d.value < today:
            continue
        ci = clause_index(d.start)
        clause, tense = clauses[ci], tenses[ci]
        body = text[clause.start : clause.end]
        if (d.rolled or d.same_day) and tense == DONE:
            continue  # 下午去恒远见了李姐: when it happened, not a next touch
        context, context_start = body, clause.start
        rest = (text[clause.start : d.start] + text[d.end : clause.end]).strip()
        if len(rest) <= 1 and ci > 0:  # "…结构图发过来, 星期四之前": the date belongs to the clause before
            prev = clauses[ci - 1]
            context, context_start = text[prev.start : prev.end] + body, prev.start
        if _INTERNAL.search(context):
            continue
        if d.value == today and not d.future and (tense != PLANNED or not _CONTACT_VERB.search(context)):
            continue
        if d.value == today and not _CONTACT_VERB.search(context):
            continue
        if d.value == today and not d.future and (
            d.kind == "time_of_day" or _DONE_OR_FIRST.search(body)
            or not _CONTACT_VERB.search(text, d.end, min(clause.end, d.end + 6))
        ):
            continue  # 今天先电话约好了, 今天礼拜天…约我周三去, 一早 said at night: not when the next touch is
        if d.start < moved_from:
            continue  # 本来今天要去…没去成，改到周四: the day called off is no next touch
        deadline = d.deadline or bool(_EN_BEFORE.search(text, max(0, d.start - 8), d.start))
        # our delivery or installation by a day (1月8号之前发货, 下周一开始排产) is no contact with them,
        # unless someone goes there that day (下周四去展厅安装)
        delivery = bool(_DELIVERY.search(body) and (deadline or _REMOTE_DELIVERY.search(body))) \
            and not _GO_THERE.search(body)
        if not delivery:
            touches.append(d.value)
        is_promise = _our_promise(text, context_start, clause.end) or (clause.speaker_us and d.deadline)
        if not is_promise and ci > 0:
            prev = clauses[ci - 1]
            is_promise = bool(_BARE_PROMISE.match(text[prev.start : prev.end].strip())) and _our_promise(
                text, prev.start, prev.end
            )
        if is_promise:
            if promised is None:
                promised = d.value
            continue
        if clause.speaker_us or _US_SUBJECT.match(body):
            continue
        # their decision by a day (周五前定供应商) or a tender closing on it (3月25号投标截止)
        decision = (deadline and _DECISION_AFTER.match(text, d.end)) or _CLOSES_AFTER.match(text, d.end)
        # 问我们能不能 | 保证…前到货: the promise word opens a clause of its own, the asking is in the one before
        asked = ci > 0 and _ASKED.search(text, clauses[ci - 1].start, clauses[ci - 1].end) is not None
        if decision or asked or (_REQUEST.search(body) and (deadline or delivery or _STRONG_REQUEST.search(body))):
            if expected is None:
                expected = d.value
    return (min(touches) if touches else None), expected, promised


# A call or message followed by what was said in it (打电话说, 微信问, 电话里要, 打电话约我)
_SPOKE_AFTER = re.compile(r"(?:过来|来|里|中|上)?(?:跟我|给我|和我)?(?:说|问|讲|通知|告诉|反映|提到|约我|约了|要|催)")


def _planned_before(text: str, start: int, end: int, dates: list[DateMention]) -> bool:
    """A planning word or a future date before ``end`` in its clause (明天打电话问问进度)."""
    if _STRONG_PLAN_BEFORE.search(text, start, end):
        return True
    return any(start <= d.start < end and d.future for d in dates)


_STRONG_PLAN_BEFORE = re.compile(r"准备|打算|计划|要|会|再|争取|回头|待会|稍后|晚点")
_TODAY_MARK = re.compile(r"今天|今早|今儿|刚(?!才说)|刚才|上午|下午|晚上")


def _drop_background(text: str, cues: list[Cue], done_at: list[bool], dates: list[DateMention],
                     clause_index: Callable[[int], int]) -> None:
    """An earlier day's step told as background (合同昨天签的，今天首款就到了) gives way to today's touch."""
    past_clauses = {clause_index(d.start) for d in dates if d.past and not d.same_day and d.kind in ("day_word", "weekday")}
    if not past_clauses:
        return
    today_clauses = {clause_index(m.start()) for m in _TODAY_MARK.finditer(text)} - past_clauses
    if not any(done and clause_index(c.start) in today_clauses for c, done in zip(cues, done_at, strict=True)):
        return
    for i, c in enumerate(cues):
        if done_at[i] and clause_index(c.start) in past_clauses:
            done_at[i] = False


def _moved_from(text: str, dates: list[DateMention]) -> int:
    """Where the new date of a called-off touch starts (改到下周四 after 本来/取消/没去成), else -1:
    the dates said before it are the old plan."""
    if not _CALLED_OFF.search(text):
        return -1
    for d in dates:
        if d.value is not None and _MOVED_TO.search(text, max(0, d.start - 6), d.start):
            return d.start
    return -1


def _our_promise(text: str, start: int, end: int) -> bool:
    """True when text[start:end] holds a promise made by us rather than by the customer."""
    for m in _PROMISE.finditer(text, start, end):
        seg = _SEGMENT_START.search(text, 0, m.start())
        prefix = text[seg.start() + 1 if seg else 0 : m.start()]
        if _FOR_US.match(text, m.end()) or _ASKED.search(prefix):
            continue  # 问我们能不能保证…: they ask for it; we have not promised
        if _PROMISE_TO.search(prefix) or not _THEIR_PROMISE.search(prefix):
            return True
    return False


def _confidence(
    match: CustomerMatch,
    action: str,
    strong: bool,
    n_types: int,
    next_touch: date | None,
    dates: list[DateMention],
    contact: str | None,
) -> float:
    """How sure the rules are: a named customer and a clear done cue matter most."""
    score = 0.25
    if match.customer_id:
        score += 0.3
    elif match.candidates:
        score += 0.1
    if strong:
        score += 0.25 if n_types <= 2 else 0.2
    elif action == "visit":
        score += 0.1
    elif not match.customer_id and not match.candidates:
        score += 0.1  # nothing customer-facing and nobody named: "other" is a fair reading
    if next_touch is not None:
        score += 0.1
    elif any(d.kind == "vague" and d.future for d in dates):
        score -= 0.05
    if contact:
        score += 0.05
    return round(max(0.0, min(1.0, score)), 2)


def _in_topic(pos: int, topic: int | None) -> bool:
    """A cue after a done clause's topic date is what is planned for that date (确认了下周三的演示)."""
    return topic is not None and pos >= topic


_NOT_THIS = re.compile(r"不是\s?$")  # 不是小橡树，是另一家
_REFERRER_AFTER = re.compile(r"^[^,.;!?。]{0,10}?(?:介绍|推荐|的供应商|的朋友|的同行|的老乡)")
_KNOWS_BEFORE = re.compile(r"(?:认识|认得|熟悉)[^,.;!?。]{0,3}$")
_NEW_PARTY = re.compile(r"一(?:家|个)[^,.;!?。]{0,12}?(?:客户|老板|公司|厂|店|连锁|集团|经销商)|新客户|新(?:的)?(?:一家|公司)")


def _about(text: str, mentions: list[Mention]) -> list[Mention]:
    """The mentions that name who the touch was with. A customer explicitly denied (不是小橡树) is not;
    nor one named only as a referrer or an acquaintance (是益安口腔的刘院长介绍的, 认识金泰汽配的陈总) when the
    message is about someone else: another known customer, or a new party (一家做口腔连锁的客户)."""
    kept = [m for m in mentions if not _NOT_THIS.search(text, max(0, m.start - 3), m.start)]
    side = [m for m in kept if _REFERRER_AFTER.match(text[m.end:]) or _KNOWS_BEFORE.search(text, max(0, m.start - 6), m.start)]
    if not side:
        return kept
    main = [m for m in kept if m not in side]
    if main or _NEW_PARTY.search(text):
        return main
    return kept
