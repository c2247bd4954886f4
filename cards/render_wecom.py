"""Neutral Card → WeCom ``template_card`` (button_interaction, or text_notice when nothing is pressable, or
news_notice for a card with a picture and nothing to press).

WeCom limits shape the rendering: ≤6 buttons, one dropdown (``button_selection``, ≤10 options) whose
choice arrives with the next button press, no date picker and no text input. So:
- a button key is ``card_id|action`` (or ``card_id|action|value``): opaque, the server decides the meaning;
- more than 6 buttons → the alternatives go into the dropdown plus a "选定" button (key ``card_id|@pick``);
  the chosen option's id is the same ``action|value`` a button would carry;
- a date Input becomes quick-date buttons (明天 / 后天 / 下周一) unless the card already offers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from cards.actions import NOTHING_CHOSEN
from cards.confirmation import quick_dates
from cards.model import Card

PICK_QUESTION = "@pick"
KEY_SEP = "|"
MAX_KEY_BYTES = 1024
MAX_OPTION_ID_BYTES = 128
MAX_BUTTONS = 6
MAX_OPTIONS = 10
OPTION_TEXT_MAX = 16  # WeCom's recommended length for a dropdown option
GROUP_LABELS = {"customer": "客户", "type": "类型", "date": "日期"}
BUTTON_STYLE = {"primary": 1, "default": 2, "danger": 3}
DESC_COLOR = {"grey": 0, "red": 2, "green": 3}  # anything else: 1 (black)
MIN_ASPECT, MAX_ASPECT = 1.3, 2.25  # news_notice card_image.aspect_ratio: width ÷ height WeCom accepts
MAX_VERTICAL = 4  # news_notice vertical_content_list rows


def button_key(card_id: str, action: str, value: str = "") -> str:
    key = KEY_SEP.join([card_id, action, value] if value else [card_id, action])
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValueError("button key longer than WeCom's 1024 bytes")
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


@dataclass(frozen=True)
class _Choice:
    action: str
    value: str
    label: str
    style: str
    group: str


def _choices(card: Card, today: date | None) -> list[_Choice]:
    out = [_Choice(b.action, "", b.label, b.style, b.group) for b in card.buttons]
    for inp in card.inputs:
        if inp.kind != "date":
            continue  # no text input in WeCom cards
        if any(c.action.startswith(f"{inp.action}:") or c.action == inp.action for c in out):
            continue  # the card already offers quick dates for this input
        out += [_Choice(inp.action, d.isoformat(), label, "primary" if d.isoformat() == inp.value else "default",
                        "date") for label, d in quick_dates(today)]
    return out


def _option_id(c: _Choice) -> str:
    return KEY_SEP.join([c.action, c.value]) if c.value else c.action


def _fit(pickable: list[_Choice]) -> list[_Choice]:
    """At most 10 options: whole groups first, undecided groups (no current pick) before decided ones."""
    groups: dict[str, list[_Choice]] = {}
    for c in pickable:
        groups.setdefault(c.group, []).append(c)
    order = sorted(groups, key=lambda g: any(c.style == "primary" for c in groups[g]))
    chosen: list[_Choice] = []
    for g in order:
        if len(chosen) + len(groups[g]) <= MAX_OPTIONS:
            chosen += groups[g]
    for g in order:
        for c in groups[g]:
            if len(chosen) < MAX_OPTIONS and c not in chosen:
                chosen.append(c)
    return [c for c in pickable if c in chosen]  # keep the card's order


_COMPANY = re.compile(r"(股份)?有限(责任)?公司$|集团$")
_BRACKETS = re.compile(r"（[^）]*）|\([^)]*\)")
# ways to shorten a name, boldest first; a name falls back to a milder one when the bolder one collides
_SHORTER = (lambda s: _BRACKETS.sub("", _COMPANY.sub("", s)), lambda s: _COMPANY.sub("", s), lambda s: s)


def option_texts(items: list[tuple[str, str]]) -> list[str]:
    """Dropdown texts within WeCom's recommended 16 characters, each still telling its option apart:
    company suffixes and bracketed regions go first, then the middle is elided, keeping head and tail."""
    def fit(prefix: str, label: str, level: int) -> str:
        head = (prefix + "：") if prefix else ""
        room = OPTION_TEXT_MAX - len(head)
        if len(label) > room:
            label = _SHORTER[level](label) or label
        return head + (label if len(label) <= room else label[: room - 5] + "…" + label[-4:])

    levels = [0] * len(items)
    for _ in _SHORTER:
        out = [fit(p, label, lv) for (p, label), lv in zip(items, levels, strict=True)]
        clash = [n for n, t in enumerate(out) if out.count(t) > 1]
        if not clash:
            break
        for n in clash:
            levels[n] = min(levels[n] + 1, len(_SHORTER) - 1)
    return out


def _button(card_id: str, c: _Choice) -> dict[str, Any]:
    return {"type": 0, "text": _clip(c.label, 10), "style": BUTTON_STYLE.get(c.style, 2),
            "key": button_key(card_id, c.action, c.value)}


def render_news_notice(card: Card, *, image_url: str, aspect: float, link_url: str,
                       source: str = "销售动作流") -> dict[str, Any]:
    """A card with a picture and nothing to press (a radar): ``news_notice``, the one kind that shows an
    image. It has no subtitle text, so the lines go into ``vertical_content_list`` (≤ 4 rows)."""
    facts = [(f.label, f.value) for f in card.facts]
    rows = [*card.lines, *(f"{k}：{v}" for k, v in facts[6:])]
    vertical = []
    for line in rows[:MAX_VERTICAL]:
        head, sep, rest = line.partition("：")
        vertical.append({"title": _clip(head if sep else line, 26), **({"desc": _clip(rest, 112)} if sep and rest else {})})
    tc: dict[str, Any] = {
        "card_type": "news_notice",
        "source": {"desc": _clip(source, 13), "desc_color": DESC_COLOR.get(card.color, 1)},
        "main_title": {"title": _clip(card.title, 36), **({"desc": _clip(card.subtitle, 44)} if card.subtitle else {})},
        "card_image": {"url": image_url, "aspect_ratio": round(min(MAX_ASPECT, max(MIN_ASPECT, aspect)), 2)},
        "card_action": {"type": 1, "url": link_url},
    }
    if vertical:
        tc["vertical_content_list"] = vertical
    if facts:
        tc["horizontal_content_list"] = [{"keyname": _clip(k, 5), "value": _clip(v or "—", 30)} for k, v in facts[:6]]
    if card.note:
        tc["quote_area"] = {"type": 0, "quote_text": _clip(card.note, 100)}
    return tc


def render_template_card(card: Card, *, task_id: str, link_url: str, today: date | None = None,
                         source: str = "销售动作流") -> dict[str, Any]:
    """The ``template_card`` object for message/send and update_template_card."""
    facts = [(f.label, f.value) for f in card.facts]
    sub = [*card.lines, *(f"{k}：{v}" for k, v in facts[6:])]
    tc: dict[str, Any] = {
        "source": {"desc": _clip(source, 13), "desc_color": DESC_COLOR.get(card.color, 1)},
        "main_title": {"title": _clip(card.title, 36), **({"desc": _clip(card.subtitle, 44)} if card.subtitle else {})},
        "card_action": {"type": 1, "url": link_url},
    }
    if facts:
        tc["horizontal_content_list"] = [{"keyname": _clip(k, 5), "value": _clip(v or "—", 30)} for k, v in facts[:6]]
    if sub:
        tc["sub_title_text"] = _clip("\n".join(sub), 160)
    if card.note:
        tc["quote_area"] = {"type": 0, "quote_text": _clip(card.note, 100)}

    choices = _choices(card, today)
    if not choices:
        return {"card_type": "text_notice", **tc}
    tc.update(card_type="button_interaction", task_id=task_id)
    if len(choices) <= MAX_BUTTONS:
        tc["button_list"] = [_button(card.card_id, c) for c in choices]
        return tc
    grouped = [c for c in choices if c.group]
    pickable, controls = (grouped, [c for c in choices if not c.group]) if grouped else (choices[:-1], choices[-1:])
    options = [c for c in _fit(pickable) if len(_option_id(c).encode("utf-8")) <= MAX_OPTION_ID_BYTES]
    several = len({c.group for c in options}) > 1
    picked = [c for c in options if c.style == "primary"]
    texts = option_texts([(GROUP_LABELS.get(c.group, c.group) if several and c.group else "", c.label) for c in options])
    option_list = [{"id": _option_id(c), "text": t} for c, t in zip(options, texts, strict=True)]
    overflow: list[_Choice] = []
    if picked and not several:
        selected = _option_id(picked[0])
    else:  # WeCom preselects the first option: without a placeholder, "选定" unopened would choose it silently
        kept = MAX_OPTIONS - 1
        overflow = [c for c in options[kept:]][: max(0, MAX_BUTTONS - 1 - len(controls))]  # shown as buttons
        option_list = [{"id": NOTHING_CHOSEN, "text": "请选择…"}, *option_list[:kept]]
        selected = NOTHING_CHOSEN
    selection: dict[str, Any] = {"question_key": PICK_QUESTION, "title": "请选择", "option_list": option_list,
                                 "selected_id": selected}
    tc["button_selection"] = selection
    tc["button_list"] = [{"type": 0, "text": "选定", "style": 1, "key": button_key(card.card_id, PICK_QUESTION)},
                         *(_button(card.card_id, c) for c in [*overflow, *controls][: MAX_BUTTONS - 1])]
    return tc


def render_markdown(card: Card) -> str:
    """A card as WeCom markdown, for group pushes (appchat, group robot) where buttons make no sense."""
    color = {"red": "warning", "yellow": "warning", "green": "info"}.get(card.color, "comment")
    out = [f"**{card.title}**"]
    if card.subtitle:
        out.append(f'<font color="{color}">{card.subtitle}</font>')
    out += [f"> {f.label}：{f.value}" for f in card.facts]
    out += card.lines
    if card.note:
        out.append(f'<font color="comment">{card.note}</font>')
    return "\n".join(out)
