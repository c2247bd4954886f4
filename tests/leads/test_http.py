"""POST /api/leads: per-source bearer tokens, body cap, JSON validation, idempotency, 查重 by alias and phone."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import Card, Contact, Customer, Lead, OutboxMessage, Person
from tests.conftest import make_config, seeded

TOKEN = "web-0123456789abcdef"
CRM_TOKEN = "crm-fedcba9876543210"
LEAD = {"lead_id": "w-1", "company": "苏州东吴精工有限公司", "contact": "钱总", "phone": "13700001111",
        "region": "320500"}


@pytest.fixture
async def api(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Service, TestClient]]:
    monkeypatch.setenv("LEADS_WEB_TOKEN", TOKEN)
    monkeypatch.setenv("LEADS_CRM_TOKEN", CRM_TOKEN)
    cfg = make_config(tmp_path, leads={
        "sources": {"website": {"token_env": "LEADS_WEB_TOKEN"}, "crm": {"token_env": "LEADS_CRM_TOKEN"},
                    "unset": {"token_env": "LEADS_NOBODY_SET_THIS"}},
        "assignment": {"regions": {"320500": ["陈磊"]}},
    })
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    yield service, await aiohttp_client(service.app())


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count(service: Service, model: Any, *where: Any) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def nothing_stored(service: Service) -> bool:
    return await count(service, Lead) == 0 and await count(service, Customer) == 20 and await count(service, Card) == 0


async def test_missing_or_wrong_token_is_refused_and_nothing_stored(api: tuple[Service, TestClient],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    service, client = api
    caplog.set_level(logging.DEBUG)
    r = await client.post("/api/leads", json=LEAD)
    assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    for headers in (auth("wrong-token"), auth(TOKEN + "x"), {"Authorization": f"Basic {TOKEN}"}, auth("")):
        r = await client.post("/api/leads", json=LEAD, headers=headers)
        assert r.status == 403, headers
    r = await client.post("/api/leads", json={**LEAD, "source": "crm"}, headers=auth())  # the token is website's
    assert r.status == 403
    assert await nothing_stored(service)
    assert TOKEN not in caplog.text and CRM_TOKEN not in caplog.text


async def test_malformed_or_invalid_json_is_400(api: tuple[Service, TestClient]) -> None:
    service, client = api
    headers = {**auth(), "Content-Type": "application/json"}
    for body in ('{"lead_id": "w-1", "company": ', "[1, 2]", "\xff", "[" * 5000 + "]" * 5000):
        r = await client.post("/api/leads", data=body.encode("utf-8", "surrogateescape"), headers=headers)
        assert r.status == 400, body[:20]
    for bad in ({**LEAD, "lat": 31.2}, {**LEAD, "lat": 95, "lng": 120}, {**LEAD, "company": ""},
                {**LEAD, "lead_id": "有空格 的id"}, {**LEAD, "phone": "call me"}, {**LEAD, "extra": 1},
                {k: v for k, v in LEAD.items() if k != "lead_id"}):
        r = await client.post("/api/leads", json=bad, headers=auth())
        assert r.status == 400, bad
    r = await client.post("/api/leads", data=b"company=x", headers={**auth(), "Content-Type": "text/plain"})
    assert r.status == 415
    assert await nothing_stored(service)


async def test_a_1mb_body_is_413(api: tuple[Service, TestClient]) -> None:
    service, client = api
    big = {**LEAD, "note": "x" * 1_000_000}
    r = await client.post("/api/leads", json=big, headers=auth())
    assert r.status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: capped while reading
        yield b'{"lead_id": "w-2", "company": "x", "note": "'
        for _ in range(16):
            yield b"y" * 65536
        yield b'"}'

    r = await client.post("/api/leads", data=chunks(), headers={**auth(), "Content-Type": "application/json"})
    assert r.status == 413
    assert await nothing_stored(service)


async def test_the_same_post_twice_is_one_customer_one_assignment_one_card(api: tuple[Service, TestClient]) -> None:
    service, client = api
    r = await client.post("/api/leads", json=LEAD, headers=auth())
    assert r.status == 201, await r.text()
    first = await r.json()
    assert first["assigned_to"] == "陈磊" and not first["duplicate"] and not first["matched"]
    r = await client.post("/api/leads", json={**LEAD, "contact": "改了名字"}, headers=auth())
    assert r.status == 200
    again = await r.json()
    assert again["duplicate"] and again["id"] == first["id"] and again["assigned_to"] == "陈磊"
    assert await count(service, Lead) == 1 and await count(service, Customer) == 21
    assert await count(service, Card, Card.kind == "lead") == 1
    assert await count(service, OutboxMessage, OutboxMessage.card_id.is_not(None)) == 2  # rep + supervisor
    async with service.db.session() as s:
        customer = await s.get(Customer, first["customer_id"])
        chen = (await s.execute(select(Person).where(Person.name == "陈磊"))).scalar_one()
    assert customer is not None and customer.stage == "初步接触" and customer.owner_id == chen.id
    assert customer.assigned_at == service.clock.now()
    # the same lead id from another source is another lead
    r = await client.post("/api/leads", json={**LEAD, "company": "另一家公司"}, headers=auth(CRM_TOKEN))
    assert r.status == 201 and await count(service, Lead) == 2


async def test_matched_by_alias_or_phone_is_never_a_duplicate_customer(api: tuple[Service, TestClient]) -> None:
    service, client = api
    async with service.db.session() as s:
        hengyuan = await s.get(Customer, "D002")
        [phone] = (await s.execute(select(Contact.phone).where(Contact.customer_id == "D003").limit(1))).one()
        jintai = await s.get(Customer, "D003")
    assert hengyuan is not None and jintai is not None
    r = await client.post("/api/leads", json={"lead_id": "a-1", "company": " 恒远化工 "}, headers=auth())
    got = await r.json()
    assert r.status == 201 and got["matched"] and got["customer_id"] == "D002"
    async with service.db.session() as s:
        owner = await s.get(Person, hengyuan.owner_id)
    assert owner is not None and got["assigned_to"] == owner.name  # an existing customer stays with its owner
    r = await client.post("/api/leads", json={"lead_id": "p-1", "company": "宁波金泰（新名字）",
                                              "phone": f"+86 {phone}"}, headers=auth())
    got = await r.json()
    assert got["matched"] and got["customer_id"] == "D003"
    assert await count(service, Customer) == 20 and await count(service, Lead) == 2


async def test_concurrent_repeats_make_one_lead(api: tuple[Service, TestClient]) -> None:
    import asyncio

    service, client = api
    answers = await asyncio.gather(*[client.post("/api/leads", json=LEAD, headers=auth()) for _ in range(5)])
    assert sorted(r.status for r in answers) == [200, 200, 200, 200, 201]
    assert await count(service, Lead) == 1 and await count(service, Card, Card.kind == "lead") == 1
