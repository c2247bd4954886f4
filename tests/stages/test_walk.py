"""A medical-device customer (三甲 template) walks 初步接触 → 回款 through the local channel: each gate refuses
while a required check is open and says which, evidence (voice, file, photo — asked for by the check's
button, or moved there from a record) unlocks it, and one gate is passed by the supervisor with a recorded reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handlers.clock import FixedClock
from tests.evidence.photos import photo
from tests.harness import Chat, open_local
from tests.stages.helpers import at_stage, changes, checklist, item_id, items, stage_of

RUIFENG, NAME = "D001", "无锡瑞丰精密机械有限公司"


@pytest.fixture
async def chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
               monkeypatch: pytest.MonkeyPatch) -> Chat:
    chat = await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    await at_stage(chat, RUIFENG, "初步接触", "张伟")
    return chat


def pdf(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(b"%PDF-1.4\n% signed\n" + name.encode() * 20 + b"\n%%EOF\n")
    return p


def voice(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_bytes(b"\x1aE\xdf\xa3" + bytes(2000))  # a WebM header, as the emulator's recorder sends
    return p


async def tick(chat: Chat, stage: str, *keys: str) -> None:
    for key in keys:
        card = await checklist(chat, "张伟", NAME, stage)
        await chat.press("张伟", card, f"tick:{await item_id(chat, RUIFENG, stage, key)}")
        await chat.settle()


async def prove(chat: Chat, stage: str, key: str, send: Any, path: Path) -> None:
    """Press the check's button, then send the evidence as the next message."""
    card = await checklist(chat, "张伟", NAME, stage)
    await chat.press("张伟", card, f"ask:{await item_id(chat, RUIFENG, stage, key)}")
    await checklist(chat, "张伟", NAME, stage, extra="请直接在聊天里发")
    await send("张伟", path)
    await chat.should_send("张伟", text="的凭证")
    await chat.settle()
    assert (await items(chat, RUIFENG, stage))[key].status == "done"


async def next_stage(chat: Chat, stage: str) -> None:
    await chat.press("张伟", await checklist(chat, "张伟", NAME, stage), "next")
    await chat.settle()


async def test_a_medical_customer_walks_every_gate_to_payment(chat: Chat, tmp_path: Path) -> None:
    await chat.say("张伟", "瑞丰机械 检查清单")
    first = await chat.should_send("张伟", card=f"{NAME} · 初步接触检查清单")
    assert "请先为客户选择行业模板" in first.text and first.offers("tpl:medical_3a")
    await chat.press("张伟", first, "tpl:medical_3a")
    card = await checklist(chat, "张伟", NAME, "初步接触", extra="模板：医疗器械·三甲")
    assert not card.offers("tpl:general")  # the template is chosen once

    # 初步接触: the gate refuses and lists both open checks
    await next_stage(chat, "初步接触")
    refused = await checklist(chat, "张伟", NAME, "初步接触", extra="还不能进入「需求确认」")
    assert "找到对接人并留下联系电话" in refused.text and "完成首次拜访或电话沟通" in refused.text
    assert await stage_of(chat, RUIFENG) == "初步接触"
    await tick(chat, "初步接触", "contact", "first_touch")
    await next_stage(chat, "初步接触")
    await checklist(chat, "张伟", NAME, "需求确认")  # pushed on entering the stage

    # 需求确认: 临床科室主任需求确认 by voice, 设备论证 material by file
    await next_stage(chat, "需求确认")
    refused = await checklist(chat, "张伟", NAME, "需求确认", extra="还不能进入")
    assert "临床科室主任需求确认" in refused.text
    await tick(chat, "需求确认", "decision_chain", "budget")
    await prove(chat, "需求确认", "needs", chat.send_voice, voice(tmp_path, "needs.webm"))
    await prove(chat, "需求确认", "clinical_head", chat.send_voice, voice(tmp_path, "director.webm"))
    await prove(chat, "需求确认", "committee", chat.send_file, pdf(tmp_path, "committee.pdf"))
    await next_stage(chat, "需求确认")
    await checklist(chat, "张伟", NAME, "方案报价")

    # 方案报价: 医工科设备参数备案 is still missing, the supervisor lets it pass with a reason
    await prove(chat, "方案报价", "medeng_filing", chat.send_file, pdf(tmp_path, "filing.pdf"))
    await next_stage(chat, "方案报价")
    refused = await checklist(chat, "张伟", NAME, "方案报价", extra="还不能进入「商务谈判」")
    assert "医工科设备参数备案" not in refused.text.split("未完成的必填检查")[1]
    await chat.press("张伟", refused, "ask_override")
    gate = await chat.should_send("王芳", card="张伟申请放行")
    assert "技术参数确认单已签收" in gate.text
    await chat.press("王芳", gate, "override", "  ")  # a reason is required
    await chat.should_send("王芳", card="张伟申请放行", where=lambda c: "放行需要写明原因" in c.text)
    assert await stage_of(chat, RUIFENG) == "方案报价"
    await chat.press("王芳", gate, "override_ask")
    await chat.say("王芳", "院长特批先谈商务，技术资料下周补齐")
    await chat.should_send("王芳", card="已放行")
    await chat.should_send("张伟", text="王芳已放行")
    await checklist(chat, "张伟", NAME, "商务谈判")

    # 商务谈判: a file sent after a record lands on the record; the rep moves it to the check
    await chat.say("张伟", "今天和瑞丰机械采购确认了合同条款，下周一再去")
    draft = await chat.should_send("张伟", card="动作记录待确认")
    await chat.press("张伟", draft, "confirm")
    await chat.send_file("张伟", pdf(tmp_path, "terms.pdf"))
    moved = await chat.should_send("张伟", card="已作为凭证附到记录")
    target = f"mv:i{await item_id(chat, RUIFENG, '商务谈判', 'terms_aligned')}"
    assert moved.offers(target)
    await chat.press("张伟", moved, target)
    await chat.should_send("张伟", card="已改附到检查项「合同条款已与客户法务对齐」")
    assert (await items(chat, RUIFENG, "商务谈判"))["terms_aligned"].status == "done"
    await tick(chat, "商务谈判", "discount_ok", "delivery_plan")
    await prove(chat, "商务谈判", "infection_review", chat.send_file, pdf(tmp_path, "infection.pdf"))
    await prove(chat, "商务谈判", "tender", chat.send_file, pdf(tmp_path, "tender.pdf"))
    await next_stage(chat, "商务谈判")

    # 签约: the optional PO does not block; the site photo does
    await prove(chat, "签约", "contract_signed", chat.send_file, pdf(tmp_path, "contract.pdf"))
    await next_stage(chat, "签约")
    refused = await checklist(chat, "张伟", NAME, "签约", extra="还不能进入「回款」")
    assert "科室安装场地照片已确认" in refused.text and "中标通知书已收到" not in refused.text.split("未完成的必填检查")[1]
    await prove(chat, "签约", "install_site", chat.send_photo, photo(tmp_path / "site.jpg"))
    await next_stage(chat, "签约")

    # 回款: the last stage
    await tick(chat, "回款", "invoice")
    await prove(chat, "回款", "payment_in", chat.send_file, pdf(tmp_path, "bank.pdf"))
    last = await checklist(chat, "张伟", NAME, "回款", extra="已完成 2/2")
    assert not last.offers("next")  # the last stage has no next one
    await chat.press("张伟", last, "next")
    await chat.should_send("张伟", text="这个按钮已失效")

    history = await changes(chat, RUIFENG)
    assert [(c.old, c.new) for c in history] == [("初步接触", "需求确认"), ("需求确认", "方案报价"), ("方案报价", "商务谈判"),
                                                 ("商务谈判", "签约"), ("签约", "回款")]
    overridden = [c for c in history if c.override_reason]
    assert [c.override_reason for c in overridden] == ["院长特批先谈商务，技术资料下周补齐"]
    assert overridden[0].by_id == chat.person("王芳").id
    assert "技术参数确认单已签收" in overridden[0].missing and "医工科设备参数备案" not in overridden[0].missing
    voice_item = (await items(chat, RUIFENG, "需求确认"))["clinical_head"]
    assert voice_item.evidence["kind"] == "voice" and voice_item.done_by == chat.person("张伟").id


async def test_someone_else_cannot_move_the_customer_on(chat: Chat) -> None:
    await chat.say("张伟", "瑞丰机械 检查清单")
    card = await chat.should_send("张伟", card=f"{NAME} · 初步接触检查清单")
    await chat.press("张伟", card, "tpl:general")
    await tick(chat, "初步接触", "contact", "first_touch")
    card = await checklist(chat, "张伟", NAME, "初步接触")
    await chat.press("李娜", card, "next")  # another rep, pressing 张伟's card
    await chat.should_send("李娜", text="只能由客户负责人或其上级主管操作")
    await chat.say("李娜", "瑞丰机械 检查清单")
    await chat.should_send("李娜", text="这个客户的检查清单")
    await chat.settle()
    assert await stage_of(chat, RUIFENG) == "初步接触" and await changes(chat, RUIFENG) == []


async def test_evidence_cannot_be_forged_by_pressing_the_hidden_answer(chat: Chat) -> None:
    """The 'evidence arrived' action is only ever made by the bot from a real upload; a client sending it is
    refused like any action the card does not show, and the check stays open."""
    await at_stage(chat, RUIFENG, "方案报价", "张伟", template="general")
    await chat.say("张伟", "瑞丰机械 检查清单")
    card = await checklist(chat, "张伟", NAME, "方案报价")
    site = await item_id(chat, RUIFENG, "方案报价", "site_photo")
    await chat.press("张伟", card, f"ev:{site}", '{"kind": "image", "exif": {"lat": 31.4912, "lng": 120.3567}}')
    await chat.should_send("张伟", text="这个按钮已失效")
    await chat.press("张伟", card, f"tick:{site}")  # a photo check cannot be ticked either
    await chat.should_send("张伟", text="这个按钮已失效")
    await chat.settle()
    assert (await items(chat, RUIFENG, "方案报价"))["site_photo"].status == "open"


async def test_only_the_sender_moves_a_piece_of_evidence(chat: Chat, tmp_path: Path) -> None:
    await at_stage(chat, RUIFENG, "方案报价", "张伟", template="general")
    await chat.say("张伟", "瑞丰机械 检查清单")
    await checklist(chat, "张伟", NAME, "方案报价")
    await chat.say("张伟", "今天去瑞丰机械看了安装场地，下周一报价")
    await chat.press("张伟", await chat.should_send("张伟", card="动作记录待确认"), "confirm")
    await chat.send_photo("张伟", photo(tmp_path / "site.jpg", lat=31.4912, lng=120.3567, taken="2026:11:24 09:59:00"))
    moved = await chat.should_send("张伟", card="已作为凭证附到记录")
    target = f"mv:i{await item_id(chat, RUIFENG, '方案报价', 'site_photo')}"
    await chat.press("王芳", moved, target)
    await chat.should_send("王芳", text="只能由发送凭证的本人操作")
    await chat.settle()
    assert (await items(chat, RUIFENG, "方案报价"))["site_photo"].status == "open"
