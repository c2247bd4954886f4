"""Optional LLM path: ask an OpenAI-compatible model, validate strictly, fall back to the rules.

The rules answer always exists first. The model only replaces it when its reply is valid JSON that
passes the contract's schema (known action type, a customer id from the directory, ISO dates
near `now`, a non-negative integer budget). Timeouts, HTTP errors, bad JSON or schema violations
all leave the rules' answer standing, so switching the LLM on can never make a message fail.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.shared_params import ResponseFormatJSONObject
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .directory import Directory
from .tagger import Understanding, understand

logger = logging.getLogger(__name__)

_MAX_DIRECTORY_LINES = 200


class LLMSettings(BaseModel):
    """Where and how to ask the model (mirrors the `understanding.llm` config section)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = False
    base_url: str = "http://127.0.0.1:11434/v1"
    model: str = "qwen2.5:7b-instruct"
    api_key: str | None = None
    timeout_s: float = Field(3.0, gt=0, le=60)

    @classmethod
    def from_config(cls, config: Any) -> LLMSettings:
        """Build from an object with enabled/base_url/model/api_key/timeout_s (e.g. bot.config.LLMConfig)."""
        return cls(
            enabled=bool(getattr(config, "enabled", False)),
            base_url=str(getattr(config, "base_url", cls.model_fields["base_url"].default)),
            model=str(getattr(config, "model", cls.model_fields["model"].default)),
            api_key=getattr(config, "api_key", None),
            timeout_s=float(getattr(config, "timeout_s", 3.0)),
        )


def _iso_date(value: Any) -> Any:
    """Only plain YYYY-MM-DD strings (or null) are dates; anything else is a schema violation."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value)
    raise ValueError("dates must be YYYY-MM-DD strings or null")


IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]
ActionType = Literal["call", "message", "visit", "site_survey", "presentation", "quote", "objection",
                     "contract", "payment", "other"]


class LLMAnswer(BaseModel):
    """The schema the model must answer with; validation context: ``{"ids", "today"}``."""

    model_config = ConfigDict(extra="ignore")

    action_type: ActionType
    customer_id: str | None = None
    next_touch: IsoDate = None
    budget: int | None = Field(None, ge=0, le=10**12)
    expected_date: IsoDate = None
    promised_date: IsoDate = None
    contact: str | None = Field(None, max_length=40)
    contact_role: str | None = Field(None, max_length=40)
    needs: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    tags: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    confidence: float | None = Field(None, ge=0, le=1)

    @field_validator("customer_id")
    @classmethod
    def _known_customer(cls, value: str | None, info: ValidationInfo) -> str | None:
        ids = (info.context or {}).get("ids")
        if value is not None and ids is not None and value not in ids:
            raise ValueError(f"unknown customer id {value!r}")
        return value

    @field_validator("next_touch", "expected_date", "promised_date")
    @classmethod
    def _plausible(cls, value: date | None, info: ValidationInfo) -> date | None:
        today = (info.context or {}).get("today")
        if value is not None and today is not None and not (
            today - timedelta(days=1) <= value <= today + timedelta(days=730)
        ):
            raise ValueError("date too far from now")
        return value


_SYSTEM_PROMPT = """你是销售动作记录的标注器。把销售的一条消息转成 JSON（只输出 JSON 对象）。
字段: action_type (call|message|visit|site_survey|presentation|quote|objection|contract|payment|other),
customer_id (客户目录里的 id 或 null；两个客户或未知客户为 null), next_touch, expected_date, promised_date
(YYYY-MM-DD 或 null), budget (客户预算，整数元，或 null；报价和回款金额不是预算), contact, contact_role,
needs (字符串数组), tags (字符串数组), confidence (0..1)。
规则: action_type 只看已经发生的动作，计划中的不算；多个动作按 contract, payment, quote, presentation,
site_survey, objection, visit, call, message, other 的顺序取第一个。周X 指本周（周一开始），下周X 指下周；
"X前" 就是 X；模糊时间（下个月中旬、年底、下周）为 null。next_touch 是最近一次计划的客户接触（含客户自己计划的动作）。"""


def _directory_lines(directory: Directory, first: list[str]) -> str:
    ordered = [directory.by_id[i] for i in first if i in directory.by_id]
    ordered += [c for c in directory.customers if c.id not in first]
    lines = [f"{c.id}: {c.name}" + (f" ({'/'.join(c.aliases)})" if c.aliases else "")
             for c in ordered[:_MAX_DIRECTORY_LINES]]
    return "\n".join(lines)


def _messages(text: str, now: datetime, directory: Directory, rules: Understanding) -> list[ChatCompletionMessageParam]:
    user = {
        "now": now.isoformat(),
        "weekday": "周" + "一二三四五六日"[now.weekday()],
        "text": text,
        "rules_guess": rules.to_contract(),
    }
    return [
        ChatCompletionSystemMessageParam(role="system", content=_SYSTEM_PROMPT),
        ChatCompletionSystemMessageParam(role="system", content="客户目录:\n" + _directory_lines(directory, rules.customer_candidates)),
        ChatCompletionUserMessageParam(role="user", content=json.dumps(user, ensure_ascii=False)),
    ]


def _merge(rules: Understanding, answer: LLMAnswer) -> Understanding:
    return Understanding(
        action_type=answer.action_type,
        customer_id=answer.customer_id,
        customer_candidates=[answer.customer_id] if answer.customer_id else list(rules.customer_candidates),
        next_touch=answer.next_touch,
        budget=answer.budget,
        expected_date=answer.expected_date,
        promised_date=answer.promised_date,
        contact=answer.contact or None,
        contact_role=answer.contact_role or None,
        needs=list(answer.needs) or list(rules.needs),
        tags=list(answer.tags) or list(rules.tags),
        confidence=answer.confidence if answer.confidence is not None else max(rules.confidence, 0.7),
    )


async def ask_llm(
    text: str, now: datetime, directory: Directory, settings: LLMSettings, rules: Understanding
) -> Understanding:
    """The model's validated answer; raises on timeout, HTTP error, bad JSON or schema violation."""
    client = AsyncOpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",
        timeout=settings.timeout_s,
        max_retries=0,
    )
    try:
        async with asyncio.timeout(settings.timeout_s):
            response = await client.chat.completions.create(
                model=settings.model,
                messages=_messages(text, now, directory, rules),
                response_format=ResponseFormatJSONObject(type="json_object"),
                temperature=0,
            )
    finally:
        await client.close()
    content = response.choices[0].message.content or ""
    data = json.loads(content)
    if not isinstance(data, dict):
        raise ValueError("the model did not answer with a JSON object")
    answer = LLMAnswer.model_validate(data, context={"ids": set(directory.by_id), "today": now.date()})
    return _merge(rules, answer)


async def understand_with_llm(
    text: str, now: datetime, directory: Directory, llm: LLMSettings | None
) -> Understanding:
    """Rules first; if the LLM is enabled, its validated answer wins, else the rules' answer stands."""
    rules = understand(text, now, directory)
    if llm is None or not llm.enabled or not (text or "").strip():
        return rules
    try:
        return await ask_llm(text, now, directory, llm, rules)
    except (TimeoutError, json.JSONDecodeError, ValidationError) as exc:
        logger.warning("LLM answer rejected (%s); keeping the rules' answer", type(exc).__name__)
    except Exception as exc:  # HTTP/connection errors from the SDK, malformed responses
        logger.warning("LLM call failed (%s: %s); keeping the rules' answer", type(exc).__name__, exc)
    return rules
