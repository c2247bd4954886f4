"""Neutral Card → DingTalk card data: every kind within our limits, every value a string, every action
reachable (buttons, quick dates, inputs), and the same card as robot markdown."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cards.model import Button, Card
from cards.render_dingtalk import (
    MAX_BUTTON_TEXT,
    MAX_CARD_DATA_BYTES,
    PARAM_KEYS,
    card_data_bytes,
    offered,
    parse_button_key,
    render_card_params,
    render_markdown,
)
from tests.feishu.test_cards import KINDS, LONG

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize("card", KINDS, ids=lambda c: f"{c.kind}-{c.title[:6]}")
def test_every_kind_renders_within_the_limits_with_every_action_reachable(card: Card) -> None:
    card.card_id = card.card_id or "AbCdEfGhIjKlMnOp"
    params = render_card_params(card, today=TODAY)
    assert set(params) == set(PARAM_KEYS) and all(isinstance(v, str) for v in params.values())
    assert card_data_bytes(params) <= MAX_CARD_DATA_BYTES
    assert all(len(b["text"]) <= MAX_BUTTON_TEXT for b in json.loads(params["buttons"]))
    pressable = offered(params)
    assert {card_id for card_id, _, _ in pressable} <= {card.card_id}
    assert {action for _, action, _ in pressable} == card.actions()
    assert params["has_buttons"] == ("true" if json.loads(params["buttons"]) else "false")


def test_a_huge_card_is_cut_to_fit() -> None:
    card = Card(kind="digest", title="📊 简报", lines=[LONG * 3] * 100, card_id="Cid")
    params = render_card_params(card, today=TODAY)
    assert card_data_bytes(params) <= MAX_CARD_DATA_BYTES and params["body"].endswith("…")


def test_keys_round_trip_and_foreign_keys_are_refused() -> None:
    card = Card(kind="confirmation", title="t", buttons=[Button("type:call", "电话", group="type")], card_id="Cid")
    [(cid, action, value)] = offered(render_card_params(card, today=TODAY))
    assert (cid, action, value) == ("Cid", "type:call", "")
    assert parse_button_key("no-separator") is None and parse_button_key("|confirm") is None
    assert parse_button_key("x" * 300 + "|a") is None


def test_markdown_keeps_every_fact_and_line() -> None:
    card = KINDS[-1]
    md = render_markdown(card)
    assert card.title in md and all(f.value in md for f in card.facts)


def test_the_shipped_template_contract_names_exactly_what_the_renderer_fills() -> None:
    from pathlib import Path

    import bot.channels.dingtalk as pkg

    spec = json.loads((Path(pkg.__file__).parent / "card_template.json").read_text(encoding="utf-8"))
    assert set(spec["variables"]) == set(PARAM_KEYS)
    assert spec["callbackType"] == "STREAM" and spec["callback"]["topic"] == "/v1.0/card/instances/callback"
