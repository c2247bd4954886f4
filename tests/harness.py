"""One chat harness for every platform: ``say``, ``press``, ``should_send`` read the same on all of them.

A scenario is written once against :class:`Chat` and runs on each platform through the ``chat`` fixture
(tests/scenarios/conftest.py): the local emulator's HTTP API, and each platform's callbacks signed and
encrypted as the platform does, with replies read back from that platform's fake API server. What a
person "sees" is what the platform was asked to show them — the emulator's stored messages, or the
bodies the fake WeCom server accepted — never our own database rows. A new platform adds one module,
``tests/<platform>/chat.py``, with its ``Chat`` subclass and an ``open_chat`` that starts the service
against the platform's fake; the scenarios' conftest finds it and every scenario then covers it.
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Config
from bot.importers import link_identity
from bot.service import Service
from cards.model import Card
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import LocalChatMessage, Person
from tests.conftest import eventually, make_config, seeded


@dataclass
class Seen:
    """One message as the person saw it: a text, or the latest version of a card."""

    to: str
    text: str  # everything readable on it (title, facts, lines, note, or the text itself)
    title: str = ""
    ref: str = ""  # what identifies this card on its platform across updates
    card_id: str = ""  # our opaque card token, as carried by its buttons
    offered: list[tuple[str, str]] = field(default_factory=list)  # (action, value) a press can send now
    facts: dict[str, str] = field(default_factory=dict)  # label → value rows (客户, 负责人, …)
    raw: Any = None

    @property
    def is_card(self) -> bool:
        return bool(self.ref)

    def offers(self, action: str, value: str = "") -> bool:
        return (action, value) in self.offered

    def actions(self, prefix: str = "") -> list[str]:
        return [a for a, _ in self.offered if a.startswith(prefix)]


class Chat(ABC):
    """A chat with the bot on one platform, as the people of the demo org."""

    platform: str

    def __init__(self, service: Service, client: TestClient, clock: FixedClock, people: dict[str, Person]) -> None:
        self.service = service
        self.client = client
        self.clock = clock
        self.people = people

    def person(self, name: str) -> Person:
        return self.people[name]

    @abstractmethod
    async def say(self, who: str, text: str) -> None:
        """``who`` sends ``text`` to the bot in a one-to-one chat."""

    @abstractmethod
    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        """``who`` presses the control of ``card`` that sends (action, value), as the platform would."""

    async def send_voice(self, who: str, audio: Path) -> None:
        """``who`` sends a voice message: ``audio`` in the platform's own format (AMR, Opus, …)."""
        raise NotImplementedError(f"{self.platform}: this chat cannot send voice yet")

    async def send_photo(self, who: str, image: Path) -> None:
        """``who`` sends a photo (the bytes of ``image``, whatever they are)."""
        raise NotImplementedError(f"{self.platform}: this chat cannot send photos yet")

    async def send_file(self, who: str, path: Path) -> None:
        """``who`` sends a file (a signed PDF, a spreadsheet)."""
        raise NotImplementedError(f"{self.platform}: this chat cannot send files yet")

    async def send_location(self, who: str, lat: float, lng: float, label: str = "") -> None:
        """``who`` shares a location (a check-in)."""
        raise NotImplementedError(f"{self.platform}: this chat cannot share locations yet")

    @abstractmethod
    async def picture(self, card: Seen) -> bytes | None:
        """The picture shown inside ``card``, fetched the way the platform gets it (an upload it holds, or
        our public link); None when the card shows none."""

    @abstractmethod
    async def seen(self, who: str) -> list[Seen]:
        """Everything the bot showed ``who`` so far, oldest first; a card appears once, in its latest version."""

    async def settle(self) -> None:
        """Wait until every accepted event is handled and every queued message has reached the platform."""
        await self.service.inbox.drain()
        await eventually(self._outbox_empty)

    async def _outbox_empty(self) -> bool:
        from storage.models import OutboxMessage, OutboxStatus

        async with self.service.db.session() as s:
            rows = (await s.execute(select(OutboxMessage.id).where(
                OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending])).limit(1))).all()
        return not rows

    async def should_send(self, who: str, *, card: str | None = None, text: str | None = None,
                          where: Callable[[Seen], bool] | None = None) -> Seen:
        """The newest message to ``who`` whose title contains ``card`` (a card) or whose text contains
        ``text``; waits for it with a generous deadline rather than a fixed sleep."""

        def match(m: Seen) -> bool:
            if card is not None and not (m.is_card and card in m.title):
                return False
            if text is not None and text not in m.text:
                return False
            return where(m) if where else True

        async def found() -> Seen | None:
            return next((m for m in reversed(await self.seen(who)) if match(m)), None)

        got: Seen = await eventually(found)
        return got

    async def cards(self, who: str, title: str = "") -> list[Seen]:
        return [m for m in await self.seen(who) if m.is_card and title in m.title]

    async def texts(self, who: str) -> list[str]:
        return [m.text for m in await self.seen(who) if not m.is_card]

    async def run(self, job: str, at: datetime) -> str:
        """Travel to ``at`` and run a scheduled job there, then let its messages arrive."""
        self.clock.set(at)
        summary = await self.service.scheduler.run(job)
        await self.settle()
        return summary


def _card_text(card: dict[str, Any]) -> str:
    parts = [card.get("title", ""), card.get("subtitle", ""), *card.get("lines", []), card.get("note", "")]
    parts += [f"{f['label']}：{f['value']}" for f in card.get("facts", [])]
    parts += [b["label"] for b in card.get("buttons", [])]
    return "\n".join(p for p in parts if p)


class LocalChat(Chat):
    """The local emulator: the same HTTP API the browser page uses; replies are its stored chat log."""

    platform = "local"

    async def picture(self, card: Seen) -> bytes | None:
        r = await self.client.get("/local/api/history", params={"person": str(self.person(card.to).id)})
        shown = [m for m in await r.json() if m.get("card_id") == card.card_id and "html" in m]
        src = re.search(r'<img class="card-image" src="([^"]+)"', shown[-1]["html"]) if shown else None
        if src is None:
            return None
        got = await self.client.get(src.group(1))
        assert got.status == 200, got.status
        return await got.read()

    async def say(self, who: str, text: str) -> None:
        r = await self.client.post("/local/api/message", json={
            "person_id": self.person(who).id, "client_id": uuid.uuid4().hex, "text": text})
        assert r.status == 200, await r.text()

    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        r = await self.client.post("/local/api/action", json={
            "person_id": self.person(who).id, "client_id": uuid.uuid4().hex, "card_id": card.card_id,
            "action": action, "value": value})
        assert r.status == 200, await r.text()

    async def send_voice(self, who: str, audio: Path) -> None:
        """The emulator's 🎤 button: a multipart upload of the recording."""
        await self._upload(who, "voice", audio, "audio/webm")

    async def send_photo(self, who: str, image: Path) -> None:
        """The emulator's 📷 button."""
        await self._upload(who, "image", image, "image/jpeg")

    async def send_file(self, who: str, path: Path) -> None:
        """The emulator's 📎 button."""
        await self._upload(who, "file", path, "application/octet-stream")

    async def send_location(self, who: str, lat: float, lng: float, label: str = "") -> None:
        """The emulator's 📍 button."""
        r = await self.client.post("/local/api/location", json={
            "person_id": self.person(who).id, "client_id": uuid.uuid4().hex, "lat": lat, "lng": lng, "label": label})
        assert r.status == 200, await r.text()

    async def _upload(self, who: str, kind: str, path: Path, mime: str) -> None:
        import aiohttp

        form = aiohttp.FormData()
        form.add_field("person_id", str(self.person(who).id))
        form.add_field("client_id", uuid.uuid4().hex)
        form.add_field("kind", kind)
        form.add_field("file", path.read_bytes(), filename=path.name, content_type=mime)
        r = await self.client.post("/local/api/upload", data=form)
        assert r.status == 200, await r.text()

    async def seen(self, who: str) -> list[Seen]:
        async with self.service.db.session() as s:
            rows = (await s.execute(select(LocalChatMessage).where(
                LocalChatMessage.person_id == self.person(who).id, LocalChatMessage.direction == "out")
                .order_by(LocalChatMessage.id))).scalars().all()
        out = []
        for m in rows:
            if "card" in m.body:
                c = Card.from_dict(m.body["card"])
                offered = [(b.action, "") for b in c.buttons] + [(i.action, i.value) for i in c.inputs]
                out.append(Seen(to=who, text=_card_text(m.body["card"]), title=c.title, ref=str(m.id),
                                card_id=m.card_id or "", offered=offered, raw=m.body["card"],
                                facts={f.label: f.value for f in c.facts}))
            else:
                out.append(Seen(to=who, text=str(m.body.get("text", "")), raw=m.body))
        return out


async def people_of(service: Service) -> dict[str, Person]:
    async with service.db.session() as s:
        return {p.name: p for p in (await s.execute(select(Person))).scalars()}


async def open_local(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                     monkeypatch: pytest.MonkeyPatch) -> Chat:
    """The emulator-only deployment of ``make run``."""
    cfg = make_config(tmp_path)
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return LocalChat(service, client, clock, await people_of(service))


def userid(person: Person) -> str:
    """The user id a platform fake gives each demo person."""
    return f"u{person.id}"


async def link_everyone(cfg: Config, platform: str) -> None:
    """Give every demo person an identity on ``platform`` (a deployment with only that platform)."""
    db = Database(cfg.database.url)
    async with db.session() as s, s.begin():
        for p in (await s.execute(select(Person))).scalars():
            await link_identity(s, p, platform, userid(p))
    await db.close()


def strings(node: Any, skip: frozenset[str] = frozenset({"key", "task_id", "url", "id", "question_key"})) -> list[str]:
    """Every readable string of a platform card body (ids and links left out)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() if k not in skip for s in strings(v, skip)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v, skip)]
    return [node] if isinstance(node, str) else []
