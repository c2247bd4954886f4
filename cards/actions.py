"""Typed card actions: what a button or input of a card means, as a small dataclass, not a string.

A button carries ``prefix:arg1:arg2`` (kept short: WeCom keys and Feishu values are size-limited);
an input sends its action plus the typed ``value``. Each card kind lists its action classes; the
router parses a press into exactly one of them or refuses it. Like aiogram's ``CallbackData``, but
the card id — not the packed string — is what the server trusts: the stored card says which
actions it offers now and who may press.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date
from enum import Enum
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

SEP = ":"
NOTHING_CHOSEN = "unchosen"  # a picker submitted while still on its "请选择…" placeholder


class Value(str):
    """Marks the field that takes the input's free value (a typed date, a note) instead of a key part."""


@dataclasses.dataclass(frozen=True)
class CardAction:
    """Base of every typed action. Subclasses declare ``prefix`` and their fields, in key order."""

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, prefix: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if prefix:
            cls.prefix = prefix

    def offer_key(self) -> str:
        """What must be on the card for this press to count; toggles drop the wanted state so that
        a repeated "on" still counts once the card already shows "off" (and changes nothing)."""
        return self.pack()

    def pack(self) -> str:
        """The action string a button carries (input-valued fields are not part of it)."""
        parts = [self.prefix]
        for f, t in _fields(type(self)):
            if t is not Value:
                v = getattr(self, f.name)
                parts.append(v.value if isinstance(v, Enum) else v.isoformat() if isinstance(v, date) else str(v))
        return SEP.join(parts)

    @classmethod
    def unpack(cls, action: str, value: str = "") -> Self | None:
        """This class's action from a press, or None when the press is not one of it."""
        head, *parts = action.split(SEP)
        if head != cls.prefix:
            return None
        fields = _fields(cls)
        keyed = [(f, t) for f, t in fields if t is not Value]
        if len(parts) != len(keyed):
            return None
        args: dict[str, Any] = {}
        try:
            for (f, t), raw in zip(keyed, parts, strict=True):
                args[f.name] = _convert(t, raw)
            for f, t in fields:
                if t is Value:
                    args[f.name] = Value(value)
        except (ValueError, TypeError):
            return None
        return cls(**args)


def parse(kinds: tuple[type[CardAction], ...], action: str, value: str = "") -> CardAction | None:
    """The first action class that accepts the press; None when none does."""
    for k in kinds:
        got = k.unpack(action, value)
        if got is not None:
            return got
    return None


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def _convert(t: Any, raw: str) -> Any:
    if get_origin(t) is Literal:
        if raw not in get_args(t):
            raise ValueError(raw)
        return raw
    if isinstance(t, type) and issubclass(t, Enum):
        return t(raw)
    if t is int:
        if not raw.isdigit() or len(raw) > 18:
            raise ValueError(raw)
        return int(raw)
    if t is date:
        return date.fromisoformat(raw)
    if t is str:
        if not raw:
            raise ValueError("empty")
        return raw
    raise TypeError(f"unsupported action field type {t!r}")


def pressed(offered: list[str], kinds: tuple[type[CardAction], ...], action: str, value: str = "") -> CardAction | None:
    """The typed action of a press, only when the card currently offers it (by ``offer_key``); else None."""
    got = parse(kinds, action, value)
    if got is None:
        return None
    keys = {p.offer_key() for o in offered if (p := parse(kinds, o)) is not None}
    return got if got.offer_key() in keys else None
