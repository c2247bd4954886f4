"""The stored form of a card: ``to_dict`` is written out by hand for speed, so it must say what ``asdict``
would say, for every field of the card and of its facts, buttons and inputs (a new field fails here)."""

from __future__ import annotations

from dataclasses import MISSING, asdict, fields
from typing import Any

from cards.model import Button, Card, Fact, Input


def _filled(cls: type, n: int) -> Any:
    """An instance whose every str field differs from its default (so a forgotten field shows)."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        default = f.default if f.default is not MISSING else None
        if f.name == "color":
            values[f.name] = "red"
        elif f.name == "style":
            values[f.name] = "danger"
        elif f.name == "kind" and cls is Input:
            values[f.name] = "text"
        elif isinstance(default, str) or f.type in ("str", str):
            values[f.name] = f"{f.name}-{n}"
    return cls(**values)


def test_to_dict_is_asdict_for_every_field_and_round_trips() -> None:
    card = _filled(Card, 0)
    card.facts = [_filled(Fact, 1), _filled(Fact, 2)]
    card.lines = ["一", "二"]
    card.buttons = [_filled(Button, 3)]
    card.inputs = [_filled(Input, 4)]
    unset = [f.name for f in fields(Card) if getattr(card, f.name) in ("", [], None)]
    assert not unset, f"fill these fields in the test too: {unset}"
    assert card.to_dict() == asdict(card)
    assert Card.from_dict(card.to_dict()) == card
