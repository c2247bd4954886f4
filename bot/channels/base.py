"""The Channel interface: every platform folder implements the same few methods.

Channels know protocols, not sales: inbound they verify and parse into an Event and hand it to
``intake``; outbound they deliver a stored outbox row and update a sent card.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.ratelimit import RateLimiter
from handlers.event import Event
from storage.models import OutboxMessage

Intake = Callable[[Event], Awaitable[bool]]  # True when new, False for a duplicate


@dataclass
class Delivery:
    message_id: str | None
    refs: dict[str, Any] = field(default_factory=dict)  # stored on the card for later updates


class ChannelError(Exception):
    """A failed platform call. ``retryable`` errors go back to the outbox with backoff."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(ABC):
    name: str
    limiter: RateLimiter

    def routes(self) -> list[web.RouteDef]:
        """HTTP endpoints this channel serves (callbacks, pages)."""
        return []

    async def start(self, intake: Intake) -> None:
        """Open long-lived connections (sessions, streams). ``intake`` stores an inbound Event."""
        self.intake = intake

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections."""

    @abstractmethod
    async def deliver(self, msg: OutboxMessage) -> Delivery:
        """Send ``msg.body`` ({"text"} or {"card"}) to ``msg.recipient``; repeat-safe for one key."""

    @abstractmethod
    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        """Replace a sent card (refs as returned by ``deliver``) with ``msg.body["card"]``."""
