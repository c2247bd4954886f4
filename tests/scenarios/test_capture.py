"""Capture on every platform: a rep's message becomes a draft record and a confirmation card; presses edit
and confirm it; commands and chatter make no record."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ActionRecord, RecordStatus
from tests.harness import Chat, Seen


async def records(chat: Chat, who: str) -> list[ActionRecord]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(ActionRecord).where(
            ActionRecord.rep_id == chat.person(who).id, ActionRecord.source_event_id.is_not(None)))).scalars())


async def record_count(chat: Chat) -> int:
    async with chat.service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(ActionRecord))).scalar_one())


async def test_message_becomes_a_confirmed_record(chat: Chat) -> None:
    await chat.say("张伟", "今天拜访了瑞丰机械张总，下周三再去")
    card = await chat.should_send("张伟", card="动作记录待确认")
    assert "瑞丰" in card.text and "拜访" in card.text and card.offers("confirm")
    [draft] = await records(chat, "张伟")
    assert draft.status == RecordStatus.draft

    await chat.press("张伟", card, "confirm")
    done = await chat.should_send("张伟", card="已记录")
    assert done.ref == card.ref and not done.offers("confirm")  # the same card, updated in place
    [rec] = await records(chat, "张伟")
    assert rec.status == RecordStatus.confirmed


async def test_changing_the_type_before_confirming(chat: Chat) -> None:
    await chat.say("张伟", "今天拜访了瑞丰机械张总，下周三再去")
    card = await chat.should_send("张伟", card="动作记录待确认")
    await chat.press("张伟", card, "edit:type")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("type:call"))
    assert len(card.actions("type:")) == 10  # every action type is offered
    await chat.press("张伟", card, "type:call")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("confirm"))
    assert "电话" in card.text
    await chat.press("张伟", card, "confirm")
    await chat.should_send("张伟", card="已记录")
    [rec] = await records(chat, "张伟")
    assert rec.type == "call" and rec.status == RecordStatus.confirmed


async def test_a_colleague_cannot_confirm_someone_elses_record(chat: Chat) -> None:
    await chat.say("张伟", "今天拜访了瑞丰机械张总，下周三再去")
    card = await chat.should_send("张伟", card="动作记录待确认")
    await chat.press("李娜", card, "confirm")
    await chat.should_send("李娜", text="⛔")
    [rec] = await records(chat, "张伟")
    assert rec.status == RecordStatus.draft


async def test_help_timeline_and_lead_commands_make_no_record(chat: Chat) -> None:
    for text in ("帮助", "瑞丰机械 最近进展", "新线索 一家做冷链的公司"):
        await chat.say("张伟", text)
    await chat.settle()
    said = "\n".join(await chat.texts("张伟"))
    assert "我的必做" in said and "瑞丰" in said and "我的雷达" in said
    timeline = [c.title for c in await chat.cards("张伟")]  # 瑞丰 is 张伟's own customer: its timeline card
    assert await records(chat, "张伟") == [] and timeline == ["📋 无锡瑞丰精密机械有限公司 最近进展"]


async def test_store_staff_message_makes_no_draft_record(chat: Chat) -> None:
    before = await record_count(chat)
    await chat.say("郑丽", "今天拜访了瑞丰机械张总，下周三再去")
    await chat.should_send("郑丽", text="")
    await chat.settle()
    assert await record_count(chat) == before and not await chat.cards("郑丽")


async def test_the_card_shows_every_amount_and_the_record_keeps_it(chat: Chat) -> None:
    await chat.say("李娜", "收到恒远化工回款20万")
    card = await chat.should_send("李娜", card="动作记录待确认")
    assert card.facts.get("回款") == "20万元" and card.facts.get("动作") == "回款"
    await chat.say("张伟", "瑞丰机械 合同今天签了，合同金额56万")
    card = await chat.should_send("张伟", card="动作记录待确认")
    assert card.facts.get("合同金额") == "56万元"
    [rec] = await records(chat, "张伟")
    assert (rec.contract_amount, rec.payment_amount, rec.budget) == (560_000, None, None)


def shows(card: Seen, label: str, value: str) -> bool:
    """A fact of the card, in its fact rows or (past WeCom's six rows) in its text as 「label：value」."""
    return card.facts.get(label, "").startswith(value) or f"{label}：{value}" in card.text


async def test_amounts_and_dates_are_edited_from_the_card_or_by_a_reply(chat: Chat) -> None:
    """Every amount and date on the card is editable: pick it under 改金额/日期, then tap a quick date, use the
    platform's input where it has one, or reply with the value (WeCom cards have no text input)."""
    await chat.say("张伟", "给蜀通物流做了方案演示，报价35万，我们承诺1月20号交付，下周一回访")
    card = await chat.should_send("张伟", card="动作记录待确认")
    assert shows(card, "报价", "35万元") and shows(card, "我方承诺", "2027-01-20")
    before = await record_count(chat)

    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:quote_amount"))
    assert {a.split(":")[1] for a in card.actions("field:")} == {
        "budget", "quote_amount", "payment_amount", "contract_amount", "expected_date", "promised_date"}
    await chat.press("张伟", card, "field:quote_amount")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:quote_amount:none"))
    assert "回复金额" in card.text
    await chat.say("张伟", "改成32万")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: shows(c, "报价", "32万元"))
    [rec] = await records(chat, "张伟")
    assert rec.quote_amount == 320_000 and await record_count(chat) == before  # the reply made no record

    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:budget"))
    await chat.press("张伟", card, "field:budget")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:budget:none"))
    if any(a == "set:budget" for a, _ in card.offered):  # a platform with a text input (emulator, Feishu)
        await chat.press("张伟", card, "set:budget", "三十五个w")
    else:
        await chat.say("张伟", "三十五个w")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: shows(c, "客户预算", "35万元"))

    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:expected_date"))
    await chat.press("张伟", card, "field:expected_date")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:expected_date:none"))
    quick = card.actions("set:expected_date:2")[0]  # 明天（周三）: a quick date is one tap
    await chat.press("张伟", card, quick)
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: shows(c, "客户期望", quick[-10:]))

    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:promised_date"))
    await chat.press("张伟", card, "field:promised_date")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:promised_date:none"))
    await chat.say("张伟", "12月18号")
    card = await chat.should_send("张伟", card="动作记录待确认",
                                  where=lambda c: shows(c, "我方承诺", "2026-12-18"))

    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:quote_amount"))
    await chat.press("张伟", card, "field:quote_amount")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:quote_amount:none"))
    await chat.press("张伟", card, "set:quote_amount:none")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("confirm"))
    assert "报价" not in card.facts  # among the first six rows on every platform

    await chat.press("张伟", card, "confirm")
    await chat.should_send("张伟", card="已记录")
    [rec] = await records(chat, "张伟")
    assert (rec.quote_amount, rec.budget, rec.expected_date.isoformat() if rec.expected_date else None,
            rec.promised_date.isoformat() if rec.promised_date else None) == (None, 350_000, quick[-10:], "2026-12-18")
    assert await record_count(chat) == before


async def test_a_bad_value_is_refused_on_the_card_and_other_messages_are_records(chat: Chat) -> None:
    await chat.say("张伟", "收到恒远化工回款20万")
    card = await chat.should_send("张伟", card="动作记录待确认")
    await chat.press("张伟", card, "edit:fields")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("field:payment_amount"))
    await chat.press("张伟", card, "field:payment_amount")
    card = await chat.should_send("张伟", card="动作记录待确认", where=lambda c: c.offers("set:payment_amount:none"))
    await chat.say("张伟", "0元")
    await chat.should_send("张伟", card="动作记录待确认", where=lambda c: "金额不对" in c.text)
    # a colleague's reply is never taken as this rep's value, and a full message is a new record
    await chat.say("李娜", "30万")
    await chat.say("张伟", "今天拜访了瑞丰机械张总，下周三再去")
    await chat.should_send("张伟", card="动作记录待确认", where=lambda c: "拜访" in c.text)
    recs = await records(chat, "张伟")
    assert len(recs) == 2 and {r.payment_amount for r in recs} == {200_000, None}


def test_edit_actions_are_refused_unless_the_card_offers_them_now() -> None:
    from datetime import date

    from cards.actions import pressed
    from cards.confirmation import ConfirmationView, build_confirmation
    from handlers.capture import ACTIONS, SetField, SetFieldTyped

    def offered(mode: str) -> list[str]:
        view = ConfirmationView(record_id=1, text="t", action_type="quote", customer_name="瑞丰", next_touch=None,
                                mode=mode, quote_amount=350_000, today=date(2026, 11, 24))
        return sorted(build_confirmation(view).actions())

    summary, budget, promised = offered("summary"), offered("field:budget"), offered("field:promised_date")
    assert pressed(summary, ACTIONS, "set:budget:none") is None
    assert pressed(summary, ACTIONS, "set:budget", "35万") is None
    assert pressed(budget, ACTIONS, "set:budget", "35万") == SetFieldTyped("budget", "35万")  # type: ignore[arg-type]
    assert pressed(budget, ACTIONS, "set:quote_amount", "1") is None  # another field than the one open
    assert pressed(budget, ACTIONS, "set:budget:2026-11-25") is None  # no date buttons on an amount
    assert pressed(promised, ACTIONS, "set:promised_date:2026-11-25") == SetField("promised_date", "2026-11-25")
    assert pressed(promised, ACTIONS, "set:promised_date:2027-06-01") is None  # only the quick dates shown
    assert pressed(promised, ACTIONS, "set:expense:none") is None
