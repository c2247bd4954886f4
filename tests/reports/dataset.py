"""A small fixed org whose report numbers are worked out by hand in the tests (the arithmetic is in each
test's comments). T is the report moment; the window is the 30 days before it.

People: 经理 M → 主管 S → reps A, B.   Customers: c1 (A, general chain 采购/技术负责人/财务/决策人, 方案报价),
c2 (A, manufacturing chain 采购/设备部/工艺负责人/生产负责人/财务/总经理, 需求确认), c3 (B, general, 初步接触).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from handlers.reports.scope import Window
from storage.db import Database
from storage.models import (
    ActionRecord,
    ActionType,
    ChecklistItem,
    Customer,
    Lead,
    LeadStatus,
    MustDo,
    MustDoStatus,
    Person,
    RecordStatus,
    Role,
    StageChange,
    Task,
    TaskStatus,
    Verification,
    VerifyStatus,
    WarningRecord,
)
from tests.conftest import TZ

T = datetime(2026, 11, 24, 18, 30, tzinfo=TZ)
TODAY = T.date()
YESTERDAY = date(2026, 11, 23)
WINDOW = Window.ending(T, 30, TZ)


def ago(days: float, hours: float = 0) -> datetime:
    return T - timedelta(days=days, hours=hours)


@dataclass
class Org:
    db: Database
    m: int
    s: int
    a: int
    b: int


def _rec(rep: int, customer: str | None, kind: ActionType, at: datetime, **kw: Any) -> ActionRecord:
    kw.setdefault("next_touch", TODAY + timedelta(days=3))
    kw.setdefault("status", RecordStatus.confirmed)
    return ActionRecord(type=kind, customer_id=customer, rep_id=rep, text="…", created_at=at, confirmed_at=at, **kw)


async def build(url: str) -> Org:
    db = Database(url)
    await db.migrate()
    async with db.session() as s, s.begin():
        people: dict[str, Person] = {}
        for key, name, role, boss in (("m", "经理", Role.manager, None), ("s", "主管", Role.supervisor, "m"),
                                      ("a", "销售甲", Role.rep, "s"), ("b", "销售乙", Role.rep, "s"),
                                      ("x", "离职", Role.rep, "s")):
            p = Person(name=name, role=role, supervisor_id=people[boss].id if boss else None, active=key != "x")
            s.add(p)
            await s.flush()
            people[key] = p
        a, b = people["a"].id, people["b"].id
        assert a is not None and b is not None
        s.add_all([
            Customer(id="c1", name="一号客户", owner_id=a, stage="方案报价", created_at=ago(40), last_action_at=ago(1)),
            Customer(id="c2", name="二号客户", owner_id=a, stage="需求确认", template="manufacturing",
                     created_at=ago(60), last_action_at=ago(8)),
            Customer(id="c3", name="三号客户", owner_id=b, stage="初步接触", created_at=ago(40), last_action_at=ago(4)),
        ])
        await s.flush()
        # leads: A 3 h, B 1.5 h, A one still waiting; one outside the window (100 h) does not count
        s.add_all([
            Lead(source="t", source_lead_id="1", company="x", owner_id=a, status=LeadStatus.accepted,
                 assigned_at=ago(10), first_contact_at=ago(10) + timedelta(hours=3)),
            Lead(source="t", source_lead_id="2", company="x", owner_id=b, status=LeadStatus.accepted,
                 assigned_at=ago(5), first_contact_at=ago(5) + timedelta(hours=1.5)),
            Lead(source="t", source_lead_id="3", company="x", owner_id=a, status=LeadStatus.assigned, assigned_at=ago(2)),
            Lead(source="t", source_lead_id="4", company="x", owner_id=a, status=LeadStatus.accepted,
                 assigned_at=ago(40), first_contact_at=ago(40) + timedelta(hours=100)),
        ])
        # stage moves: c1 20 d (from creation) and 4 d; c2 6 d (its previous move is outside the window)
        s.add_all([
            StageChange(customer_id="c1", old="初步接触", new="需求确认", at=ago(20)),
            StageChange(customer_id="c1", old="需求确认", new="方案报价", at=ago(16)),
            StageChange(customer_id="c2", old="初步接触", new="需求确认", at=ago(35)),
            StageChange(customer_id="c2", old="需求确认", new="方案报价", at=ago(29)),
        ])
        # tasks: 2 d and 0.5 d closed in the window; one closed before it
        for cid, created, done in (("c1", ago(5), ago(3)), ("c3", ago(4), ago(3.5)), ("c1", ago(50), ago(45))):
            s.add(Task(customer_id=cid, stage="方案报价", role="presales", title="API对接", assignee_id=people["s"].id or 0,
                       requested_by=a, status=TaskStatus.done, created_at=created, done_at=done))
        recs = {
            "r1": _rec(a, "c1", ActionType.visit, ago(10), evidence=[{"kind": "photo"}], needs=["API对接"],
                       contact_role="采购经理", budget=500000, expected_date=date(2026, 12, 14),
                       promised_date=date(2026, 12, 14)),
            "r2": _rec(a, "c1", ActionType.visit, ago(9), contact_role="总经理", status=RecordStatus.to_verify),
            "r3": _rec(a, "c1", ActionType.call, ago(8, 2), next_touch=None, needs=["交期"], quote_amount=450000,
                       expected_date=date(2026, 12, 14), promised_date=date(2026, 12, 20)),
            "r4": _rec(a, None, ActionType.other, ago(7)),
            "r5": _rec(a, "c2", ActionType.quote, ago(8), needs=["产线改造"], contact_role="设备科主任",
                       quote_amount=800000, expected_date=date(2026, 12, 16), promised_date=date(2027, 1, 15)),
            "r6": _rec(b, "c3", ActionType.message, ago(6), contact_role="财务总监", needs=["数据看板"]),
            "r7": _rec(b, "c3", ActionType.call, ago(5), needs=["账期"], contact_role="采购专员"),
            "r8": _rec(a, "c1", ActionType.contract, ago(2), contract_amount=500000, status=RecordStatus.draft),
            "r9": _rec(a, "c1", ActionType.visit, ago(40), contact_role="技术总监", budget=300000,
                       evidence=[{"kind": "photo"}], expected_date=date(2026, 12, 14), promised_date=date(2026, 12, 1)),
            "r10": _rec(a, "c1", ActionType.contract, ago(1), contract_amount=200000),
            "r11": _rec(a, "c1", ActionType.payment, ago(22), payment_amount=100000),
            "r12": _rec(a, "c1", ActionType.payment, datetime(2026, 10, 20, 10, tzinfo=TZ), payment_amount=999999),
        }
        s.add_all(recs.values())
        await s.flush()
        s.add_all([
            Verification(record_id=recs["r6"].id or 0, rep_id=b, status=VerifyStatus.confirmed, created_at=ago(6),
                         due_at=ago(6) + timedelta(hours=2), resolved_at=ago(6) + timedelta(hours=1.5)),
            Verification(record_id=recs["r2"].id or 0, rep_id=a, created_at=ago(9), due_at=ago(9) + timedelta(hours=2)),
        ])
        # must-dos: yesterday A done/done/red(客户临时变更), B done/red(no reason) + a proposal not chosen;
        # today A done, B red(资料未齐)
        rows = [(a, YESTERDAY, MustDoStatus.done, None), (a, YESTERDAY, MustDoStatus.done, None),
                (a, YESTERDAY, MustDoStatus.red, "change"), (b, YESTERDAY, MustDoStatus.done, None),
                (b, YESTERDAY, MustDoStatus.red, None), (a, TODAY, MustDoStatus.done, None),
                (b, TODAY, MustDoStatus.red, "docs")]
        for rank, (rep, day, status, reason) in enumerate(rows):
            s.add(MustDo(rep_id=rep, local_date=day, rank=rank, source="custom", title="…", chosen=True,
                         status=status, reason=reason))
        s.add(MustDo(rep_id=b, local_date=YESTERDAY, rank=99, source="overdue", title="…", chosen=False,
                     status=MustDoStatus.dropped))
        # checklist evidence: c1 photo done with evidence, file open (+ a tick and an optional check, not counted);
        # c3 voice "done" without its evidence
        s.add_all([
            ChecklistItem(customer_id="c1", stage="方案报价", key="site_photo", title="…", evidence_kind="photo",
                          status="done", evidence={"path": "ab/x.jpg"}),
            ChecklistItem(customer_id="c1", stage="方案报价", key="quote_sent", title="…", evidence_kind="file"),
            ChecklistItem(customer_id="c1", stage="方案报价", key="decision_maker", title="…", status="done"),
            ChecklistItem(customer_id="c1", stage="签约", key="po", title="…", evidence_kind="file", required=False,
                          status="done", evidence={"path": "cd/y.pdf"}),
            ChecklistItem(customer_id="c3", stage="需求确认", key="needs", title="…", evidence_kind="voice",
                          status="done"),
        ])
        s.add(WarningRecord(kind="stale_lead", customer_id="c3", episode="c3@x", level="red",
                            audience_id=people["s"].id or 0, created_at=ago(1)))
        org = Org(db, people["m"].id or 0, people["s"].id or 0, a, b)
    return org
