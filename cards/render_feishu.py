"""Neutral Card → Feishu card JSON 2.0 (``update_multi``: shared, so a press can update it for everyone).

Feishu cards take what WeCom's cannot: a dropdown that calls back as soon as an option is chosen
(``select_static``), a date picker and a text input. So:
- a plain button calls back ``{"c": card_id, "a": action}``;
- a group of alternatives (customer / type / date) is one dropdown; its options' values are
  ``action|value`` and the callback carries the chosen one in ``action.option``;
- a date Input is a ``date_picker``, a text Input an ``input``: each calls back ``{"c", "a"}`` with the
  date in ``option`` or the words in ``input_value``.
Everything a person wrote goes into ``plain_text`` (never markdown), so ``<at id=all>`` or ``**`` in a
rep's message stays text. Limits: 30 KB per card, 200 elements, element ids ≤ 20 chars.
"""

from __future__ import annotations

from typing import Any

from cards.model import Button, Card, Input

MAX_CARD_BYTES = 30 * 1024
GROUP_LABELS = {"customer": "选择客户", "type": "改动作类型", "date": "下次跟进"}
PICK = "pick"
KEY_SEP = "|"
TEMPLATE = {"blue": "blue", "green": "green", "yellow": "orange", "red": "red", "grey": "grey"}
BUTTON_TYPE = {"primary": "primary_filled", "default": "default", "danger": "danger"}


def _plain(text: str) -> dict[str, str]:
    return {"tag": "plain_text", "content": text}


def _div(text: str, color: str = "") -> dict[str, Any]:
    div: dict[str, Any] = {"tag": "div", "text": _plain(text)}
    if color:
        div["text"]["text_color"] = color
    return div


def _button(card_id: str, b: Button) -> dict[str, Any]:
    return {"tag": "button", "type": BUTTON_TYPE.get(b.style, "default"), "size": "medium",
            "text": _plain(b.label), "behaviors": [{"type": "callback", "value": {"c": card_id, "a": b.action}}]}


def _row(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Buttons side by side (wrapping on a phone), instead of one per line."""
    return {"tag": "column_set", "flex_mode": "flow", "horizontal_spacing": "8px",
            "columns": [{"tag": "column", "width": "auto", "elements": [i]} for i in items]}


def _picker(card_id: str, group: str, buttons: list[Button]) -> dict[str, Any]:
    options = [{"text": _plain(b.label), "value": b.action} for b in buttons]
    picker: dict[str, Any] = {"tag": "select_static", "placeholder": _plain(GROUP_LABELS.get(group, "请选择")),
                              "options": options, "width": "fill",
                              "behaviors": [{"type": "callback", "value": {"c": card_id, "k": PICK}}]}
    current = next((b.action for b in buttons if b.style == "primary"), None)
    if current:
        picker["initial_option"] = current
    return picker


def _input(card_id: str, i: Input) -> dict[str, Any]:
    callback = [{"type": "callback", "value": {"c": card_id, "a": i.action}}]
    if i.kind == "date":
        picker: dict[str, Any] = {"tag": "date_picker", "placeholder": _plain(i.label), "width": "fill",
                                  "behaviors": callback}
        if i.value:
            picker["initial_date"] = i.value
        return picker
    return {"tag": "input", "placeholder": _plain(i.label), "max_length": 200, "width": "fill",
            "label": _plain(i.label), "label_position": "top", "behaviors": callback}


def render_card(card: Card, *, link_url: str = "", image_key: str = "") -> dict[str, Any]:
    """The card JSON 2.0 object (sent as a JSON string in ``content``, or PATCHed in place); ``image_key`` is
    the card's picture uploaded to ``im/v1/images``, shown first, full width, tappable to enlarge."""
    elements: list[dict[str, Any]] = []
    if image_key:
        elements.append({"tag": "img", "img_key": image_key, "alt": _plain(card.title), "scale_type": "fit_horizontal",
                         "preview": True})
    if card.facts:
        elements.append({**_div("\n".join(f"{f.label}：{f.value or '—'}" for f in card.facts)), "element_id": "facts"})
    if card.lines:
        elements.append(_div("\n".join(card.lines)))
    plain = [b for b in card.buttons if not b.group]
    groups: dict[str, list[Button]] = {}
    for b in card.buttons:
        if b.group:
            groups.setdefault(b.group, []).append(b)
    for group, buttons in groups.items():
        elements.append(_picker(card.card_id, group, buttons))
    elements += [_input(card.card_id, i) for i in card.inputs]
    if plain:
        elements.append(_row([_button(card.card_id, b) for b in plain]))
    if card.note:
        elements.append(_div(card.note, "grey"))
    header: dict[str, Any] = {"title": _plain(card.title), "template": TEMPLATE.get(card.color, "blue")}
    if card.subtitle:
        header["subtitle"] = _plain(card.subtitle)
    out: dict[str, Any] = {
        "schema": "2.0",
        "config": {"update_multi": True, "width_mode": "fill", "summary": {"content": card.title}},
        "header": header,
        "body": {"direction": "vertical", "elements": elements or [_div(card.title)]},
    }
    if link_url:
        out["card_link"] = {"url": link_url}
    return out


def parse_press(value: dict[str, Any], *, option: Any = None, input_value: Any = None) -> tuple[str, str, str] | None:
    """A callback's ``action`` parts → (card id, action, value); None for anything we did not render."""
    card_id = value.get("c")
    if not isinstance(card_id, str) or not card_id:
        return None
    if value.get("k") == PICK:  # a dropdown: the chosen option is the action
        if not isinstance(option, str) or not option:
            return None
        chosen, _, picked = option.partition(KEY_SEP)
        return card_id, chosen, picked
    action = value.get("a")
    if not isinstance(action, str) or not action:
        return None
    if isinstance(input_value, str):
        return card_id, action, input_value.strip()
    if isinstance(option, str) and option:  # a date picker: "2026-12-10 +0800"
        return card_id, action, option[:10]
    return card_id, action, ""


def render_text(card: Card) -> str:
    """A card as plain text: the fallback when Feishu cannot build the card (230099)."""
    out = [card.title, *([card.subtitle] if card.subtitle else [])]
    out += [f"{f.label}：{f.value}" for f in card.facts]
    out += card.lines
    if card.note:
        out.append(card.note)
    return "\n".join(out)
