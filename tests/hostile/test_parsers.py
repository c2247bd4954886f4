"""Every parser of untrusted input, fed by hypothesis: it answers or refuses in its documented way, never
with another exception; where an encoder exists, encoding then parsing gives the original back.

Documented refusals: ``CallbackRefused`` (platform callbacks: WeCom XML, Feishu envelope and crypto),
``ValueError`` (DingTalk frames, which the channel ACKs and drops), ``None`` (card presses that are not
an offered typed action), ``ValidationError`` (a lead body), ``ConfigError`` (config and env values).
The tagger's date and money readers never refuse: any text gives a (maybe empty) list.
"""

from __future__ import annotations

import dataclasses
import json
import os
import string
import typing
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import bot.capabilities  # noqa: F401  (imports every capability, so every CardAction kind exists)
from bot.channels.base import CallbackRefused
from bot.channels.dingtalk.inbound import card_event, message_event
from bot.channels.feishu import crypto as feishu_crypto
from bot.channels.feishu.inbound import to_event
from bot.channels.wecom.crypto import parse_xml
from bot.config import ENV_PREFIX, ConfigError, config_from_dict
from cards.actions import SEP, CardAction, Value, parse
from handlers.leads import LeadInput
from handlers.understanding.dates import find_dates
from handlers.understanding.money import find_money
from tests.conftest import TZ

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)

# JSON-like values: what a hostile platform (or anybody who got past nothing) can put in a body
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


def _with_keys(keys: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts that mostly use the real field names (so the parser goes deep), with arbitrary values."""
    return st.fixed_dictionaries({}, optional={k: v | json_values for k, v in keys.items()})


# ---- WeCom: outer and inner XML -------------------------------------------------------------
@FAST
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_wecom_xml_refuses_or_parses(doc: bytes) -> None:
    try:
        parse_xml(doc)
    except CallbackRefused as exc:
        assert exc.reason == "xml"


ENTITIES = ['lol "{fill}"', 'e SYSTEM "file:///etc/passwd"', 'p SYSTEM "http://127.0.0.1:1/evil.dtd"']


@FAST
@given(st.sampled_from(ENTITIES), st.integers(min_value=1, max_value=30))
def test_wecom_entities_are_always_refused(entity: str, fan: int) -> None:
    """Billion laughs of any fan-out and external entities (files, URLs): refused before expansion."""
    name = entity.split()[0]
    doc = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY {entity.format(fill="a" * fan)}>]>'
           f"<xml><Encrypt>{('&' + name + ';') * fan}</Encrypt></xml>").encode()
    with pytest.raises(CallbackRefused) as exc:
        parse_xml(doc)
    assert exc.value.reason == "xml"


# ---- Feishu: crypto round trip, body JSON, envelope ------------------------------------------
@FAST
@given(key=st.text(min_size=1, max_size=40), plaintext=st.text(max_size=300), iv=st.binary(min_size=16, max_size=16))
def test_feishu_encrypt_decrypt_round_trip(key: str, plaintext: str, iv: bytes) -> None:
    assert feishu_crypto.decrypt(key, feishu_crypto.encrypt(key, plaintext, iv)) == plaintext


@FAST
@given(key=st.text(min_size=1, max_size=40), b64=st.text(max_size=120) | st.binary(max_size=96).map(
    lambda b: __import__("base64").b64encode(b).decode()))
def test_feishu_decrypt_refuses_garbage(key: str, b64: str) -> None:
    try:
        out = feishu_crypto.decrypt(key, b64)
    except CallbackRefused as exc:
        assert exc.reason == "decrypt"
    else:
        assert isinstance(out, str)  # a lucky padding: still only text, which load_object then judges


@FAST
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_feishu_body_json_refuses_or_is_an_object(body: bytes) -> None:
    try:
        assert isinstance(feishu_crypto.load_object(body), dict)
    except CallbackRefused as exc:
        assert exc.reason == "json"


FEISHU_ENVELOPE = _with_keys({
    "schema": st.just("2.0"),
    "header": _with_keys({"event_id": st.text(max_size=20), "event_type": st.sampled_from(
        ["im.message.receive_v1", "card.action.trigger", "bot.p2p_chat_entered_v1", "x"]),
        "create_time": st.integers(min_value=-(2**64), max_value=2**64).map(str)}),
    "event": _with_keys({
        "sender": _with_keys({"sender_id": _with_keys({"open_id": st.text(max_size=10)})}),
        "operator": _with_keys({"open_id": st.text(max_size=10)}),
        "message": _with_keys({"message_id": st.text(max_size=10), "message_type": st.sampled_from(
            ["text", "post", "image", "file", "audio", "location", "sticker"]), "content": json_values.map(json.dumps),
            "create_time": st.integers().map(str), "chat_type": st.sampled_from(["p2p", "group"]),
            "mentions": st.lists(json_values, max_size=2)}),
        "action": _with_keys({"value": json_values, "option": st.text(max_size=10), "tag": st.text(max_size=10)}),
        "context": _with_keys({"open_message_id": st.text(max_size=10)})}),
})


@FAST
@given(FEISHU_ENVELOPE)
def test_feishu_envelope_refuses_or_gives_an_event(envelope: dict[str, Any]) -> None:
    try:
        ev = to_event(envelope)
    except CallbackRefused as exc:
        assert exc.reason == "malformed"
    else:
        assert ev.platform == "feishu" and ev.event_id


# ---- DingTalk: robot messages and card presses ------------------------------------------------
DINGTALK_MESSAGE = _with_keys({
    "msgId": st.text(max_size=12), "msgtype": st.sampled_from(["text", "picture", "audio", "file", "richText", "video"]),
    "text": _with_keys({"content": st.text(max_size=40)}), "content": json_values,
    "senderStaffId": st.text(max_size=10), "senderId": st.text(max_size=10), "conversationType": st.sampled_from(["1", "2"]),
    "createAt": st.integers(min_value=-(2**64), max_value=2**64), "sessionWebhook": st.text(max_size=30),
})
DINGTALK_PRESS = _with_keys({
    "outTrackId": st.text(max_size=12), "userId": st.text(max_size=10), "content": json_values.map(json.dumps) | json_values,
    "value": json_values.map(json.dumps),
})


@FAST
@given(DINGTALK_MESSAGE, st.none() | st.text(max_size=12))
def test_dingtalk_message_refuses_or_gives_an_event(data: dict[str, Any], frame_id: str | None) -> None:
    try:
        ev = message_event(data, frame_id)
    except ValueError:
        return
    assert ev.platform == "dingtalk" and ev.event_id


@FAST
@given(DINGTALK_PRESS, st.none() | st.text(max_size=12))
def test_dingtalk_press_refuses_or_gives_an_event(data: dict[str, Any], frame_id: str | None) -> None:
    try:
        ev = card_event(data, frame_id, NOW)
    except ValueError:
        return
    assert ev.platform == "dingtalk"


# ---- card actions (cards/actions.py) ----------------------------------------------------------
def _kinds() -> list[type[CardAction]]:
    out, stack = [], list(CardAction.__subclasses__())
    while stack:
        k = stack.pop()
        stack.extend(k.__subclasses__())
        if k.prefix:
            out.append(k)
    return sorted(out, key=lambda k: (k.prefix, k.__qualname__))


KINDS = _kinds()
KEY_TEXT = st.text(alphabet=st.characters(blacklist_characters=SEP, blacklist_categories=["Cs"]), min_size=1, max_size=20)


def _field(t: Any) -> st.SearchStrategy[Any]:
    if get_origin(t) is Literal:
        return st.sampled_from(get_args(t))
    if isinstance(t, type) and issubclass(t, Enum):
        return st.sampled_from(list(t))
    if t is int:
        return st.integers(min_value=0, max_value=10**18 - 1)
    if t is date:
        return st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
    if t is Value:
        return st.text(max_size=40).map(Value)
    return KEY_TEXT


def test_every_action_kind_is_covered() -> None:
    assert len(KINDS) >= 10, [k.__name__ for k in KINDS]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.prefix}-{k.__name__}")
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_card_action_round_trip(kind: type[CardAction], data: st.DataObject) -> None:
    hints = typing.get_type_hints(kind)
    args = {f.name: data.draw(_field(hints[f.name])) for f in dataclasses.fields(kind)}
    action = kind(**args)
    value = next((str(v) for f in dataclasses.fields(kind) if hints[f.name] is Value for v in [args[f.name]]), "")
    assert kind.unpack(action.pack(), value) == action


@FAST
@given(action=st.text(max_size=60) | st.sampled_from([k.prefix for k in KINDS]).flatmap(
    lambda p: st.lists(st.text(max_size=12), max_size=4).map(lambda parts: SEP.join([p, *parts]))),
       value=st.text(max_size=40))
def test_card_action_parse_refuses_with_none(action: str, value: str) -> None:
    got = parse(tuple(KINDS), action, value)
    assert got is None or isinstance(got, CardAction)


# ---- the tagger's dates and amounts -----------------------------------------------------------
SALES = st.text(alphabet="今明后天下周一二三四五六日月号点前再去元块万千百十零两0123456789.,，个多来约左右星期礼拜上中晚早", max_size=40)


@FAST
@given(text=st.text(max_size=120) | SALES, days=st.integers(min_value=-3650, max_value=3650))
def test_dates_never_raise_and_stay_inside_the_text(text: str, days: int) -> None:
    for m in find_dates(text, NOW + timedelta(days=days)):
        assert 0 <= m.start <= m.end <= len(text) and text[m.start:m.end] == m.text


@FAST
@given(text=st.text(max_size=120) | SALES)
def test_amounts_never_raise_and_are_not_negative(text: str) -> None:
    for m in find_money(text):
        assert m.amount >= 0 and 0 <= m.start <= m.end <= len(text)


@FAST
@given(st.integers(min_value=1, max_value=99_999_999), st.sampled_from(["元", "块"]))
def test_amounts_round_trip(n: int, unit: str) -> None:
    assert [m.amount for m in find_money(f"报价{n}{unit}")] == [n]


@FAST
@given(st.integers(min_value=1, max_value=9999))
def test_wan_amounts_round_trip(n: int) -> None:
    assert [m.amount for m in find_money(f"合同金额{n}万")] == [n * 10_000]


@FAST
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
def test_absolute_dates_round_trip(d: date) -> None:
    now = datetime(d.year, 1, 1, 9, tzinfo=TZ) if d >= date(d.year, 1, 2) else datetime(d.year - 1, 12, 1, 9, tzinfo=TZ)
    found = [m.value for m in find_dates(f"{d.month}月{d.day}日再去", now)]
    assert found == [d]


# ---- lead JSON (POST /api/leads, CSV rows, chat) ------------------------------------------------
LEAD = _with_keys({
    "lead_id": st.text(alphabet=string.ascii_letters + string.digits + "_.:@/-", min_size=1, max_size=64),
    "company": st.text(min_size=2, max_size=100), "contact": st.text(max_size=30),
    "phone": st.from_regex(r"1[3-9]\d{9}", fullmatch=True), "region": st.text(max_size=32),
    "lat": st.floats(min_value=-90, max_value=90), "lng": st.floats(min_value=-180, max_value=180),
    "tags": st.lists(st.text(max_size=8), max_size=10), "note": st.text(max_size=500),
})


@FAST
@given(LEAD | st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_lead_json_validates_or_refuses(body: dict[str, Any]) -> None:
    try:
        lead = LeadInput.model_validate(body)
    except ValidationError:
        return
    again = LeadInput.model_validate(lead.model_dump())  # what we keep reads back as itself
    assert again == lead


# ---- configuration from the environment -------------------------------------------------------
ENV_KEYS = ["SERVER__PORT", "SERVER__HOST", "OUTBOX__POLL_INTERVAL_S", "INBOX__WORKERS", "SCHEDULE__MORNING_MUST_DO",
            "ORG__TIMEZONE", "LOGGING__LEVEL", "DATABASE__URL", "CHANNELS__FEISHU__RATE_PER_SECOND", "NO__SUCH", "SERVER"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(ENV_KEYS), value=st.text(alphabet=st.characters(blacklist_categories=["Cs"],
                                                                            blacklist_characters="\x00"), max_size=30))
def test_env_values_configure_or_refuse_naming_the_variable(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    name = ENV_PREFIX + key
    with monkeypatch.context() as m:
        for k in [k for k in os.environ if k.upper().startswith(ENV_PREFIX)]:
            m.delenv(k)
        m.setenv(name, value)
        try:
            config_from_dict({"org": {"name": "测试"}})
        except ConfigError as exc:
            assert name.lower() in str(exc).lower() or key.split("__")[0].lower() in str(exc).lower(), str(exc)
