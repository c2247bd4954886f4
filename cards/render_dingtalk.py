"""Neutral Card → DingTalk card platform data (互动卡片高级版) and robot markdown.

A DingTalk card with buttons that call back is an instance of a template designed in the card
platform (docs/dingtalk.md); we fill its variables through ``cardData.cardParamMap``, whose values
must all be strings (lists go JSON-encoded). One template serves every card kind:
- ``title``, ``subtitle``, ``color``, ``note``, ``body`` (the lines, plain text) and ``facts``
  (JSON ``[{"label", "value"}]``) are shown as plain text: a rep's words never become markdown;
- ``buttons`` is JSON ``[{"text", "key", "style", "group"}]`` rendered by a loop; each button's
  "回传请求" (send request back) carries ``key`` = ``card_id|action[|value]``, opaque like WeCom's
  button keys: the server decides what it means from the stored card;
- a date Input becomes quick-date buttons (明天 / 后天 / 下周一), as on WeCom, unless the card already
  offers them; every Input is also listed in ``inputs`` (JSON ``[{"kind", "label", "key", "value"}]``)
  for the template's date picker / input box, whose "回传请求" sends ``key`` plus the entered ``value``.
``markdown`` is the same card for robot messages (no template configured, group pushes).
Limits we keep (test_render): ≤ 24 buttons, button text ≤ 20 characters (the robot ActionCard limit),
key ≤ 256 bytes, all of cardData ≤ 15,000 bytes like a robot message's msgParam.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from cards.confirmation import quick_dates
from cards.model import Card

KEY_SEP = "|"
MAX_BUTTONS = 24
MAX_BUTTON_TEXT = 20
MAX_KEY_BYTES = 256
MAX_CARD_DATA_BYTES = 15_000
PARAM_KEYS = ("title", "subtitle", "color", "note", "body", "facts", "buttons", "has_buttons", "inputs", "has_inputs",
              "markdown", "image", "has_image")
MAX_INPUTS = 4


def button_key(card_id: str, action: str, value: str = "") -> str:
    key = KEY_SEP.join([card_id, action, value] if value else [card_id, action])
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError(f"button key longer than {MAX_KEY_BYTES} bytes")
    return key


def parse_button_key(key: str) -> tuple[str, str, str] | None:
    """``card_id|action[|value]`` → parts; None for anything else (a stale or foreign key)."""
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return None
    card_id, sep, rest = key.partition(KEY_SEP)
    action, _, value = rest.partition(KEY_SEP)
    if not sep or not card_id or not action:
        return None
    return card_id, action, value


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def buttons(card: Card, today: date | None) -> list[dict[str, str]]:
    """Every pressable control as a template button: the card's buttons, then quick dates for a date input."""
    out = [{"text": _clip(b.label, MAX_BUTTON_TEXT), "key": button_key(card.card_id, b.action), "style": b.style,
            "group": b.group} for b in card.buttons]
    actions = {b.action for b in card.buttons}
    for inp in card.inputs:
        if inp.kind != "date" or any(a == inp.action or a.startswith(f"{inp.action}:") for a in actions):
            continue
        out += [{"text": _clip(label, MAX_BUTTON_TEXT), "key": button_key(card.card_id, inp.action, d.isoformat()),
                 "style": "primary" if d.isoformat() == inp.value else "default", "group": "date"}
                for label, d in quick_dates(today)]
    return out[:MAX_BUTTONS]


def render_markdown(card: Card) -> str:
    """The card as robot markdown (sampleMarkdown ``text``): no buttons."""
    out = [f"### {card.title}"]
    if card.subtitle:
        out.append(card.subtitle)
    out += [f"- **{f.label}**：{f.value}" for f in card.facts]
    out += card.lines
    if card.note:
        out.append(f"> {card.note}")
    return "\n\n".join(out)


def render_card_params(card: Card, *, today: date | None = None, image: str = "") -> dict[str, str]:
    """``cardParamMap`` for createAndDeliver and updates: every value a string, within our limits; ``image``
    is the media id of the card's uploaded picture (the template's image component shows ``${image}``)."""
    btns = buttons(card, today)
    inputs = [{"kind": i.kind, "label": _clip(i.label, MAX_BUTTON_TEXT), "key": button_key(card.card_id, i.action),
               "value": i.value} for i in card.inputs][:MAX_INPUTS]
    params = {
        "title": card.title,
        "subtitle": card.subtitle,
        "color": card.color,
        "note": card.note,
        "body": "\n".join(card.lines),
        "facts": json.dumps([{"label": f.label, "value": f.value} for f in card.facts], ensure_ascii=False),
        "buttons": json.dumps(btns, ensure_ascii=False),
        "has_buttons": "true" if btns else "false",
        "inputs": json.dumps(inputs, ensure_ascii=False),
        "has_inputs": "true" if inputs else "false",
        "markdown": render_markdown(card),
        "image": image,
        "has_image": "true" if image else "false",
    }
    while card_data_bytes(params) > MAX_CARD_DATA_BYTES and len(params["body"]) > 100:
        params["body"] = params["body"][: len(params["body"]) * 3 // 4] + "…"  # the lines are the long part
        params["markdown"] = _clip(params["markdown"], len(params["markdown"]) * 3 // 4)
    return params


def card_data_bytes(params: dict[str, Any]) -> int:
    return len(json.dumps({"cardParamMap": params}, ensure_ascii=False).encode("utf-8"))


def offered(params: dict[str, str]) -> list[tuple[str, str, str]]:
    """(card_id, action, value) of every button in rendered params (for tests and the harness)."""
    out = []
    for b in [*json.loads(params.get("buttons") or "[]"), *json.loads(params.get("inputs") or "[]")]:
        parsed = parse_button_key(str(b.get("key", "")))
        if parsed is not None:
            out.append(parsed)
    return out
