"""Stage gates in the demo org: industry templates on a few customers, 仁爱医院 (张伟's, 三甲 template) half-way
through its 方案报价 checklist with the card waiting in 张伟's chat, and one 待核实 record (a photo without EXIF)
waiting on 王芳's verify card — so a newcomer sees checklists and verification within a minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.checklist import StageRules, complete, ensure_items, send_checklist
from handlers.context import Context
from handlers.credibility import Finding, flag
from storage.models import ActionRecord, ActionType, Customer, Person, RecordStatus

TEMPLATES = {"D001": "manufacturing", "D004": "retail_chain", "D016": "medical_2a", "D018": "education",
             "D019": "medical_3a"}
HOSPITAL, DONE = "D019", {"decision_maker": None, "quote_sent": {"kind": "file", "name": "仁爱医院报价单.pdf"}}


async def seed_demo_stages(session: AsyncSession, make_context: Callable[[str, AsyncSession], Context],
                           rules: StageRules, now: datetime) -> str:
    ctx = make_context("demo:stages", session)
    customers = {c.id: c for c in (await session.execute(
        select(Customer).where(col(Customer.id).in_(TEMPLATES)))).scalars()}
    for cid, template in TEMPLATES.items():
        if cid in customers:
            customers[cid].template = template
    hospital = customers.get(HOSPITAL)
    if hospital is None or hospital.owner_id is None:
        return "no stage demo (customer list changed)"
    hospital.stage = "方案报价"
    await session.flush()
    for item in await ensure_items(ctx, rules, hospital):
        if item.key in DONE:
            await complete(ctx, item, hospital.owner_id, DONE[item.key])
    rep = await session.get(Person, hospital.owner_id)
    assert rep is not None
    await send_checklist(ctx, rules, hospital, rep)
    record = ActionRecord(type=ActionType.visit, customer_id="D001", rep_id=hospital.owner_id, status=RecordStatus.confirmed,
                          text="今天上午拜访了瑞丰机械设备部，看了新车间，下周二带方案过去", confidence=0.9,
                          created_at=now - timedelta(minutes=40), confirmed_at=now - timedelta(minutes=39),
                          evidence=[{"kind": "image", "name": "车间.jpg", "at": (now - timedelta(minutes=38)).isoformat()}])
    session.add(record)
    await session.flush()
    await flag(make_context("demo:verify", session), rules, record,
               [Finding("photo_no_exif", "照片没有拍摄时间和位置信息（可能是截图或转发的图片）")])
    return "checklists and one 待核实 record"
