"""The neutral Card: what a card says and which buttons it has, independent of any platform.

A button carries only an action name; the card's id (an opaque token) travels with it. Who may press
and what it means is decided server-side from the stored card, never from values sent back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Color = Literal["blue", "green", "yellow", "red", "grey"]
Style = Literal["primary", "default", "danger"]


@dataclass(frozen=True)
class Button:
    """``group`` names a set of alternatives (customer / type / date) a renderer may show as one
    picker; ``primary`` style marks the current choice inside a group."""

    action: str
    label: str
    style: Style = "default"
    group: str = ""


@dataclass(frozen=True)
class Fact:
    """A label/value row, e.g. 客户 / 无锡瑞丰精密机械有限公司."""

    label: str
    value: str


@dataclass(frozen=True)
class Input:
    """A form control whose value is sent with ``action`` (e.g. a date picker)."""

    name: str
    kind: Literal["date", "text"]
    label: str
    action: str
    value: str = ""


@dataclass
class Card:
    kind: str
    title: str
    color: Color = "blue"
    subtitle: str = ""
    facts: list[Fact] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    note: str = ""
    card_id: str = ""
    # a picture shown inside the card (a report chart): a PNG this service wrote; each channel uploads it or
    # links it the way its platform shows images in cards. The card's text carries the same numbers.
    image: str = ""

    def actions(self) -> set[str]:
        """Every action this card currently offers; a press of anything else is refused."""
        return {b.action for b in self.buttons} | {i.action for i in self.inputs}

    def to_dict(self) -> dict[str, Any]:
        """``asdict`` spelled out: it deep-copies field by field, and a morning stores 5,000 of these."""
        return {"kind": self.kind, "title": self.title, "color": self.color, "subtitle": self.subtitle,
                "facts": [{"label": f.label, "value": f.value} for f in self.facts], "lines": list(self.lines),
                "buttons": [{"action": b.action, "label": b.label, "style": b.style, "group": b.group}
                            for b in self.buttons],
                "inputs": [{"name": i.name, "kind": i.kind, "label": i.label, "action": i.action, "value": i.value}
                           for i in self.inputs],
                "note": self.note, "card_id": self.card_id, "image": self.image}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Card:
        return cls(
            kind=d["kind"],
            title=d["title"],
            color=d.get("color", "blue"),
            subtitle=d.get("subtitle", ""),
            facts=[Fact(**f) for f in d.get("facts", [])],
            lines=list(d.get("lines", [])),
            buttons=[Button(**b) for b in d.get("buttons", [])],
            inputs=[Input(**i) for i in d.get("inputs", [])],
            note=d.get("note", ""),
            card_id=d.get("card_id", ""),
            image=d.get("image", ""),
        )
