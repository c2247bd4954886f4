"""What a handler gets: one transaction, the clock, settings, and ways to answer.

Everything a handler sends goes into the outbox inside the same transaction as its domain
changes, so a crash leaves either both or neither.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.model import Card
from handlers.clock import Clock
from handlers.customers import DirectoryCache
from storage import outbox
from storage.models import Card as CardRow
from storage.models import Identity, Person


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


@dataclass
class Context:
    session: AsyncSession
    clock: Clock
    settings: Settings
    key_prefix: str  # makes outbox keys deterministic for one event or job run
    platform: str | None = None  # where the triggering event came from
    directory: DirectoryCache = field(default_factory=DirectoryCache)
    _seq: int = field(default=0, init=False)

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
        rows = (await self.session.execute(select(Identity).where(Identity.person_id == person_id))).scalars().all()
        by_platform = {r.platform: r.external_id for r in rows}
        order = ([self.platform] if self.platform else []) + list(self.settings.platforms)
        for p in order:
            if p in by_platform and p in self.settings.platforms:
                return p, by_platform[p]
        raise NoRoute(f"person {person_id} has no identity on {', '.join(self.settings.platforms)}")

    async def send_text(self, text: str, *, person_id: int | None = None, to: tuple[str, str] | None = None) -> None:
        """Send text to a person, or to a raw (platform, user id) for people we do not know."""
        platform, recipient = to if to else await self.route(_required(person_id))
        await outbox.enqueue(
            self.session, key=self._key(), platform=platform, recipient=recipient,
            body={"text": text}, now=self.now(), person_id=person_id,
        )

    async def send_card(
        self, card: Card, *, person_id: int, subject: dict[str, object], view: dict[str, object] | None = None
    ) -> CardRow:
        """Store the card (its id becomes the buttons' opaque token) and queue its delivery."""
        platform, recipient = await self.route(person_id)
        now = self.now()
        row = CardRow(
            id=secrets.token_urlsafe(12), kind=card.kind, audience_id=person_id, subject=dict(subject),
            view=dict(view or {}), platform=platform, created_at=now, updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        card.card_id = row.id
        await outbox.enqueue(
            self.session, key=self._key(), platform=platform, recipient=recipient,
            body={"card": card.to_dict()}, now=now, person_id=person_id, card_id=row.id,
        )
        return row

    async def update_card(self, row: CardRow, card: Card) -> None:
        """Queue a new version of a sent card; the sender applies updates after the original send."""
        row.version += 1
        row.updated_at = self.now()
        card.card_id = row.id
        self.session.add(row)
        recipient = await self._recipient_of(row)
        await outbox.enqueue(
            self.session, key=f"upd:{row.id}:v{row.version}", platform=row.platform, recipient=recipient,
            body={"card": card.to_dict()}, now=self.now(), person_id=row.audience_id, op="update", card_id=row.id,
        )

    async def _recipient_of(self, row: CardRow) -> str:
        ident = (
            await self.session.execute(
                select(Identity).where(Identity.person_id == row.audience_id, Identity.platform == row.platform)
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

