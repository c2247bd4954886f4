"""The store flow in chat, on every platform: 「门店任务」 gives staff their store's task links and the store manager
today's funnel with a link to its page; a rep gets no store answer."""

from __future__ import annotations

from tests.harness import Chat


async def test_staff_get_their_task_links(chat: Chat) -> None:
    await chat.say("郑丽", "门店任务")
    got = await chat.should_send("郑丽", text="长沙旗舰店 · 门店任务")
    assert "门店接待：http://127.0.0.1:8080/store/q/" in got.text and "新品试用" in got.text
    await chat.say("冯雪", "扫码")
    again = await chat.should_send("冯雪", text="长沙旗舰店 · 门店任务")
    assert got.text == again.text  # the same printed link, not a new token per question


async def test_manager_gets_todays_funnel(chat: Chat) -> None:
    await chat.say("吴静", "门店漏斗")
    card = await chat.should_send("吴静", card="长沙旗舰店 · 今日门店漏斗")
    assert list(card.facts) == ["进店", "探询", "推荐", "异议处理", "成交"]
    assert int(card.facts["进店"]) >= int(card.facts["成交"]) and "全店：进店" in card.text
    await chat.should_send("吴静", text="漏斗页（按导购看流失）：http://127.0.0.1:8080/store/funnel/")


async def test_a_rep_gets_no_store_answer(chat: Chat) -> None:
    """Not a command for a rep: the message is an ordinary report waiting for confirmation, as any other."""
    await chat.say("张伟", "门店漏斗")
    await chat.should_send("张伟", card="动作记录待确认")
    assert not await chat.cards("张伟", "今日门店漏斗") and not [t for t in await chat.texts("张伟") if "门店" in t]


async def test_a_scanned_or_pasted_task_link_opens_the_flow(chat: Chat) -> None:
    """Feishu/DingTalk/local: the link in a message; WeCom's scancode events arrive as the same text."""
    await chat.say("郑丽", "门店任务")
    tasks = await chat.should_send("郑丽", text="长沙旗舰店 · 门店任务")
    link = tasks.text.split("门店接待：", 1)[1].split()[0]
    await chat.say("何洋", link)
    await chat.should_send("何洋", text=f"接待页：{link}")
    await chat.say("何洋", link[:-3] + ("xyz" if not link.endswith("xyz") else "abc"))  # a damaged code
    await chat.should_send("何洋", text="二维码无效、已过期或已停用")
