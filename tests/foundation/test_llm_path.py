"""The optional LLM in the running service: asked after the ack, its answer kept; failures fall back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import ActionRecord
from tests.conftest import eventually, make_config, seeded

TEXT = "瑞丰机械的事情跟张总说了"  # no touch found: the rules are unsure, so the model is asked
ANSWER = {"action_type": "presentation", "customer_id": "D001", "next_touch": "2026-11-27", "budget": 500000,
          "expected_date": None, "promised_date": None, "contact": "张总", "contact_role": "总经理",
          "needs": ["产线改造"], "tags": [], "confidence": 0.95}


async def fake_llm(status: int) -> TestServer:
    async def completions(request: web.Request) -> web.Response:
        if status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=status)
        return web.json_response({"id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                                  "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                      "role": "assistant", "content": json.dumps(ANSWER)}}]})

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.mark.parametrize(("status", "expected_type"), [(200, "presentation"), (500, "other")])
async def test_llm_answer_used_or_rules_kept(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                                             status: int, expected_type: str) -> None:
    llm = await fake_llm(status)
    cfg = make_config(tmp_path, understanding={"llm": {"enabled": True, "base_url": str(llm.make_url("/v1")),
                                                      "model": "fake", "timeout_s": 2.0}})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client: TestClient = await aiohttp_client(service.app())
    r = await client.post("/local/api/message", json={"person_id": 4, "client_id": "llm-path-01", "text": TEXT})
    assert r.status == 200

    async def record() -> ActionRecord | None:
        async with service.db.session() as s:
            return (await s.execute(select(ActionRecord).where(ActionRecord.source_event_id.is_not(None)))).scalar()

    rec = await eventually(record)
    assert rec.type.value == expected_type and rec.customer_id == "D001"
    await llm.close()
