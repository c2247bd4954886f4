"""The demo org: 1 manager, 2 supervisors, 6 reps, 1 store manager, 3 store staff, 2 presales, 2 delivery (one
leads), 1 legal, 1 finance, 20 customers and
two weeks of believable records, so the emulator has something to show on first start."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.demo.store import seed_store
from bot.importers import import_customers, link_identity
from storage.models import ActionRecord, ActionType, Contact, Customer, Person, RecordStatus, Role

CUSTOMERS_CSV = Path(__file__).resolve().parent / "customers.csv"
STAGES = ["初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款"]
# (name, role, supervisor name, region)
ORG = [
    ("周建国", Role.manager, None, "华东大区"),
    ("王芳", Role.supervisor, "周建国", "江苏"),
    ("刘强", Role.supervisor, "周建国", "浙江·湖南"),
    ("张伟", Role.rep, "王芳", "无锡"),
    ("李娜", Role.rep, "王芳", "南通"),
    ("陈磊", Role.rep, "王芳", "苏州"),
    ("赵敏", Role.rep, "刘强", "宁波"),
    ("孙浩", Role.rep, "刘强", "杭州"),
    ("周婷", Role.rep, "刘强", "长沙"),
    ("吴静", Role.store_manager, "周建国", "长沙旗舰店"),
    ("郑丽", Role.store_staff, "吴静", "长沙旗舰店"),
    ("冯雪", Role.store_staff, "吴静", "长沙旗舰店"),
    ("何洋", Role.store_staff, "吴静", "长沙旗舰店"),
    # who answers cross-role tasks (需要协同): 售前, 实施 (黄建华 leads delivery and is copied on every task), 法务, 财务
    ("陈思远", Role.presales, "周建国", "华东大区"),
    ("林浩然", Role.presales, "周建国", "华东大区"),
    ("黄建华", Role.delivery, "周建国", "华东大区"),
    ("马俊", Role.delivery, "黄建华", "华东大区"),
    ("罗晓", Role.legal, "周建国", "华东大区"),
    ("钱敏", Role.finance, "周建国", "华东大区"),
]
# where each rep starts the day (their city): nearest-rep lead assignment measures from here
HOMES = {"张伟": (31.4912, 120.3119), "李娜": (31.9802, 120.8943), "陈磊": (31.2990, 120.5853),
         "赵敏": (29.8683, 121.5440), "孙浩": (30.2741, 120.1551), "周婷": (28.2282, 112.9388)}
CONTACTS = [("张总", "总经理"), ("李经理", "采购经理"), ("王工", "工程师"), ("刘主任", "设备科主任"), ("陈总监", "采购总监")]
NEEDS = ["产线改造", "新国标适配", "API对接", "账期", "交期", "售后响应", "数据看板", "节能降耗"]
TEMPLATES: list[tuple[ActionType, str]] = [
    (ActionType.visit, "今天去{c}拜访了{p}，聊了{n}的事，{next}再跟进"),
    (ActionType.call, "📞 给{c}{p}打电话，确认{n}需求，{next}再联系"),
    (ActionType.presentation, "在{c}给{p}做了方案演示，重点讲{n}，{next}回访"),
    (ActionType.quote, "{c}的报价单已发给{p}，含{n}，{next}确认"),
    (ActionType.message, "微信发了{n}资料给{c}{p}，{next}电话跟进"),
    (ActionType.objection, "{c}{p}嫌价格高，解释了{n}的价值，{next}再谈"),
]


async def seed_demo(session: AsyncSession, now: datetime, tz: ZoneInfo, seed: int = 7) -> str:
    """Idempotent: an org that already has people is left alone."""
    if (await session.execute(select(func.count()).select_from(Person))).scalar_one():
        return "demo data already present; nothing changed"
    rng = random.Random(seed)
    people: dict[str, Person] = {}
    for name, role, boss, region in ORG:
        home = HOMES.get(name)
        p = Person(name=name, role=role, region=region, supervisor_id=people[boss].id if boss else None,
                   home_lat=home[0] if home else None, home_lng=home[1] if home else None)
        session.add(p)
        await session.flush()
        people[name] = p
        assert p.id is not None
        await link_identity(session, p, "local", str(p.id))
    reps = [p for p in people.values() if p.role == Role.rep]
    await import_customers(session, CUSTOMERS_CSV, owner_ids=[r.id for r in reps if r.id is not None])
    customers = list((await session.execute(select(Customer).order_by(col(Customer.id)))).scalars())
    for c in customers:
        c.stage = rng.choice(STAGES[:4])
        c.created_at = now - timedelta(days=30)
        for name, title in rng.sample(CONTACTS, 2):
            session.add(Contact(customer_id=c.id, name=name, role=title, phone=f"1{rng.randint(3, 9)}{rng.randint(10**8, 10**9 - 1)}"))
    records = 0
    today = now.astimezone(tz).date()
    for day_back in range(14, 0, -1):
        day = today - timedelta(days=day_back)
        if day.weekday() >= 5:
            continue
        for rep in reps:
            own = [c for c in customers if c.owner_id == rep.id]
            for _ in range(rng.randint(1, 2)):
                c = rng.choice(own)
                kind, text = rng.choice(TEMPLATES)
                contact, title = rng.choice(CONTACTS)
                gap = rng.choice([1, 2, 3, 5, 7])
                nxt = day + timedelta(days=gap)
                at = datetime.combine(day, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=tz)
                need = rng.choice(NEEDS)
                phrase = f"{nxt.month}月{nxt.day}号"
                budget = rng.choice([None, None, 300000, 500000, 800000])
                quoted = rng.choice([280000, 460000, 750000]) if kind == ActionType.quote else None
                session.add(ActionRecord(
                    type=kind, customer_id=c.id, rep_id=rep.id or 0, text=text.format(c=c.aliases[0] if c.aliases else c.name, p=contact, n=need, next=phrase),
                    next_touch=nxt, contact=contact, contact_role=title, needs=[need], budget=budget, quote_amount=quoted,
                    status=RecordStatus.confirmed, confidence=0.9, created_at=at, confirmed_at=at + timedelta(seconds=20),
                ))
                c.last_action_at = max(c.last_action_at or at, at)
                records += 1
    await session.flush()
    stores = await seed_store(session, people, now, rng)
    return f"seeded {len(people)} people, {len(customers)} customers, {records} action records; {stores}"
