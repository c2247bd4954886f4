"""/metrics over real HTTP: guarded like the admin API, and each counter moves when its thing happens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from bot.service import Service
from handlers.clock import FixedClock
from storage import outbox
from storage.models import OutboxMessage, OutboxStatus, Person
from storage.outbox import TextBody
from tests.conftest import eventually, make_config, seeded
from tests.feishu.chat import FeishuChat
from tests.scenarios.conftest import PLATFORMS

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = await client.get("/metrics", headers=headers)
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(await r.text()) for s in fam.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_events_dedupe_sends_and_outbox_are_counted(client: TestClient, service: Service,
                                                          people: dict[str, Person]) -> None:
    before = await scrape(client)
    body = {"person_id": people["张伟"].id, "client_id": "metrics-0001", "text": TEXT}
    for _ in range(2):  # the second is a repeat: stored once, counted as a dedupe hit
        assert (await client.post("/local/api/message", json=body)).status == 200
    await service.inbox.drain()

    async def all_sent() -> bool:
        async with service.db.session() as s:
            waiting = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status != OutboxStatus.sent))).scalar_one()
            return waiting == 0

    await eventually(all_sent)
    after = await scrape(client)
    assert value(after, "actionflow_events_in_total", platform="local") - value(
        before, "actionflow_events_in_total", platform="local") == 1
    assert value(after, "actionflow_dedupe_hits_total", platform="local") - value(
        before, "actionflow_dedupe_hits_total", platform="local") == 1
    assert value(after, "actionflow_events_out_total", platform="local", op="send") > value(
        before, "actionflow_events_out_total", platform="local", op="send")
    assert value(after, "actionflow_store_seconds_count", platform="local") - value(
        before, "actionflow_store_seconds_count", platform="local") == 2
    assert value(after, "actionflow_outbox_depth", platform="local") == 0
    assert ("actionflow_outbox_oldest_age_seconds", (("platform", "local"),)) in after


async def test_outbox_depth_and_age_come_from_the_database(client: TestClient, service: Service,
                                                           clock: FixedClock) -> None:
    await service.sender.stop()  # nothing sends: the rows wait
    async with service.db.write() as s:
        for i in range(3):
            await outbox.enqueue(s, platform="local", recipient="4", key=f"metrics-depth-{i}",
                                 body=TextBody(text="x").model_dump(), now=clock.now() - timedelta(seconds=90))
    got = await scrape(client)
    assert value(got, "actionflow_outbox_depth", platform="local") == 3
    assert value(got, "actionflow_outbox_oldest_age_seconds", platform="local") == 90  # the test clock


async def test_job_runs_are_counted(client: TestClient) -> None:
    before = await scrape(client)
    r = await client.post("/admin/api/jobs/warning_scan/run", json={"at": "2026-11-24T10:00"})
    assert r.status == 200
    after = await scrape(client)
    assert value(after, "actionflow_job_runs_total", job="warning_scan", outcome="done") - value(
        before, "actionflow_job_runs_total", job="warning_scan", outcome="done") == 1


@pytest.fixture
async def exposed_client(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                         monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("ACTIONFLOW_ADMIN_TOKEN", "metrics-admin-token")
    cfg = make_config(tmp_path, server={"host": "0.0.0.0", "public_url": "https://bot.example.com"},
                      channels={"local": {"enabled": False}})
    await seeded(cfg, clock.now())
    client: TestClient = await aiohttp_client(Service(cfg, clock=clock).app())
    return client


async def test_metrics_need_the_admin_token_unless_loopback_all_the_way(client: TestClient,
                                                                        exposed_client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 200  # loopback service, direct loopback caller
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})).status == 403
    assert (await client.get("/metrics", headers={"Host": "attacker.example"})).status == 403  # DNS rebinding
    assert (await exposed_client.get("/metrics")).status == 403
    assert (await exposed_client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
    await scrape(exposed_client, Authorization="Bearer metrics-admin-token")


async def test_send_errors_are_counted_by_the_platforms_code(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                                                             aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Feishu answers one send with 230020 (per-user frequency): counted under that code, then retried and sent."""
    chat = await PLATFORMS["feishu"](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert isinstance(chat, FeishuChat)
    before = await scrape(chat.client)
    chat.fake.fail("im/v1/messages", 230020)
    chat.fake.fail("im/v1/reply", 230020)
    await chat.say("张伟", TEXT)
    await chat.should_send("张伟", card="记录")
    after = await scrape(chat.client)
    assert value(after, "actionflow_send_errors_total", platform="feishu", code="230020") - value(
        before, "actionflow_send_errors_total", platform="feishu", code="230020") == 1
    assert value(after, "actionflow_events_in_total", platform="feishu") - value(
        before, "actionflow_events_in_total", platform="feishu") == 1
    assert value(after, "actionflow_ack_seconds_count", platform="feishu") - value(
        before, "actionflow_ack_seconds_count", platform="feishu") == 1
