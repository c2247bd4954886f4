"""Stage gates and credibility on every platform: the gate refuses and says what is missing, a photo asked for
by a check's button unlocks it, the supervisor passes a gate with a reason given as a reply, and a photo
without EXIF makes the record 待核实 until the supervisor rejects it with a reason."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.models import ActionRecord, RecordStatus, StageChange
from tests.evidence.photos import photo
from tests.harness import Chat
from tests.stages.helpers import at_stage, item_id, stage_of

NAME = "无锡瑞丰精密机械有限公司"


async def test_a_gate_refuses_until_its_photo_arrives_and_a_supervisor_passes_the_rest(chat: Chat, tmp_path: Path) -> None:
    await at_stage(chat, "D001", "方案报价", "张伟")
    await chat.say("张伟", "瑞丰机械 检查清单")
    card = await chat.should_send("张伟", card=f"{NAME} · 方案报价检查清单")
    await chat.press("张伟", card, "tpl:general")
    card = await chat.should_send("张伟", card="方案报价检查清单", where=lambda c: "已完成 0/5" in c.text)
    await chat.press("张伟", card, "next")
    refused = await chat.should_send("张伟", card="方案报价检查清单", where=lambda c: "还不能进入「商务谈判」" in c.text)
    assert "安装条件现场照片已上传" in refused.text
    await chat.press("张伟", refused, f"ask:{await item_id(chat, 'D001', '方案报价', 'site_photo')}")
    await chat.should_send("张伟", card="方案报价检查清单", where=lambda c: "请直接在聊天里发照片" in c.text)
    await chat.send_photo("张伟", photo(tmp_path / "site.jpg", lat=31.4913, lng=120.3567, taken="2026:11:24 09:59:00"))
    await chat.should_send("张伟", text="已记为「安装条件现场照片已上传」的凭证")
    card = await chat.should_send("张伟", card="方案报价检查清单", where=lambda c: "已完成 1/5" in c.text)
    await chat.press("张伟", card, "ask_override")
    gate = await chat.should_send("王芳", card="张伟申请放行")
    await chat.press("王芳", gate, "override_ask")
    await chat.should_send("王芳", card="张伟申请放行", where=lambda c: "请直接回复一句放行原因" in c.text)
    await chat.say("王芳", "客户急单，资料后补")
    await chat.should_send("张伟", text="王芳已放行")
    await chat.should_send("张伟", card=f"{NAME} · 商务谈判检查清单")
    assert await stage_of(chat, "D001") == "商务谈判"
    async with chat.service.db.session() as s:
        change = (await s.execute(select(StageChange))).scalar_one()
    assert change.override_reason == "客户急单，资料后补" and len(change.missing) == 4


async def test_a_photo_without_exif_waits_for_the_supervisor(chat: Chat, tmp_path: Path) -> None:
    said = "今天拜访了瑞丰机械张总，下周三再去"
    await chat.say("张伟", said)
    await chat.press("张伟", await chat.should_send("张伟", card="动作记录待确认"), "confirm")
    await chat.send_photo("张伟", photo(tmp_path / "screenshot.jpg"))
    card = await chat.should_send("王芳", card="待核实：张伟的记录", where=lambda c: "没有拍摄时间和位置信息" in c.text)
    await chat.press("王芳", card, "vrej_ask")
    await chat.should_send("王芳", card="待核实", where=lambda c: "请直接回复一句驳回原因" in c.text)
    await chat.say("王芳", "照片是网上找的")
    await chat.should_send("张伟", text="照片是网上找的")
    async with chat.service.db.session() as s:
        record = (await s.execute(select(ActionRecord).where(ActionRecord.text == said))).scalar_one()
    assert record.status == RecordStatus.rejected
