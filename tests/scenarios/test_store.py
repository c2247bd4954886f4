"""The store flow in chat, on every platform: 「门店任务」 gives staff their store's task links and the store manager
today's funnel with a link to its page; a rep gets no store answer."""

from __future__ import annotations

from tests.harness import Chat


async def test_staff_get_their_task_links(chat: Chat) -> None:
    await chat.say("郑丽", "门店任务")
    card = await chat.should_send("郑丽", card="长沙旗舰店 · 门店任务")
    assert "门店接待：http://127.0.0.1:8080/store/q/" in card.text and "新品试用" in card.text
    await chat.say("冯雪", "扫码")
    again = await chat.should_send("冯雪", card="长沙旗舰店 · 门店任务")
    assert card.text == again.text  # the same printed link, not a new token per question


async def test_manager_gets_todays_funnel(chat: Chat) -> None:
    await chat.say("吴静", "门店漏斗")
    card = await chat.should_send("吴静", card="长沙旗舰店 · 今日门店漏斗")
    assert list(card.facts) == ["进店", "探询", "推荐", "异议处理", "成交"]
    assert int(card.facts["进店"]) >= int(card.facts["成交"]) and "全店：进店" in card.text
    assert "漏斗页：http://127.0.0.1:8080/store/funnel/" in card.text


async def test_a_rep_gets_no_store_answer(chat: Chat) -> None:
    """Not a command for a rep: the message is an ordinary report waiting for confirmation, as any other."""
    await chat.say("张伟", "门店漏斗")
    await chat.should_send("张伟", card="动作记录待确认")
    assert not await chat.cards("张伟", "门店任务") and not await chat.cards("张伟", "今日门店漏斗")
