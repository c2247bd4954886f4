"""Optional LLM path: ask an OpenAI-compatible model only when the rules are unsure, validate strictly.

The rules answer always exists first. The model is asked only when that answer is unsure (confidence
below ``ask_below``, no customer, or no touch found), and its reply is used only when it is valid JSON
that passes the contract's schema (known action type, a customer id from the directory, ISO dates near
`now`, non-negative integer amounts). Even then it only fills what the rules left empty: the rules'
readings stand, and a customer can only ever be one of the directory's. Timeouts, HTTP errors, bad JSON
or schema violations all leave the rules' answer standing, so switching the LLM on can never make a
message fail, nor make a sure reading worse.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

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

if TYPE_CHECKING:  # the openai package costs ~1 s to import: only a deployment that turns the LLM on pays it
    from openai.types.chat import ChatCompletionMessageParam

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
    # the tagger's confidence below which the model is asked (the card's own threshold, 0.6 by default)
    ask_below: float = Field(0.6, ge=0, le=1)

    @classmethod
    def from_config(cls, config: Any) -> LLMSettings:
        """Build from an object with enabled/base_url/model/api_key/timeout_s (e.g. bot.config.LLMConfig)."""
        return cls(
            enabled=bool(getattr(config, "enabled", False)),
            base_url=str(getattr(config, "base_url", cls.model_fields["base_url"].default)),
            model=str(getattr(config, "model", cls.model_fields["model"].default)),
            api_key=getattr(config, "api_key", None),
            timeout_s=float(getattr(config, "timeout_s", 3.0)),
            ask_below=float(getattr(config, "ask_below", 0.6)),
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
    quote_amount: int | None = Field(None, ge=0, le=10**12)
    payment_amount: int | None = Field(None, ge=0, le=10**12)
    contract_amount: int | None = Field(None, ge=0, le=10**12)
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
(YYYY-MM-DD 或 null), budget (客户预算，整数元，或 null；报价和回款金额不是预算), quote_amount (我方报价),
payment_amount (已到账的回款), contract_amount (合同金额) (整数元或 null), contact, contact_role,
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
        {"role": "system", "content": _SYSTEM_PROMPT},
        {"role": "system", "content": "客户目录:\n" + _directory_lines(directory, rules.customer_candidates)},
        {"role": "user", "content": json.dumps(user, ensure_ascii=False)},
    ]


def unsure(rules: Understanding, settings: LLMSettings) -> bool:
    """Worth a model call: the rules' confidence is low, or they found no customer or no touch."""
    return rules.confidence < settings.ask_below or rules.customer_id is None or rules.action_type == "other"


def _merge(rules: Understanding, answer: LLMAnswer) -> Understanding:
    """The rules' answer with only its empty fields filled from the model's (an "other" type counts as empty:
    the rules found no touch). The customer was validated against the directory by the schema."""

    def fill(ours: Any, theirs: Any) -> Any:
        return ours if ours not in (None, "", []) else (theirs if theirs not in ("",) else None)

    filled_type = rules.action_type == "other" and answer.action_type != "other"
    filled_customer = rules.customer_id is None and answer.customer_id is not None
    confidence = rules.confidence
    if (filled_type or filled_customer) and answer.confidence is not None:
        confidence = max(confidence, answer.confidence)
    return Understanding(
        action_type=answer.action_type if filled_type else rules.action_type,
        customer_id=fill(rules.customer_id, answer.customer_id),
        customer_candidates=[answer.customer_id] if filled_customer and answer.customer_id
        else list(rules.customer_candidates),
        next_touch=fill(rules.next_touch, answer.next_touch),
        budget=fill(rules.budget, answer.budget),
        quote_amount=fill(rules.quote_amount, answer.quote_amount),
        payment_amount=fill(rules.payment_amount, answer.payment_amount),
        contract_amount=fill(rules.contract_amount, answer.contract_amount),
        expected_date=fill(rules.expected_date, answer.expected_date),
        promised_date=fill(rules.promised_date, answer.promised_date),
        contact=fill(rules.contact, answer.contact),
        contact_role=fill(rules.contact_role, answer.contact_role),
        needs=list(rules.needs) or list(answer.needs),
        tags=list(rules.tags) or list(answer.tags),
        confidence=confidence,
    )


async def ask_llm(
    text: str, now: datetime, directory: Directory, settings: LLMSettings, rules: Understanding
) -> Understanding:
    """The model's validated answer; raises on timeout, HTTP error, bad JSON or schema violation."""
    from openai import AsyncOpenAI

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
                response_format={"type": "json_object"},
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
    """Rules first; if the LLM is enabled and the rules are unsure, its validated answer fills their gaps."""
    rules = understand(text, now, directory)
    if llm is None or not llm.enabled or not (text or "").strip() or not unsure(rules, llm):
        return rules
    try:
        return await ask_llm(text, now, directory, llm, rules)
    except (TimeoutError, json.JSONDecodeError, ValidationError) as exc:
        logger.warning("LLM answer rejected (%s); keeping the rules' answer", type(exc).__name__)
    except Exception as exc:  # HTTP/connection errors from the SDK, malformed responses
        logger.warning("LLM call failed (%s: %s); keeping the rules' answer", type(exc).__name__, exc)
    return rules
