"""Reports on every platform: the manager's 18:30 digest of the whole org, 今日简报 on request, a risk's link
that only the reader may press, 我的雷达 / 客户雷达 (the picture inside the card, the numbers beside it), a supervisor asking
about a rep of theirs but not of another team, 我的提成, and the Friday radars."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from storage.models import OutboxMessage
from tests.conftest import TZ
from tests.harness import Chat, Seen


async def radar_picture(chat: Chat, card: Seen) -> None:
    """The card carries the radar PNG itself (uploaded to the platform, or at our signed link for WeCom), and
    no separate image message went out."""
    png = await chat.picture(card)
    assert png is not None and png.startswith(b"\x89PNG"), card.raw
    with Image.open(io.BytesIO(png)) as im:
        assert 1.3 <= im.width / im.height <= 16 / 9 and im.height >= 500
    async with chat.service.db.session() as s:
        bodies = (await s.execute(select(OutboxMessage.body))).scalars().all()
    assert not [b for b in bodies if b.get("type") == "image"]


async def test_the_manager_gets_the_digest_of_the_whole_org_at_1830(chat: Chat) -> None:
    said = await chat.run("daily_digest", datetime(2026, 11, 24, 18, 30, tzinfo=TZ))
    assert "发出 4 张卡片" in said  # 周建国, both supervisors and the store manager
    card = await chat.should_send("周建国", card="今日简报 · 11-24")
    assert "6 名销售" in card.text and "阶段漏斗：初步接触" in card.text
    for label in ("首次响应", "阶段停留", "任务闭环", "数据完整度"):  # the rows every platform shows as rows
        assert label in card.facts, card.facts
    assert "必做完成率" in card.text and "待核实占比" in card.text and "风险1：" in card.text
    assert card.facts["首次响应"].endswith("（行业 18.3 → 前10% ≤1.2）")
    assert card.facts["数据完整度"].endswith("（行业 63.2% → 前10% ≥95.4%）")
    assert "门店漏斗（今日）：进店" in card.text  # the store under 吴静, who reports to 周建国
    sup = await chat.should_send("王芳", card="今日简报 · 11-24")
    assert "3 名销售" in sup.text and "门店漏斗" not in sup.text
    store = await chat.should_send("吴静", card="今日简报 · 11-24")
    assert "门店漏斗（今日）：进店" in store.text and "首次响应" not in store.text
    again = await chat.run("daily_digest", datetime(2026, 11, 24, 18, 40, tzinfo=TZ))
    assert "已运行过" in again and len(await chat.cards("周建国", "今日简报")) == 1


async def test_a_risk_link_answers_the_reader_and_refuses_others(chat: Chat) -> None:
    await chat.say("周建国", "今日简报")
    card = await chat.should_send("周建国", card="今日简报")
    links = card.actions("open:")
    assert links, card.text
    await chat.press("张伟", card, links[0])
    await chat.should_send("张伟", text="⛔")
    await chat.press("周建国", card, links[0])
    await chat.should_send("周建国", text="最近进展")


async def test_a_rep_asks_for_the_radars_and_the_commission(chat: Chat) -> None:
    await chat.say("张伟", "我的雷达")
    card = await chat.should_send("张伟", card="过程健康雷达 · 张伟")
    for axis in ("首次响应", "阶段节奏", "数据完整", "必做完成", "可信度", "清单举证"):
        assert axis in card.facts
    assert "触达深度" in card.text and "需求锚定" in card.text and "节奏匹配" in card.text
    await radar_picture(chat, card)
    await chat.say("张伟", "我的客户雷达")
    customers = await chat.should_send("张伟", card="客户健康雷达 · 张伟")
    assert "决策链覆盖" in customers.text
    await radar_picture(chat, customers)
    await chat.say("张伟", "今天和瑞丰机械签了合同，合同金额50万")
    draft = await chat.should_send("张伟", card="动作记录待确认")
    assert "瑞丰" in draft.text
    await chat.press("张伟", draft, "confirm")
    await chat.should_send("张伟", card="已记录")
    await chat.say("张伟", "我的提成")
    money = await chat.should_send("张伟", card="提成估算 · 张伟 · 2026-11")
    assert "new_contract * 0.05 + payment * 0.02" in money.text
    assert money.facts["新签合同额"] == "¥500,000.00" and money.facts["估算提成"] == "¥25,000.00"  # 500,000 × 5%


async def test_a_supervisor_sees_their_reps_radar_but_not_another_teams(chat: Chat) -> None:
    await chat.say("王芳", "张伟的雷达")
    await chat.should_send("王芳", card="过程健康雷达 · 张伟")
    await chat.say("王芳", "赵敏的雷达")  # 刘强's rep
    await chat.should_send("王芳", text="不在你的团队里")
    await chat.say("张伟", "李娜的提成")  # a rep cannot look at a colleague
    await chat.should_send("张伟", text="不在你的团队里")
    await chat.say("王芳", "王小明的雷达")
    await chat.should_send("王芳", text="找不到「王小明」")
    await chat.say("王芳", "我的提成")  # commission is per rep
    await chat.should_send("王芳", text="提成按销售查看，例如「张伟的提成」")
    await chat.say("王芳", "我的雷达")  # a supervisor's own radar is their team's
    await chat.should_send("王芳", card="过程健康雷达 · 王芳团队")
    assert not await chat.cards("王芳", "过程健康雷达 · 赵敏") and not await chat.cards("王芳", "提成估算")


async def test_the_friday_radars_reach_each_rep_and_their_supervisor(chat: Chat) -> None:
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
    said = await chat.run("weekly_radar", friday)
    assert "处理 6 项" in said
    await radar_picture(chat, await chat.should_send("孙浩", card="过程健康雷达 · 孙浩"))
    await radar_picture(chat, await chat.should_send("刘强", card="客户健康雷达 · 孙浩"))
    again = await chat.run("weekly_radar", friday + timedelta(minutes=5))
    assert "已运行过" in again and len(await chat.cards("孙浩", "过程健康雷达")) == 1
