"""A handler that keeps failing: retried, then marked failed, and the person is told — never silent."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.service import Service
from handlers import capture
from handlers.context import Context
from handlers.router import CardKind
from storage.models import InboxEvent, InboxStatus, Person
from tests.conftest import eventually
from tests.foundation.test_capture_flow import card_message, press, texts_to


async def test_failing_handler_is_retried_then_reported(client: TestClient, service: Service,
                                                        people: dict[str, Person]) -> None:
    calls = 0

    async def broken(ctx: Context, *_: object) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("bug in a card handler")

    service.router.cards["confirmation"] = CardKind("confirmation", capture.ACTIONS, broken)
    rep = people["张伟"]
    r = await client.post("/local/api/message", json={"person_id": rep.id, "client_id": "fail-0001",
                                                      "text": "今天拜访了瑞丰机械张总，下周三再去"})
    assert r.status == 200
    await service.inbox.drain()
    async with service.db.session() as s:
        message = (await s.execute(select(InboxEvent))).scalar_one()
    assert message.status == InboxStatus.done  # the message itself was handled; only presses break
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    await press(client, rep, msg.card_id, "confirm", cid="press-fail-1")

    async def failed() -> InboxEvent | None:
        async with service.db.session() as s:
            row = (await s.execute(select(InboxEvent).where(InboxEvent.event_id == "press-fail-1"))).scalar_one()
        return row if row.status == InboxStatus.failed else None

    row = await eventually(failed, within=15)
    assert row.attempts == 3 and calls == 3 and "bug in a card handler" in (row.error or "")
    await eventually(lambda: _told(service, rep))


async def _told(service: Service, rep: Person) -> bool:
    return any("没能处理成功" in t for t in await texts_to(service, rep))
