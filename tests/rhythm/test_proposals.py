"""The morning's ranking, on SQLite and PostgreSQL (the database groups, orders and cuts it): overdue
touches by the missed date, then stale and new leads by their last touch or entry, then open stage-gate
checks, then touches planned for today; blocked and signed customers only when overdue; one proposal per
customer; at most ``must_do_proposals`` per rep, however many each group holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.must_do import propose_many
from handlers.rhythm import Rules
from storage.db import Database
from storage.models import ActionRecord, ActionType, ChecklistItem, Customer, Person, RecordStatus, Role
from tests.conftest import TZ

NOW = datetime(2026, 11, 24, 8, 45, tzinfo=TZ)
TODAY = NOW.date()


def ago(hours: float) -> datetime:
    return (NOW - timedelta(hours=hours)).astimezone(UTC)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.migrate()
    async with database.session() as s, s.begin():
        s.add_all([Person(id=1, name="张伟", role=Role.rep), Person(id=2, name="李娜", role=Role.rep)])
        await s.flush()
        # (id, aliases, stage, block, last touch h ago, next touch, created h ago, record status)
        rows: list[tuple[str, list[str], str, str | None, float | None, date | None, float, RecordStatus]] = [
            ("late2", ["晚二"], "需求确认", None, 30, TODAY - timedelta(days=2), 900, RecordStatus.confirmed),
            ("late5", [], "需求确认", None, 30, TODAY - timedelta(days=5), 900, RecordStatus.confirmed),
            ("late5b", [], "签约", "价格", 30, TODAY - timedelta(days=5), 900, RecordStatus.confirmed),
            ("stale100", [], "方案报价", None, 100, TODAY + timedelta(days=3), 900, RecordStatus.confirmed),
            ("stale200", [], "方案报价", None, 200, None, 900, RecordStatus.to_verify),
            ("new150", [], "初步接触", None, None, None, 150, RecordStatus.confirmed),
            ("blocked", [], "方案报价", "预算冻结", 300, None, 900, RecordStatus.confirmed),
            ("signed", [], "签约", None, 300, None, 900, RecordStatus.confirmed),
            ("planA", [], "需求确认", None, 10, TODAY, 900, RecordStatus.confirmed),
            ("planB", [], "需求确认", None, 5, TODAY, 900, RecordStatus.confirmed),
            ("fresh", [], "需求确认", None, 5, TODAY + timedelta(days=1), 900, RecordStatus.confirmed),
            ("draft", [], "需求确认", None, 5, TODAY - timedelta(days=9), 900, RecordStatus.draft),
        ]
        for cid, aliases, stage, block, last_h, _nxt, created_h, _status in rows:
            s.add(Customer(id=cid, name=f"{cid}有限公司", aliases=aliases, stage=stage, owner_id=1, block_reason=block,
                           created_at=ago(created_h), last_action_at=ago(last_h) if last_h is not None else None))
        await s.flush()
        for cid, _a, _s, _b, last_h, nxt, _c, status in rows:
            if last_h is not None:
                s.add(ActionRecord(type=ActionType.visit, customer_id=cid, rep_id=1, text="拜访", next_touch=nxt,
                                   status=status, created_at=ago(last_h)))
        s.add(ChecklistItem(customer_id="planB", stage="需求确认", key="k", title="确认预算"))
        s.add(ChecklistItem(customer_id="fresh", stage="需求确认", key="k", title="确认决策人"))
        s.add(ChecklistItem(customer_id="fresh", stage="初步接触", key="old", title="旧阶段的检查"))
        s.add(Customer(id="other", name="别人的客户", owner_id=2, created_at=ago(500)))
    yield database
    await database.close()


async def proposals(db: Database, keep: int) -> dict[int, list[tuple[str, str, str]]]:
    async with db.session() as s:
        ctx = Context(session=s, clock=FixedClock(NOW), settings=Settings(), key_prefix="t")
        got = await propose_many(ctx, Rules(must_do_proposals=keep), [1, 2])
    return {rep: [(p.source, p.customer_id, p.title) for p in ps] for rep, ps in got.items()}


async def test_the_card_ranks_overdue_stale_checklist_then_today(db: Database) -> None:
    got = await proposals(db, keep=12)
    assert [(src, cid) for src, cid, _ in got[1]] == [
        ("overdue", "late5"), ("overdue", "late5b"), ("overdue", "late2"),  # by missed date, ties by id
        ("stale", "stale200"), ("new", "new150"), ("stale", "stale100"),  # oldest touch (or entry) first
        ("checklist", "planB"), ("checklist", "fresh"),  # the current stage's open checks, oldest first
        ("today", "planA"),  # planB is already on the card through its check
    ]
    titles = {cid: title for _, cid, title in got[1]}
    assert titles["late2"] == "晚二：原定11月22日跟进，已逾期2天"  # the first alias is the short name
    assert titles["stale200"] == "stale200有限公司：8天没有跟进（上次拜访）"
    assert titles["new150"] == "new150有限公司：新线索，尚未首次联系"
    assert titles["planA"] == "planA有限公司：今天计划跟进（上次拜访）"
    assert got[2] == [("new", "other", "别人的客户：新线索，尚未首次联系")]


@pytest.mark.parametrize("keep", [1, 2, 4, 5])
async def test_a_short_card_is_the_head_of_the_long_one(db: Database, keep: int) -> None:
    """Each group is cut in the database; what is left is still exactly the first ``keep`` of the ranking."""
    full = (await proposals(db, keep=12))[1]
    assert (await proposals(db, keep=keep))[1] == full[:keep]
