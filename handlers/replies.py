"""A card that waits for the presser's next message: a reject reason, an override reason, a checklist photo.

Some platforms have no text input in cards (WeCom) and none has a "photo" button, so a card asks, and the
person's next message answers. The wait lives on the Person row (``awaiting_card_id``), which the dispatcher
has loaded anyway, so the ordinary message pays nothing for it. The answer becomes a press of the action the
card named when it asked — text as the action's value, a photo/voice/file as its evidence entry (JSON) — and
goes through the card kind's own handler, which checks who may press as for any button.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cards.actions import parse
from handlers.context import Context
from handlers.event import Event, EventKind
from storage.models import Card as CardRow
from storage.models import Person

if TYPE_CHECKING:
    from handlers.router import Router

WINDOW = timedelta(minutes=10)
TEXT = "text"


async def await_reply(ctx: Context, row: CardRow, person: Person, action: str, kinds: tuple[str, ...] = (TEXT,)) -> None:
    """Let ``person``'s next message (of ``kinds``: text, image, voice, file) answer ``action`` on this card."""
    row.view = {**row.view, "awaiting": {"action": action, "kinds": list(kinds), "by": person.id}}
    person.awaiting_card_id, person.awaiting_since = row.id, ctx.now()
    ctx.session.add_all([row, person])


def awaiting(row: CardRow, person: Person) -> dict[str, Any] | None:
    """What this card waits for from this person, if anything."""
    got = row.view.get("awaiting")
    return got if isinstance(got, dict) and got.get("by") == person.id and person.awaiting_card_id == row.id else None


def clear(row: CardRow | None, person: Person) -> None:
    if row is not None and "awaiting" in row.view:
        row.view = {k: v for k, v in row.view.items() if k != "awaiting"}
    person.awaiting_card_id = person.awaiting_since = None


def answer_kind(event: Event) -> str:
    return TEXT if event.kind == EventKind.text else event.kind.value


async def take_reply(ctx: Context, router: Router, person: Person, event: Event, value: str | None = None) -> bool:
    """Hand the message to the card waiting for it; False when none waits (or it waits for something else)."""
    if not person.awaiting_card_id:
        return False
    row = await ctx.session.get(CardRow, person.awaiting_card_id)
    wanted = awaiting(row, person) if row is not None else None
    late = person.awaiting_since is None or ctx.now() - person.awaiting_since > WINDOW
    if row is None or wanted is None or late or row.platform != event.platform:
        clear(row, person)
        return False
    if answer_kind(event) not in wanted.get("kinds", []):
        return False  # e.g. a text while a photo is awaited: a record as usual; the wait stays
    kind = router.cards.get(row.kind)
    raw = event.text.strip() if value is None else value
    action = parse(kind.actions, str(wanted["action"]), raw) if kind is not None else None
    clear(row, person)
    ctx.session.add_all([row, person])
    if kind is None or action is None:
        return False
    await kind.handle(ctx, row, person, action)
    return True


def entry_value(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
