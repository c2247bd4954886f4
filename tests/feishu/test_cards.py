"""Neutral Card → Feishu card JSON 2.0: every kind within the documented limits; clicks round-trip;
what a person wrote stays plain text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cards.confirmation import ConfirmationView, build_confirmation
from cards.model import Button, Card, Fact, Input
from cards.render_feishu import KEY_SEP, MAX_CARD_BYTES, parse_press, render_card
from tests.feishu.fake_server import card_problem
from tests.wecom.test_cards import view

LONG = "非常长的客户名称" * 10
KINDS = [
    build_confirmation(view()),
    build_confirmation(view(mode="ask", low_confidence=True, customer_name=None)),
    build_confirmation(view(mode="type")),
    build_confirmation(view(mode="date")),
    build_confirmation(view(status="confirmed")),
    Card(kind="must_do", title="☀️ 今日3件必做", subtitle="选满3件", lines=[f"{i}. 回访{LONG}" for i in range(8)],
         buttons=[Button(f"pick:{i}", f"选第{i}件") for i in range(8)] + [Button("lock", "就这些", "primary")],
         inputs=[Input("custom", "text", "自己写一件", "custom")]),
    Card(kind="warning", title="🔴 红灯预警", color="red", note="请今天内处理" * 30,
         buttons=[Button(f"block:{r}", r, group="block") for r in ("等客户", "等资料")],
         inputs=[Input("note", "text", "其他阻塞原因", "block:other")]),
    Card(kind="digest", title="📊 今日团队简报" + LONG, facts=[Fact("必做完成率", "83%"), Fact(LONG, LONG)]),
]


@pytest.mark.parametrize("card", KINDS, ids=lambda c: f"{c.kind}-{c.title[:6]}")
def test_every_kind_renders_within_the_documented_limits(card: Card) -> None:
    card.card_id = card.card_id or "AbCdEfGhIjKlMnOp"
    rendered = render_card(card, link_url="https://bot.example.com/feishu/card")
    assert not card_problem(rendered)
    assert len(json.dumps(rendered, ensure_ascii=False).encode()) <= MAX_CARD_BYTES
    offered = set()
    for el in _all(rendered):
        for b in el.get("behaviors", []):
            assert b["type"] == "callback" and b["value"]["c"] == card.card_id
        if el["tag"] == "select_static":
            offered |= {o["value"].partition(KEY_SEP)[0] for o in el["options"]}
        elif el.get("behaviors"):
            offered.add(el["behaviors"][0]["value"].get("a"))
    assert offered == card.actions()  # every action is reachable, nothing else is


def test_confirmation_uses_a_dropdown_and_a_date_picker() -> None:
    card = build_confirmation(ConfirmationView(**{**view().__dict__, "mode": "ask", "low_confidence": True}))
    card.card_id = "cid"
    tags = [el["tag"] for el in _all(render_card(card))]
    assert "select_static" in tags


def test_a_reps_words_stay_plain_text() -> None:
    card = build_confirmation(view(text="<at id=all></at> **全员** [点我](https://evil.example)"))
    card.card_id = "cid"
    rendered = render_card(card)
    for el in _all(rendered):
        assert el["tag"] != "markdown"
        if el["tag"] == "div":
            assert el["text"]["tag"] == "plain_text"


@given(card_id=st.text(alphabet="abcXYZ019_-", min_size=1, max_size=22),
       action=st.text(min_size=1, max_size=64).filter(lambda a: KEY_SEP not in a), value=st.text(max_size=200))
def test_a_click_round_trips(card_id: str, action: str, value: str) -> None:
    assert parse_press({"c": card_id, "a": action}) == (card_id, action, "")
    assert parse_press({"c": card_id, "k": "pick"}, option=f"{action}{KEY_SEP}{value}") == (card_id, action, value)
    assert parse_press({"c": card_id, "a": action}, option="2026-12-10 +0800") == (card_id, action, "2026-12-10")


def test_foreign_clicks_are_not_ours() -> None:
    for value, option in (({}, None), ({"c": ""}, None), ({"c": "x"}, None), ({"c": "x", "k": "pick"}, None),
                          ({"a": "confirm"}, None), ({"c": 5, "a": "confirm"}, None)):
        assert parse_press(value, option=option) is None


def _all(card: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], list(card["body"]["elements"])
    while stack:
        el = stack.pop()
        out.append(el)
        for col in el.get("columns", []):
            stack.extend(col["elements"])
    return out
