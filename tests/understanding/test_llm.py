"""The optional LLM path against a fake OpenAI-compatible server on 127.0.0.1 (real HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from handlers.understanding import Directory, LLMSettings, understand, understand_with_llm
from handlers.understanding.llm import LLMAnswer

from .conftest import at

NOW = at("2026-11-24 10:00")
TEXT = "瑞丰机械的事情跟张总说了"  # the rules find the customer but no touch: unsure, so the model is asked
SURE = "瑞丰机械 上门拜访了张总,预算50万,周五再去"

VALID = {
    "action_type": "presentation",
    "customer_id": "D001",
    "next_touch": "2026-11-27",
    "budget": 500000,
    "expected_date": None,
    "promised_date": None,
    "contact": "张总",
    "contact_role": "总经理",
    "needs": ["改造升级"],
    "tags": [],
    "confidence": 0.9,
}


def _completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


Behaviour = Callable[[web.Request], Awaitable[web.Response]]


@pytest.fixture
async def fake_llm() -> Any:
    """Start a fake server; returns (start(behaviour) -> LLMSettings, received requests)."""
    servers: list[TestServer] = []
    received: list[dict[str, Any]] = []

    async def start(behaviour: Behaviour, timeout_s: float = 2.0) -> LLMSettings:
        async def handler(request: web.Request) -> web.Response:
            received.append(await request.json())
            return await behaviour(request)

        app = web.Application()
        app.router.add_post("/v1/chat/completions", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return LLMSettings(
            enabled=True, base_url=str(server.make_url("/v1")), model="fake", api_key="k", timeout_s=timeout_s
        )

    yield start, received
    for server in servers:
        await server.close()


def _reply(content: str) -> Behaviour:
    async def behaviour(_: web.Request) -> web.Response:
        return web.json_response(_completion(content))

    return behaviour


async def test_valid_answer_is_used(fake_llm, directory) -> None:
    start, received = fake_llm
    settings = await start(_reply(json.dumps(VALID, ensure_ascii=False)))
    u = await understand_with_llm(TEXT, NOW, directory, settings)
    assert understand(TEXT, NOW, directory).action_type == "other"
    assert u.action_type == "presentation" and u.customer_id == "D001"
    assert u.next_touch.isoformat() == "2026-11-27" and u.confidence == 0.9 and u.budget == 500_000
    request = received[0]
    assert request["model"] == "fake" and request["response_format"] == {"type": "json_object"}
    assert TEXT in request["messages"][-1]["content"]


@pytest.mark.parametrize(
    "content",
    [
        "this is not json",
        "[1, 2, 3]",
        json.dumps({**VALID, "action_type": "lunch"}),
        json.dumps({**VALID, "customer_id": "D999"}),
        json.dumps({**VALID, "next_touch": "下周五"}),
        json.dumps({**VALID, "next_touch": "2031-01-01"}),
        json.dumps({**VALID, "budget": -5}),
        json.dumps({k: v for k, v in VALID.items() if k != "action_type"}),
    ],
)
async def test_invalid_answers_fall_back_to_rules(fake_llm, directory, content: str) -> None:
    start, _ = fake_llm
    settings = await start(_reply(content))
    u = await understand_with_llm(TEXT, NOW, directory, settings)
    assert u == understand(TEXT, NOW, directory)


async def test_timeout_falls_back_to_rules(fake_llm, directory) -> None:
    never = asyncio.Event()

    async def hangs(_: web.Request) -> web.Response:  # a model that never answers
        await never.wait()
        return web.json_response(_completion(json.dumps(VALID)))

    start, _ = fake_llm
    settings = await start(hangs, timeout_s=0.3)
    # only our own timeout can end this call; the generous outer deadline just keeps a failure from hanging
    u = await asyncio.wait_for(understand_with_llm(TEXT, NOW, directory, settings), timeout=30)
    assert u == understand(TEXT, NOW, directory)
    never.set()


async def test_http_500_falls_back_without_retries(fake_llm, directory) -> None:
    async def broken(_: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "boom", "type": "server_error"}}, status=500)

    start, received = fake_llm
    settings = await start(broken)
    u = await understand_with_llm(TEXT, NOW, directory, settings)
    assert u == understand(TEXT, NOW, directory)
    assert len(received) == 1  # max_retries=0


async def test_unreachable_server_falls_back(directory: Directory) -> None:
    settings = LLMSettings(enabled=True, base_url="http://127.0.0.1:9/v1", model="m", timeout_s=0.5)
    assert await understand_with_llm(TEXT, NOW, directory, settings) == understand(TEXT, NOW, directory)


async def test_disabled_or_missing_settings_use_rules_only(directory: Directory) -> None:
    rules = understand(TEXT, NOW, directory)
    assert await understand_with_llm(TEXT, NOW, directory, None) == rules
    assert await understand_with_llm(TEXT, NOW, directory, LLMSettings(enabled=False)) == rules


async def test_a_sure_reading_never_asks_the_model(fake_llm, directory) -> None:
    start, received = fake_llm
    settings = await start(_reply(json.dumps(VALID, ensure_ascii=False)))
    rules = understand(SURE, NOW, directory)
    assert rules.confidence >= settings.ask_below and rules.customer_id and rules.action_type != "other"
    assert await understand_with_llm(SURE, NOW, directory, settings) == rules
    assert received == []


async def test_the_model_only_fills_what_the_rules_left_empty(fake_llm, directory) -> None:
    """Asked because the reading is unsure (no customer), the model cannot overwrite the rules' type,
    dates or amounts, and its customer must be one of the directory's."""
    text = "益安的刘院长今天来公司看了样机，报价12万"
    rules = understand(text, NOW, directory)
    assert rules.customer_id is None
    start, received = fake_llm
    answer = {**VALID, "customer_id": "D005", "action_type": "call", "quote_amount": 990_000, "budget": 300_000}
    settings = await start(_reply(json.dumps(answer, ensure_ascii=False)))
    u = await understand_with_llm(text, NOW, directory, settings)
    assert len(received) == 1 and u.customer_id == "D005" and u.customer_candidates == ["D005"]
    assert u.action_type == rules.action_type or rules.action_type == "other"
    assert u.quote_amount == rules.quote_amount == 120_000 and u.budget == 300_000


@pytest.mark.parametrize("answer_customer", ["D999", "瑞丰机械", "a new customer"])
async def test_the_model_can_never_invent_a_customer(fake_llm, directory, answer_customer: str) -> None:
    text = "今天拜访了一家做冷链物流的新客户，聊得不错"
    start, received = fake_llm
    settings = await start(_reply(json.dumps({**VALID, "customer_id": answer_customer}, ensure_ascii=False)))
    u = await understand_with_llm(text, NOW, directory, settings)
    assert len(received) == 1 and u.customer_id is None and u == understand(text, NOW, directory)


async def test_a_known_customer_is_never_replaced(fake_llm, directory) -> None:
    start, _ = fake_llm
    settings = await start(_reply(json.dumps({**VALID, "customer_id": "D002"}, ensure_ascii=False)))
    assert (await understand_with_llm(TEXT, NOW, directory, settings)).customer_id == "D001"


def test_settings_from_config_object() -> None:
    class Cfg:
        enabled = True
        base_url = "http://127.0.0.1:11434/v1"
        model = "qwen"
        api_key = None
        timeout_s = 2.5

    settings = LLMSettings.from_config(Cfg())
    assert settings.enabled and settings.model == "qwen" and settings.timeout_s == 2.5


def test_answer_schema_accepts_nulls() -> None:
    answer = LLMAnswer.model_validate({"action_type": "other"}, context={"ids": set(), "today": NOW.date()})
    assert answer.customer_id is None and answer.needs == []
