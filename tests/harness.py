"""One chat harness for every platform: ``say``, ``press``, ``should_send`` read the same on all of them.

A scenario is written once against :class:`Chat` and runs on each platform through the ``chat`` fixture
(tests/scenarios/conftest.py): the local emulator's HTTP API, and each platform's callbacks signed and
encrypted as the platform does, with replies read back from that platform's fake API server. What a
person "sees" is what the platform was asked to show them — the emulator's stored messages, or the
bodies the fake WeCom server accepted — never our own database rows. A new platform adds one subclass
and one entry in :data:`PLATFORMS`; every scenario then covers it.
"""

from __future__ import annotations

import itertools
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.service import Service
from cards.model import Card
from cards.render_wecom import PICK_QUESTION, button_key, parse_button_key
from handlers.clock import FixedClock
from storage.models import LocalChatMessage, Person
from tests.conftest import eventually
from tests.wecom.fake_server import Callbacks, FakeWecom

PLATFORMS = ("local", "wecom")


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

    async def say(self, who: str, text: str) -> None:
        r = await self.client.post("/local/api/message", json={
            "person_id": self.person(who).id, "client_id": uuid.uuid4().hex, "text": text})
        assert r.status == 200, await r.text()

    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        r = await self.client.post("/local/api/action", json={
            "person_id": self.person(who).id, "client_id": uuid.uuid4().hex, "card_id": card.card_id,
            "action": action, "value": value})
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


def userid(person: Person) -> str:
    return f"u{person.id}"


class WecomChat(Chat):
    """WeCom: callbacks signed and encrypted with wechatpy's scheme; replies are what the fake API accepted."""

    platform = "wecom"

    def __init__(self, service: Service, client: TestClient, clock: FixedClock, people: dict[str, Person],
                 fake: FakeWecom, callbacks: Callbacks) -> None:
        super().__init__(service, client, clock, people)
        self.fake = fake
        self.callbacks = callbacks
        self._ids = itertools.count(7_300_000_000_000_000_000)
        self._pressed: dict[str, str] = {}  # ResponseCode → the card (task_id) it was pressed on

    async def _post(self, inner: str) -> None:
        params, body = self.callbacks.sign(inner, int(self.clock.now().timestamp()), uuid.uuid4().hex[:10])
        r = await self.client.post("/wecom/callback", params=params, data=body, headers={"Content-Type": "text/xml"})
        assert r.status == 200, await r.text()

    async def say(self, who: str, text: str) -> None:
        created = int(self.clock.now().timestamp())
        await self._post(self.callbacks.text(userid(self.person(who)), text, msg_id=next(self._ids), created=created))

    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        tc = card.raw
        wanted = button_key(card.card_id, action, value)
        keys = [b["key"] for b in tc.get("button_list", [])]
        selected: dict[str, list[str]] | None = None
        if wanted in keys:
            key = wanted
        else:  # an alternative inside the dropdown: pick it, then press "选定"
            option = f"{action}|{value}" if value else action
            options = [o["id"] for o in tc.get("button_selection", {}).get("option_list", [])]
            assert option in options, f"{action!r} is not on this WeCom card: {keys} {options}"
            key, selected = button_key(card.card_id, PICK_QUESTION), {PICK_QUESTION: [option]}
        code = self.fake.press_code()
        self._pressed[code] = tc["task_id"]
        inner = self.callbacks.card_event(userid(self.person(who)), key, tc["task_id"], code,
                                          created=int(self.clock.now().timestamp()), selected=selected)
        await self._post(inner)

    async def seen(self, who: str) -> list[Seen]:
        uid = userid(self.person(who))
        shown: dict[str, Seen] = {}
        order: list[str] = []
        accepted = {id(b) for b in (*self.fake.delivered, *self.fake.updates)}
        for n, req in enumerate(self.fake.requests):
            body = req.body
            if id(body) not in accepted:
                continue
            if req.path == "message/send" and body.get("touser") == uid:
                m = _wecom_seen(who, body)
                ref = m.ref or f"msg-{n}"
            elif req.path == "message/update_template_card" and uid in body.get("userids", []):
                m = _wecom_seen(who, {"msgtype": "template_card", "template_card": body["template_card"]})
                ref = self._pressed.get(body.get("response_code", ""), m.ref)  # a notice has no task_id of its own
                m.ref = ref
            else:
                continue
            if ref not in shown:
                order.append(ref)
            shown[ref] = m
        return [shown[r] for r in order]


def _strings(node: Any, skip: frozenset[str] = frozenset({"key", "task_id", "url", "id", "question_key"})) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() if k not in skip for s in _strings(v, skip)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v, skip)]
    return [node] if isinstance(node, str) else []


def _wecom_seen(who: str, body: dict[str, Any]) -> Seen:
    kind = body.get("msgtype")
    if kind != "template_card":
        return Seen(to=who, text=str(body.get(kind or "", {}).get("content", "")), raw=body)
    tc = body["template_card"]
    offered, card_id = [], ""
    for b in tc.get("button_list", []):
        parsed = parse_button_key(b.get("key", ""))
        if parsed is None:
            continue
        card_id, action, value = parsed
        if action != PICK_QUESTION:
            offered.append((action, value))
    for o in tc.get("button_selection", {}).get("option_list", []):
        action, _, value = o["id"].partition("|")
        offered.append((action, value))
    facts = {h.get("keyname", ""): h.get("value", "") for h in tc.get("horizontal_content_list", [])}
    return Seen(to=who, text="\n".join(_strings(tc)), title=tc.get("main_title", {}).get("title", ""),
                ref=tc.get("task_id") or f"notice-{id(body)}", card_id=card_id, offered=offered, raw=tc, facts=facts)
