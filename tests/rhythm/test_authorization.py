"""Wrong-person presses are refused and change nothing: only the rep marks their items, only the rep's
supervisor chain picks reasons or block reasons, and only actions the card shows right now count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import Customer, MustDo, Person, WarningRecord
from tests.conftest import make_config, seeded
from tests.foundation.test_capture_flow import press
from tests.rhythm.conftest import card_rows, items, latest, texts


async def refused(service: Service, person: Person, part: str) -> bool:
    return any(t.startswith("⛔") and part in t for t in await texts(service, person))


async def snapshot(service: Service) -> list[tuple[Any, ...]]:
    async with service.db.session() as s:
        rows = (await s.execute(select(MustDo).order_by(MustDo.id))).scalars()
        return [(m.id, m.chosen, m.status, m.reason, m.reason_by) for m in rows]


async def test_only_the_rep_marks_their_items(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    zw, ln, wf = people["张伟"], people["李娜"], people["王芳"]
    assert "处理 8 项" in await service.scheduler.run("morning_must_do")
    [card] = await card_rows(service, "must_do", zw)
    first = (await items(service, zw, service.clock.now().date()))[0]
    before, body = await snapshot(service), await latest(service, card.id)
    for who in (ln, wf):  # a colleague, the supervisor
        assert await press(client, who, card.id, f"pick:{first.id}:on") == 200
    await service.inbox.drain()
    assert await refused(service, ln, "只能由张伟本人操作") and await refused(service, wf, "只能由张伟本人操作")
    for action in ("lock", f"done:{first.id}", "pick:999999", "pick:abc", "confirm"):  # not on the card now
        await press(client, zw, card.id, action)
    await service.inbox.drain()
    assert await refused(service, zw, "已失效")
    assert await snapshot(service) == before and await latest(service, card.id) == body

    await press(client, zw, card.id, "custom", "x" * 61)  # too long: the card says why, nothing stored
    await service.inbox.drain()
    assert "60字以内" in (await latest(service, card.id))["note"] and await snapshot(service) == before


async def test_only_the_supervisor_chain_picks_reasons(client: TestClient, service: Service,
                                                       people: dict[str, Person], clock: FixedClock) -> None:
    zw, wf, lq, boss, zm = people["张伟"], people["王芳"], people["刘强"], people["周建国"], people["赵敏"]
    await service.scheduler.run("morning_must_do")
    clock.set(clock.now().replace(hour=16))
    await service.scheduler.run("end_of_day")
    [card] = [c for c in await card_rows(service, "reason", wf) if c.subject["rep_id"] == zw.id]
    first = card.subject["item_ids"][0]
    before = await snapshot(service)
    for who in (zw, lq, zm):  # the rep himself (his own red item), another team's supervisor, a colleague
        await press(client, who, card.id, f"reason:{first}:change")
    await service.inbox.drain()
    for who in (zw, lq, zm):
        assert await refused(service, who, "张伟的上级主管")
    for action in ("reason:999999:change", f"reason:{first}:bribe", f"reason:{card.subject['item_ids'][-1]}:docs"
                   if len(card.subject["item_ids"]) > 1 else "reason:0:docs"):
        await press(client, wf, card.id, action)  # items or codes the card does not offer now
    await service.inbox.drain()
    assert await refused(service, wf, "已失效") and await snapshot(service) == before

    await press(client, boss, card.id, f"reason:{first}:docs")  # the manager is in 张伟's chain
    await service.inbox.drain()
    async with service.db.session() as s:
        item = await s.get(MustDo, first)
    assert item is not None and (item.reason, item.reason_by) == ("docs", boss.id)


async def test_only_the_supervisor_chain_sets_block_reasons(tmp_path: Path, aiohttp_client: Any,
                                                            clock: FixedClock) -> None:
    cfg = make_config(tmp_path, rules={"sales_bp": ["吴静"]})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    async with service.db.session() as s:
        people = {p.name: p for p in (await s.execute(select(Person))).scalars()}
    zw, wf, lq, bp = people["张伟"], people["王芳"], people["刘强"], people["吴静"]
    assert "发出" in await service.scheduler.run("warning_scan")
    async with service.db.session() as s:
        owned = set((await s.execute(select(Customer.id).where(Customer.owner_id == zw.id))).scalars())
        stale = [w for w in (await s.execute(select(WarningRecord).where(WarningRecord.kind == "stale_lead")))
                 .scalars() if w.customer_id in owned]
    sup_card = next(w for w in stale if w.audience_id == wf.id)
    bp_card = next(w for w in stale if w.audience_id == bp.id and w.customer_id == sup_card.customer_id)
    assert sup_card.card_id and bp_card.card_id
    assert "block:docs" in [b["action"] for b in (await latest(service, sup_card.card_id))["buttons"]]
    assert not (await latest(service, bp_card.card_id))["buttons"]  # the BP is copied, not in the chain
    for who, card_id in ((zw, sup_card.card_id), (lq, sup_card.card_id), (bp, bp_card.card_id)):
        await press(client, who, card_id, "block:docs")
    await service.inbox.drain()
    for who in (zw, lq):
        assert await refused(service, who, "张伟的上级主管")
    assert await refused(service, bp, "")  # the BP's copy offers no button at all
    async with service.db.session() as s:
        assert (await s.get(Customer, sup_card.customer_id)).block_reason is None  # type: ignore[union-attr]
    await press(client, wf, sup_card.card_id, "block:other", "")  # 其他 without a word: refused on the card
    await service.inbox.drain()
    assert "需要写一句说明" in (await latest(service, sup_card.card_id))["note"]
    await press(client, wf, sup_card.card_id, "block:other", "客户在等集团预算批复")
    await service.inbox.drain()
    async with service.db.session() as s:
        c = await s.get(Customer, sup_card.customer_id)
    assert c is not None and (c.block_reason, c.block_note, c.blocked_by) == ("other", "客户在等集团预算批复", wf.id)
    assert (await latest(service, bp_card.card_id))["color"] == "grey"  # every copy shows the block
