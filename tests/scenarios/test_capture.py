"""Capture on every platform: a rep's message becomes a draft record and a confirmation card; presses edit
and confirm it; commands and chatter make no record."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import ActionRecord, RecordStatus
from tests.harness import Chat


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
    assert "我的必做" in said and "瑞丰" in said and "即将上线" in said
    assert await records(chat, "张伟") == [] and not await chat.cards("张伟")


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
