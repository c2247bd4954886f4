"""50 staff members of one store serving customers at the same moment, each tap sent twice at once (a double tap)
and the whole walk retried once (a weak network): every node is recorded exactly once, on SQLite and PostgreSQL.
A bounded local load script: 50 concurrent clients against the real HTTP app, no sleeps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.importers import link_identity
from bot.service import Service
from handlers.clock import FixedClock
from handlers.store import store_funnel
from storage.models import Person, Role, Store, StoreMember, StoreSession, StoreTap
from tests.conftest import make_config, seeded
from tests.store.conftest import SECRET
from tests.store.walk import forms, qr_path

STAFF = 50
NODES = 7


async def walk(client: Any, path: str, person_id: int) -> None:
    r = await client.get(f"{path}?as={person_id}")
    [(action, fields)] = forms(await r.text())
    starts = await asyncio.gather(*(client.post(action, data=fields) for _ in range(2)))
    html = await starts[0].text()
    for _ in range(NODES):
        [(act, tap)] = [(a, f) for a, f in forms(html) if f["do"] == "tap"]
        both = await asyncio.gather(*(client.post(act, data=tap) for _ in range(2)))  # a double tap
        assert all(b.status == 200 for b in both), [await b.text() for b in both]
        html = await both[0].text()
        if f'data-node="{tap["node"]}"' in html:  # the copy that lost the race may show the node just done
            html = await (await client.get(act + "?w=" + tap["w"])).text()
    assert "本次接待全部完成" in html


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
async def test_fifty_staff_at_once_record_every_tap_exactly_once(db: str, tmp_path: Path, clock: FixedClock,
                                                                  aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch,
                                                                  request: pytest.FixtureRequest) -> None:
    monkeypatch.setenv("ACTIONFLOW_TOKEN_SECRET", SECRET)
    url = str(request.getfixturevalue("pg_url")) if db == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/l.db"
    cfg = make_config(tmp_path, database={"url": url})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    async with service.db.write() as s:
        store = (await s.execute(select(Store))).scalar_one()
        staff = [Person(name=f"导购{i:02d}", role=Role.store_staff, region=store.name) for i in range(STAFF)]
        s.add_all(staff)
        await s.flush()
        for p in staff:
            assert p.id is not None and store.id is not None
            s.add(StoreMember(store_id=store.id, person_id=p.id))
            await link_identity(s, p, "local", str(p.id))
        ids = [p.id for p in staff if p.id is not None]
        seeded_taps = (await s.execute(select(func.count()).select_from(StoreTap))).scalar_one()
    path = await qr_path(service, clock.now())
    await asyncio.gather(*(walk(client, path, pid) for pid in ids))
    async with service.db.session() as s:
        mine = select(StoreSession.id).where(StoreSession.person_id.in_(ids))  # type: ignore[attr-defined]
        assert (await s.execute(select(func.count()).select_from(StoreSession).where(
            StoreSession.person_id.in_(ids)))).scalar_one() == STAFF  # type: ignore[attr-defined]
        taps = (await s.execute(select(func.count()).select_from(StoreTap).where(
            StoreTap.session_id.in_(mine)))).scalar_one()  # type: ignore[attr-defined]
        assert taps == STAFF * NODES
        assert (await s.execute(select(func.count()).select_from(StoreTap))).scalar_one() == seeded_taps + taps
        rows = await store_funnel(s, store.id, clock.now().astimezone(cfg.org.tz).date(), cfg.org.tz)
    per = {(r.staff, r.step): r.count for r in rows}
    assert all(per[(f"导购{i:02d}", step)] == 1 for i in range(STAFF) for step in ("进店", "探询", "推荐", "异议处理", "成交"))
