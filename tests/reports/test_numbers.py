"""Every KPI, every CQI part, both radars, the digest and the commission against hand-computed values on the
small fixed org of ``dataset.py`` (the arithmetic is written beside each expectation)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from handlers.reports import commission, cqi, digest, kpis, radar
from handlers.reports.scope import reps_under
from tests.conftest import TZ
from tests.reports.dataset import TODAY, WINDOW, Org, build

CHAINS = {"general": ("采购", "技术负责人", "财务", "决策人"),
          "manufacturing": ("采购", "设备部/工艺负责人", "生产负责人", "财务", "总经理")}
ORDER = ("初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款")


def chains(template: str | None) -> tuple[str, ...]:
    return CHAINS[template or "general"]


@pytest.fixture
async def org(db_url: str) -> AsyncIterator[Org]:
    """The same numbers on SQLite and on PostgreSQL."""
    o = await build(db_url)
    yield o
    await o.db.close()


async def test_the_subtree_is_every_active_rep_below(org: Org) -> None:
    async with org.db.session() as s:
        assert await reps_under(s, org.m) == [org.a, org.b]  # 离职 (inactive) is left out
        assert await reps_under(s, org.a) == [org.a]


async def test_first_response(org: Org) -> None:
    async with org.db.session() as s:
        team = await kpis.first_response(s, [org.a, org.b], WINDOW)
        a = await kpis.first_response(s, [org.a], WINDOW)
    assert team.value == pytest.approx((3 + 1.5) / 2) and team.count == 2  # the 100 h lead is outside the window
    assert team.extra == "另有 1 条线索未联系"
    assert a.value == pytest.approx(3.0)
    assert team.line() == "首次响应 2.2 小时（行业 18.3 小时 → 前10% ≤ 1.2 小时），另有 1 条线索未联系"
    assert team.compact() == "2.2 小时（行业 18.3 → 前10% ≤1.2）"


async def test_stage_dwell(org: Org) -> None:
    async with org.db.session() as s:
        team = await kpis.stage_dwell(s, [org.a, org.b], WINDOW)
        b = await kpis.stage_dwell(s, [org.b], WINDOW)
    # c1: created → 需求确认 20 d, → 方案报价 4 d; c2: 6 d after its move 35 days ago (which is outside)
    assert team.value == pytest.approx((20 + 4 + 6) / 3) and team.count == 3
    assert b.value is None and b.shown() == "无数据"


async def test_cross_role_task_closure(org: Org) -> None:
    async with org.db.session() as s:
        team = await kpis.task_closure(s, [org.a, org.b], WINDOW)
        b = await kpis.task_closure(s, [org.b], WINDOW)
    assert team.value == pytest.approx((2 + 0.5) / 2) and team.count == 2  # the task closed 45 days ago is out
    assert b.value == pytest.approx(0.5)


async def test_data_completeness(org: Org) -> None:
    async with org.db.session() as s:
        team = await kpis.completeness(s, [org.a, org.b], WINDOW)
        a = await kpis.completeness(s, [org.a], WINDOW)
    # A: r1 ✓ (visit + photo), r2 ✗ (visit, no evidence), r3 ✗ (no next touch), r4 ✗ (其他, no customer),
    # r5 ✓, r10 ✓, r11 ✓; the draft r8 and the old r9/r12 are not counted. B: r6 ✓, r7 ✓.
    assert a.value == pytest.approx(4 / 7) and a.count == 7
    assert team.value == pytest.approx(6 / 9)
    assert team.line() == "数据完整度 66.7%（行业 63.2% → 前10% ≥ 95.4%）"
    assert team.compact() == "66.7%（行业 63.2% → 前10% ≥95.4%）"


async def test_must_do_completion(org: Org) -> None:
    async with org.db.session() as s:
        team = await kpis.must_do_completion(s, [org.a, org.b], WINDOW)
        a = await kpis.must_do_completion(s, [org.a], WINDOW)
        b = await kpis.must_do_completion(s, [org.b], WINDOW)
    assert [a.value, b.value, team.value] == pytest.approx([3 / 4, 1 / 3, 4 / 7])
    assert team.count == 7  # the proposal nobody chose does not count


async def test_credibility(org: Org) -> None:
    async with org.db.session() as s:
        share, time = await kpis.credibility(s, [org.a, org.b], WINDOW, records=9)
        a_share, a_time = await kpis.credibility(s, [org.a], WINDOW, records=7)
    assert share.value == pytest.approx(2 / 9) and time.value == pytest.approx(1.5) and time.extra == "1 条未核实"
    assert a_share.value == pytest.approx(1 / 7) and a_time.value is None


async def test_cqi_parts_per_rep_and_team(org: Org) -> None:
    async with org.db.session() as s:
        data = await cqi.load(s, [org.a, org.b], WINDOW)
    a, b, team = cqi.compute(data, chains, org.a), cqi.compute(data, chains, org.b), cqi.compute(data, chains)
    # touch depth: c1 采购经理/技术总监(r9, older)/总经理 → 3 of 4; c2 设备科主任 → 1 of 5; c3 财务总监/采购专员 → 2 of 4
    assert a.touch_depth == pytest.approx((0.75 + 0.2) / 2) and b.touch_depth == pytest.approx(0.5)
    assert team.touch_depth == pytest.approx((0.75 + 0.2 + 0.5) / 3)
    # need anchoring: A r1, r3, r5 of 6 touches; B r6, r7 of 2
    assert (a.need_anchoring, b.need_anchoring, team.need_anchoring) == (0.5, 1.0, 5 / 8)
    # rhythm: c1's cycle 10-15 → 12-14 = 60 d: r1 1 − 0/60, r3 1 − 6/60; c2's 11-16 → 12-16 = 30 d: r5 1 − 30/30
    assert a.rhythm_match == pytest.approx((1 + 0.9 + 0) / 3) and b.rhythm_match is None
    assert team.rhythm_match == pytest.approx(a.rhythm_match or 0) and team.promises == 3
    assert a.lines()[0] == "触达深度 48%（健康 ≥ 82%）⚠️"


def test_chain_roles_are_filled_by_titles() -> None:
    assert cqi.reaches("采购", "采购总监") and cqi.reaches("决策人", "董事长") and cqi.reaches("技术负责人", "王工程师")
    assert cqi.reaches("采购办/招标办", "招标办主任") and cqi.reaches("设备部/工艺负责人", "设备科主任")
    assert not cqi.reaches("财务", "采购经理") and cqi.depth((), ["采购"]) is None


async def test_customer_health_radar(org: Org) -> None:
    async with org.db.session() as s:
        rows = await radar.customer_health(s, org.a, WINDOW, chains)
    c1, c2 = rows  # most recently touched first
    # c1: depth 3/4, needs on 2 of its 5 touches, latest budget 500,000 vs latest quote 450,000 → 0.9
    assert (c1.customer_id, c1.coverage, c1.clarity) == ("c1", 0.75, 0.4) and c1.budget == pytest.approx(0.9)
    assert (c2.customer_id, c2.coverage, c2.clarity, c2.budget) == ("c2", 0.2, 1.0, None)  # no budget stated


async def test_process_health_radar(org: Org) -> None:
    async with org.db.session() as s:
        h = await radar.process_health(s, [org.a], WINDOW)
    assert h.scores == {
        "首次响应": pytest.approx((18.3 - 3) / (18.3 - 1.2)),
        "阶段节奏": 0.0,  # 10 d is worse than the 5.7 d industry average
        "数据完整": pytest.approx(4 / 7),
        "必做完成": pytest.approx(0.75),
        "可信度": pytest.approx(1 - 1 / 7),
        "清单举证": 0.5,  # c1's photo check done with its photo, its file check open
    }
    async with org.db.session() as s:
        assert await radar.checklist_evidence(s, [org.b]) == (0, 1)  # "done" without the voice note it needs


async def test_digest(org: Org) -> None:
    async with org.db.session() as s:
        d = await digest.build(s, await reps_under(s, org.m), WINDOW, ORDER, ("签约", "回款"), 30)
    assert (d.day, d.reps, d.must_done, d.must_chosen, d.reds) == (TODAY, 2, 1, 2, {"资料未齐": 1})
    assert d.funnel == [("初步接触", 1), ("需求确认", 1), ("方案报价", 1), ("商务谈判", 0), ("签约", 0), ("回款", 0)]
    assert [(r.customer_id, r.why) for r in d.risks] == [
        ("c3", "红灯·超时无更新"), ("c2", "8 天未跟进"), ("c1", "1 天未跟进")]
    assert [k.key for k in d.kpis] == ["first_response", "stage_dwell", "task_closure", "completeness", "must_do",
                                       "flagged", "verify_time"]


async def test_commission_of_the_month(org: Org) -> None:
    f = commission.Formula.parse("new_contract * 0.05 + payment * 0.02")
    async with org.db.session() as s:
        a = await commission.estimate(s, f, org.a, TODAY, TZ)
        b = await commission.estimate(s, f, org.b, TODAY, TZ)
    # r10 contract 200,000 and r11 payment 100,000 in November; the draft r8 and October's r12 do not count
    assert a.values == {"new_contract": 200000, "payment": 100000, "contracts": 1}
    assert a.amount == 200000 * 0.05 + 100000 * 0.02 == 12000 and a.month == "2026-11"
    assert b.amount == 0
