"""What a handler gets: one transaction, the clock, settings, and ways to answer.

Everything a handler sends goes into the outbox inside the same transaction as its domain
changes, so a crash leaves either both or neither.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cards.model import Card
from handlers.clock import Clock
from handlers.customers import DirectoryCache
from handlers.domain import DomainEvent
from storage import outbox
from storage.models import Card as CardRow
from storage.models import Identity, Person
from storage.upsert import table as core_table


@dataclass(frozen=True)
class Settings:
    """The slice of configuration handlers need (handlers never see the config file)."""

    timezone: str = "Asia/Shanghai"
    confidence_threshold: float = 0.6
    platforms: tuple[str, ...] = ("local",)  # enabled channels, preferred first

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class NoRoute(Exception):
    """The person has no identity on any enabled platform."""


Publish = Callable[["Context", DomainEvent], Awaitable[None]]


@dataclass(frozen=True)
class OutgoingCard:
    """One card of a bulk send (``Context.send_cards``)."""

    card: Card
    person_id: int
    subject: dict[str, Any]
    view: dict[str, Any] = field(default_factory=dict)
    key_prefix: str | None = None  # the outbox key is ``<prefix>:1``; default: the context's next key
    card_id: str | None = None  # when the caller needed the id before sending (rows that point at the card)


@dataclass
class Context:
    session: AsyncSession
    clock: Clock
    settings: Settings
    key_prefix: str  # makes outbox keys deterministic for one event or job run
    platform: str | None = None  # where the triggering event came from
    directory: DirectoryCache = field(default_factory=DirectoryCache)
    publisher: Publish | None = None  # the router's publish; None in contexts that publish nothing
    sender: tuple[int, str] | None = None  # (person id, user id) of who wrote on ``platform``: replies go there
    _seq: int = field(default=0, init=False)

    async def publish(self, event: DomainEvent) -> None:
        """Tell the capabilities that subscribe; they act in this same transaction."""
        if self.publisher is not None:
            await self.publisher(self, event)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.settings.tz).date()

    def local_now(self) -> datetime:
        return self.now().astimezone(self.settings.tz)

    def _key(self, suffix: str = "") -> str:
        self._seq += 1
        return f"{self.key_prefix}:{self._seq}{suffix}"

    async def route(self, person_id: int) -> tuple[str, str]:
        """(platform, user id) to reach a person: the event's platform first, then configured order."""
        found = (await self.routes([person_id])).get(person_id)
        if found is None:
            raise NoRoute(f"person {person_id} has no identity on {', '.join(self.settings.platforms)}")
        return found

    async def routes(self, person_ids: list[int]) -> dict[int, tuple[str, str]]:
        """(platform, user id) for many people in one query; people with no reachable identity are left out."""
        if self.sender and self.platform and person_ids == [self.sender[0]]:  # a reply: no lookup needed
            return {self.sender[0]: (self.platform, self.sender[1])}
        found: dict[int, dict[str, str]] = {}
        for i in range(0, len(person_ids), 500):
            rows = await self.session.execute(
                select(col(Identity.person_id), col(Identity.platform), col(Identity.external_id))
                .where(col(Identity.person_id).in_(person_ids[i:i + 500])))
            for pid, platform, external in rows.all():
                found.setdefault(pid, {})[platform] = external
        order = ([self.platform] if self.platform else []) + list(self.settings.platforms)
        out: dict[int, tuple[str, str]] = {}
        for pid, ids in found.items():
            p = next((p for p in order if p in ids and p in self.settings.platforms), None)
            if p is not None:
                out[pid] = (p, ids[p])
        return out

    async def send_text(self, text: str, *, person_id: int | None = None, to: tuple[str, str] | None = None) -> None:
        """Send text to a person, or to a raw (platform, user id) for people we do not know."""
        platform, recipient = to if to else await self.route(_required(person_id))
        await outbox.enqueue(
            self.session, key=self._key(), platform=platform, recipient=recipient,
            body=outbox.text_body(text), now=self.now(), person_id=person_id,
        )

    async def send_card(
        self, card: Card, *, person_id: int, subject: dict[str, object], view: dict[str, object] | None = None
    ) -> str:
        """Store the card (its id becomes the buttons' opaque token), queue its delivery; returns its id."""
        [card_id] = await self.send_cards([OutgoingCard(card, person_id, dict(subject), dict(view or {}))], strict=True)
        return card_id

    async def send_cards(self, cards: list[OutgoingCard], *, strict: bool = False) -> list[str]:
        """Many cards with one card insert and one outbox insert (the morning run sends thousands);
        returns the new card ids. People who cannot be reached are skipped (``strict``: ``NoRoute``)."""
        routes = await self.routes(sorted({c.person_id for c in cards}))
        now = self.now()
        rows: list[dict[str, Any]] = []
        messages: list[outbox.Outgoing] = []
        for c in cards:
            if c.person_id not in routes:
                if strict:
                    raise NoRoute(f"person {c.person_id} has no identity on {', '.join(self.settings.platforms)}")
                continue
            platform, recipient = routes[c.person_id]
            card_id = c.card_id or secrets.token_urlsafe(12)
            c.card.card_id = card_id
            rows.append(dict(id=card_id, kind=c.card.kind, audience_id=c.person_id, subject=dict(c.subject),
                             view=dict(c.view), offered=sorted(c.card.actions()), platform=platform, refs={},
                             state="open", version=1, created_at=now, updated_at=now))
            key = f"{c.key_prefix}:1" if c.key_prefix is not None else self._key()
            messages.append(outbox.Outgoing(key=key, platform=platform, recipient=recipient,
                                            body=outbox.card_body(c.card.to_dict()), person_id=c.person_id,
                                            card_id=card_id))
        if rows:
            await self.session.execute(insert(core_table(CardRow)), rows)
        await outbox.enqueue_many(self.session, messages, now=now)
        return [r["id"] for r in rows]

    async def update_card(self, row: CardRow, card: Card) -> None:
        """Queue a new version of a sent card; the sender applies updates after the original send."""
        row.version += 1
        row.updated_at = self.now()
        row.offered = sorted(card.actions())
        card.card_id = row.id
        self.session.add(row)
        recipient = await self._recipient_of(row)
        await outbox.enqueue(
            self.session, key=f"upd:{row.id}:v{row.version}", platform=row.platform, recipient=recipient,
            body=outbox.card_body(card.to_dict()), now=self.now(), person_id=row.audience_id, op="update",
            card_id=row.id,
        )

    async def _recipient_of(self, row: CardRow) -> str:
        ident = (
            await self.session.execute(
                select(Identity).where(col(Identity.person_id) == row.audience_id, col(Identity.platform) == row.platform)
            )
        ).scalar_one()
        return ident.external_id

    async def person(self, person_id: int) -> Person:
        p = await self.session.get(Person, person_id)
        if p is None:
            raise LookupError(person_id)
        return p


def _required(person_id: int | None) -> int:
    if person_id is None:
        raise ValueError("send_text needs person_id or to")
    return person_id

