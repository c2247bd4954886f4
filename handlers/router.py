"""The capability router: each capability declares, in one place, what it adds to the bot.

A capability is one module under ``handlers/`` that builds a ``Capability`` with
- its **card kinds**: the typed actions each kind understands and the handler for a parsed press;
- its **commands**: chat messages that are questions or orders rather than records (帮助, 我的必做 …);
- its **jobs**: scheduled runs with their timetables;
- its **subscriptions** to domain events (``RecordConfirmed`` …) published by other capabilities.

The service includes one list of capabilities (``bot/capabilities.py``); the dispatcher, the scheduler
and ``Context.publish`` read them through the ``Router``. Nothing else needs editing to add one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cards.actions import CardAction
from handlers.context import Context
from handlers.domain import DomainEvent
from handlers.event import Event
from scheduler.registry import Job
from storage.models import Card as CardRow
from storage.models import Person, Role

A = TypeVar("A", bound=CardAction)
PressHandler = Callable[[Context, CardRow, Person, Any], Awaitable[None]]
# Returns False when the message turned out not to be this command (it then goes on to capture).
CommandHandler = Callable[[Context, Person, Event, "re.Match[str]"], Awaitable[bool]]
Subscriber = Callable[[Context, Any], Awaitable[None]]


@dataclass(frozen=True)
class CardKind:
    kind: str
    actions: tuple[type[CardAction], ...]
    handle: PressHandler


@dataclass(frozen=True)
class Command:
    """A chat command: a pattern on the whole (trimmed) message, who may use it, and one help line."""

    name: str
    pattern: re.Pattern[str]
    handle: CommandHandler
    help: str
    roles: frozenset[Role] | None = None  # None: everybody


@dataclass
class Capability:
    name: str
    cards: dict[str, CardKind] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    subscriptions: dict[type[DomainEvent], list[Subscriber]] = field(default_factory=dict)

    def card(self, kind: str, *actions: type[CardAction]) -> Callable[[PressHandler], PressHandler]:
        """Register the handler of one card kind; it receives a parsed action of one of ``actions``."""

        def deco(fn: PressHandler) -> PressHandler:
            self.cards[kind] = CardKind(kind, tuple(actions), fn)
            return fn

        return deco

    def command(self, name: str, pattern: str, help: str, roles: set[Role] | None = None,
                ) -> Callable[[CommandHandler], CommandHandler]:
        def deco(fn: CommandHandler) -> CommandHandler:
            self.commands.append(Command(name, re.compile(pattern), fn, help,
                                         frozenset(roles) if roles else None))
            return fn

        return deco

    def on(self, event_type: type[DomainEvent]) -> Callable[[Subscriber], Subscriber]:
        def deco(fn: Subscriber) -> Subscriber:
            self.subscriptions.setdefault(event_type, []).append(fn)
            return fn

        return deco

    def job(self, job: Job) -> None:
        self.jobs.append(job)


class Router:
    """All capabilities of one process, indexed for the dispatcher, the scheduler and publishing."""

    def __init__(self, capabilities: list[Capability]) -> None:
        self.capabilities = list(capabilities)
        self.cards: dict[str, CardKind] = {}
        self.commands: list[Command] = []
        self.jobs: list[Job] = []
        self.subscriptions: dict[type[DomainEvent], list[Subscriber]] = {}
        for cap in self.capabilities:
            for kind, ck in cap.cards.items():
                if kind in self.cards:
                    raise ValueError(f"card kind {kind!r} registered twice ({cap.name})")
                self.cards[kind] = ck
            self.commands += cap.commands
            self.jobs += cap.jobs
            for et, subs in cap.subscriptions.items():
                self.subscriptions.setdefault(et, []).extend(subs)

    async def publish(self, ctx: Context, event: DomainEvent) -> None:
        """Run every subscriber in the publisher's transaction: the change and its effects commit together."""
        for et, subs in self.subscriptions.items():
            if isinstance(event, et):
                for fn in subs:
                    await fn(ctx, event)

    def command_for(self, text: str, role: Role) -> tuple[Command, re.Match[str]] | None:
        for c in self.commands:
            m = c.pattern.fullmatch(text.strip())
            if m and (c.roles is None or role in c.roles):
                return c, m
        return None
