"""Capture end to end through the local channel: message → record → confirmation card → presses."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.service import Service
from storage.models import (
    ActionRecord,
    InboxEvent,
    LocalChatMessage,
    OutboxMessage,
    Person,
    RecordStatus,
)
from tests.conftest import eventually

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def say(client: TestClient, person: Person, text: str, cid: str = "") -> Any:
    cid = cid or f"c{abs(hash((person.id, text))) % 10**12:012d}"
    r = await client.post("/local/api/message", json={"person_id": person.id, "client_id": cid, "text": text})
    return r.status, await r.json() if r.status == 200 else await r.text()


async def press(client: TestClient, person: Person, card_id: str, action: str, value: str = "", cid: str = "") -> int:
    import uuid

    r = await client.post("/local/api/action", json={"person_id": person.id, "client_id": cid or uuid.uuid4().hex,
                                                     "card_id": card_id, "action": action, "value": value})
    return r.status


async def card_message(service: Service, person: Person, title_part: str = "") -> LocalChatMessage | None:
    async with service.db.session() as s:
        rows = (await s.execute(
            select(LocalChatMessage).where(LocalChatMessage.person_id == person.id, LocalChatMessage.card_id.is_not(None))
            .order_by(LocalChatMessage.id.desc())
        )).scalars().all()
    for r in rows:
        if title_part in r.body["card"]["title"]:
            return r
    return None


async def records(service: Service, person: Person) -> list[ActionRecord]:
    async with service.db.session() as s:
        return list((await s.execute(
            select(ActionRecord).where(ActionRecord.rep_id == person.id, ActionRecord.source_event_id.is_not(None))
        )).scalars())


async def texts_to(service: Service, person: Person) -> list[str]:
    async with service.db.session() as s:
        rows = (await s.execute(select(LocalChatMessage).where(
            LocalChatMessage.person_id == person.id, LocalChatMessage.direction == "out",
            LocalChatMessage.card_id.is_(None)))).scalars().all()
    return [r.body.get("text", "") for r in rows]


async def test_message_becomes_record_and_confirm(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    assert (await say(client, rep, TEXT))[0] == 200
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    card = msg.body["card"]
    facts = {f["label"]: f["value"] for f in card["facts"]}
    assert facts["客户"] == "无锡瑞丰精密机械有限公司"
    assert facts["动作"] == "拜访"
    assert facts["下次跟进"].startswith("2026-12-02")  # now is Tue 2026-11-24 → 下周三
    [rec] = await records(service, rep)
    assert rec.status == RecordStatus.draft and rec.customer_id == "D001"

    assert await press(client, rep, msg.card_id, "confirm") == 200

    async def confirmed() -> bool:
        [r] = await records(service, rep)
        m = await card_message(service, rep, "已记录")
        return r.status == RecordStatus.confirmed and m is not None and m.id == msg.id

    await eventually(confirmed)


async def test_same_event_three_times_one_record(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    results = [await say(client, rep, TEXT, cid="same-client-id-1") for _ in range(3)]
    assert [r[1]["duplicate"] for r in results] == [False, True, True]
    await eventually(lambda: card_message(service, rep, "待确认"))
    await service.inbox.drain()
    assert len(await records(service, rep)) == 1
    async with service.db.session() as s:
        cards = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.person_id == rep.id, OutboxMessage.card_id.is_not(None)))).scalar_one()
    assert cards == 1


async def test_wrong_person_press_is_refused(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep, other = people["张伟"], people["李娜"]
    await say(client, rep, TEXT)
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    assert await press(client, other, msg.card_id, "confirm") == 200
    refusal = await eventually(lambda: _texts_containing(service, other, "只能由"))
    assert "张伟" in refusal[0]
    [rec] = await records(service, rep)
    assert rec.status == RecordStatus.draft
    again = await card_message(service, rep, "待确认")
    assert again is not None and again.body == msg.body


async def test_edit_type_customer_and_date(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, TEXT)
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    steps = [("edit:type", ""), ("type:call", ""), ("edit:date", ""), ("next_touch", "2026-11-30"),
             ("edit:date", ""), ("next_touch", "2020-01-01"), ("next_touch", "not-a-date"), ("back", "")]
    for action, value in steps:
        await press(client, rep, msg.card_id, action, value)
        await service.inbox.drain()
    [rec] = await records(service, rep)
    assert rec.type.value == "call"
    assert rec.next_touch is not None and rec.next_touch.isoformat() == "2026-11-30"  # bad dates changed nothing

    async def updated() -> bool:
        m = await card_message(service, rep, "待确认")
        return m is not None and any(f["value"] == "电话" for f in m.body["card"]["facts"])

    await eventually(updated)


async def test_customer_press_must_be_offered(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, TEXT)
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    await press(client, rep, msg.card_id, "edit:customer")
    await press(client, rep, msg.card_id, "customer:D999")  # never offered
    await service.inbox.drain()
    [rec] = await records(service, rep)
    assert rec.customer_id == "D001"


async def test_unknown_card_is_refused(client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    assert await press(client, rep, "forged-card-id", "confirm") == 200
    await eventually(lambda: _texts_containing(service, rep, "已失效"))


async def _texts_containing(service: Service, person: Person, part: str) -> list[str]:
    return [t for t in await texts_to(service, person) if part in t]


async def test_bad_input_is_refused_and_changes_nothing(client: TestClient, service: Service,
                                                       people: dict[str, Person]) -> None:
    rep = people["张伟"]
    bad = [
        (b"{not json", 400),
        (b"[1,2]", 400),
        (b'{"person_id": 4, "client_id": "x", "text": "hi"}', 400),  # client id too short
        (b'{"person_id": 999, "client_id": "abcdefgh1", "text": "hi"}', 403),  # unknown user
        (b'{"person_id": %d, "client_id": "abcdefgh2"}' % rep.id, 400),  # no text
        (b'{"person_id": %d, "client_id": "abcdefgh3", "text": "' % rep.id + b"x" * 2_000_000 + b'"}', 413),
    ]
    for body, status in bad:
        r = await client.post("/local/api/message", data=body, headers={"Content-Type": "application/json"})
        assert r.status == status, (body[:60], r.status)
    async with service.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0


async def test_unknown_user_gets_no_record_and_outbox_stays_clean(client: TestClient, service: Service) -> None:
    async def counts() -> tuple[int, ...]:
        async with service.db.session() as s:
            return tuple([(await s.execute(select(func.count()).select_from(t))).scalar_one()
                          for t in (InboxEvent, ActionRecord, OutboxMessage)])

    before = await counts()
    for person_id in (999_999, -1, 0):  # no such person; and ids no person can have
        r = await client.post("/local/api/message", json={"person_id": person_id, "client_id": f"ghost-person-{person_id + 10}",
                                                          "text": "今天拜访了瑞丰机械张总，下周三再去"})
        assert r.status == 403 and "未知用户" in await r.text()
    await service.inbox.drain()
    assert await counts() == before


async def test_health_endpoints(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    r = await client.get("/readyz")
    assert r.status == 200 and (await r.json())["ok"] is True


async def test_unsure_parse_asks_with_every_picker(client: TestClient, service: Service,
                                                  people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, "恒远那边今天又聊了聊")  # 恒远 is two customers: the tagger must not guess
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    card = msg.body["card"]
    groups = {b["group"] for b in card["buttons"]}
    assert {"customer", "type", "date"} <= groups and card["inputs"]
    offered = [b["action"] for b in card["buttons"] if b["group"] == "customer"]
    assert "customer:D002" in offered and "customer:D012" in offered
    await press(client, rep, msg.card_id, "confirm")  # no customer yet → refused with a note
    await press(client, rep, msg.card_id, "customer:D012")
    await press(client, rep, msg.card_id, "type:visit")
    await service.inbox.drain()
    [rec] = await records(service, rep)
    assert rec.status == RecordStatus.draft and rec.customer_id == "D012" and rec.type.value == "visit"

    async def still_asking() -> LocalChatMessage | None:
        m = await card_message(service, rep, "待确认")
        chosen = [b["action"] for b in m.body["card"]["buttons"] if b["style"] == "primary"] if m else []
        return m if "customer:D012" in chosen and "type:visit" in chosen else None

    await eventually(still_asking)
    await press(client, rep, msg.card_id, "confirm")
    await service.inbox.drain()
    [rec] = await records(service, rep)
    assert rec.status == RecordStatus.confirmed


async def test_quote_amount_is_kept_and_shown_as_history(client: TestClient, service: Service,
                                                         people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, "瑞丰机械 报价单已发，总价36.5万，周五电话确认")
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    [rec] = await records(service, rep)
    assert rec.type.value == "quote" and rec.quote_amount == 365000 and rec.budget is None
    await press(client, rep, msg.card_id, "confirm")
    await service.inbox.drain()
    await say(client, rep, "今天拜访了瑞丰机械张总，下周三再去")

    async def second_card() -> dict[str, str] | None:
        m = await card_message(service, rep, "待确认")
        facts = {f["label"]: f["value"] for f in m.body["card"]["facts"]} if m and m.id != msg.id else {}
        return facts if "历史报价" in facts else None

    facts = await eventually(second_card)
    assert "36.5万元" in facts["历史报价"]
