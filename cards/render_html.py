"""Card → HTML for the local chat emulator. Everything user-supplied is escaped."""

from __future__ import annotations

from html import escape

from cards.model import Card

GROUP_LABELS = {"customer": "客户", "type": "动作", "date": "下次跟进"}


def render_html(card: Card, image_url: str = "") -> str:
    """``image_url`` serves the card's picture (the emulator names it by transcript row, never by path)."""
    e = escape
    parts = [
        f'<div class="card card-{e(card.color)}" data-card-id="{e(card.card_id)}" data-kind="{e(card.kind)}">',
        f'<div class="card-title">{e(card.title)}</div>',
    ]
    if card.subtitle:
        parts.append(f'<div class="card-subtitle">{e(card.subtitle)}</div>')
    if card.image and image_url:
        parts.append(f'<img class="card-image" src="{e(image_url)}" alt="{e(card.title)}">')
    if card.facts:
        parts.append('<dl class="card-facts">')
        for f in card.facts:
            parts.append(f"<dt>{e(f.label)}</dt><dd>{e(f.value)}</dd>")
        parts.append("</dl>")
    for line in card.lines:
        parts.append(f'<div class="card-line">{e(line)}</div>')
    for i in card.inputs:
        typ = "date" if i.kind == "date" else "text"
        parts.append(
            f'<form class="card-input" data-action="{e(i.action)}">'
            f"<label>{e(i.label)} <input type=\"{typ}\" name=\"{e(i.name)}\" value=\"{e(i.value)}\"></label>"
            f'<button type="submit" class="btn btn-primary">确定</button></form>'
        )
    group: str | None = None
    for b in card.buttons:
        if b.group != group:
            if group is not None:
                parts.append("</div>")
            label = GROUP_LABELS.get(b.group, "")
            parts.append(f'<div class="card-buttons" data-group="{e(b.group)}">')
            if label:
                parts.append(f'<span class="card-group">{e(label)}</span>')
            group = b.group
        parts.append(f'<button class="btn btn-{e(b.style)}" data-action="{e(b.action)}">{e(b.label)}</button>')
    if group is not None:
        parts.append("</div>")
    if card.note:
        parts.append(f'<div class="card-note">{e(card.note)}</div>')
    parts.append("</div>")
    return "".join(parts)
