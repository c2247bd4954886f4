"""The emulator's jobs panel simulates a moment: by default each job's own slot today, not "now".

Run from the panel at 01:50, the 17:00 escalation used to say "未在17:00前填写" at 01:50 and the 16:00 run
turned the whole day red before it had begun. Now the panel shows the moment, runs the job on a clock
fixed there, and refuses a moment before the job's slot, so every text is true for its moment."""

from __future__ import annotations

from datetime import datetime

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import Card, OutboxMessage
from tests.conftest import TZ


async def test_panel_runs_each_job_at_its_own_slot(client: TestClient, service: Service, clock: FixedClock) -> None:
    clock.set(datetime(2026, 11, 24, 1, 50, tzinfo=TZ))
    jobs = {j["name"]: j for j in await (await client.get("/admin/api/jobs")).json()}
    assert jobs["morning_must_do"]["at"] == "2026-11-24T08:45:00+08:00"
    assert jobs["end_of_day"]["at"] == "2026-11-24T16:00:00+08:00"
    assert jobs["reason_escalation"]["at"] == "2026-11-24T17:00:00+08:00"

    r = await client.post("/admin/api/jobs/reason_escalation/run", json={"at": "2026-11-24T01:50"})
    assert r.status == 400 and "17:00" in await r.text()  # "not filled in by 17:00" would be false at 01:50

    for name, hhmm in (("morning_must_do", "08:45"), ("end_of_day", "16:00")):
        r = await client.post(f"/admin/api/jobs/{name}/run", json={})
        body = await r.json()
        assert r.status == 200 and body["at"] == f"2026-11-24T{hhmm}:00+08:00" and hhmm in body["summary"]
        async with service.db.session() as s:
            made = (await s.execute(select(Card.created_at).where(Card.kind != "confirmation"))).scalars().all()
            queued = (await s.execute(select(OutboxMessage.created_at))).scalars().all()
        assert made and queued
        latest = max(t.astimezone(TZ) for t in [*made, *queued])
        assert latest == datetime(2026, 11, 24, *map(int, hhmm.split(":")), tzinfo=TZ), name

    r = await client.post("/admin/api/jobs/end_of_day/run", json={"at": "2026-11-24T16:30"})  # editable moment
    assert r.status == 200 and (await r.json())["at"] == "2026-11-24T16:30:00+08:00"
