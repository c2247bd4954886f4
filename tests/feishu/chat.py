"""The Feishu side of the chat harness: events and card clicks encrypted and signed as Feishu sends them,
replies read from what the fake Open Platform accepted (sends, then PATCHes of the same message)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.service import Service
from cards.render_feishu import KEY_SEP, PICK
from handlers.clock import FixedClock
from storage.models import Person
from tests.conftest import make_config, seeded
from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN, feishu_env
from tests.feishu.fake_server import Callbacks, FakeFeishu
from tests.harness import Chat, Seen, link_everyone, people_of, strings, userid


async def open_chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                    monkeypatch: pytest.MonkeyPatch) -> Chat:
    """A Feishu-only deployment (the emulator off): every demo person has an open_id."""
    fake = FakeFeishu(clock=lambda: clock.now().timestamp())
    server = await aiohttp_server(fake.app())
    feishu_env(fake, monkeypatch)
    cfg = make_config(tmp_path, channels={"local": {"enabled": False}, "feishu": {
        "enabled": True, "api_base": str(server.make_url("")).rstrip("/"), "media_dir": str(tmp_path / "fs-media"),
        "request_timeout_s": 5.0}})
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "feishu")
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return FeishuChat(service, client, clock, await people_of(service), fake,
                      Callbacks(fake.app_id, VERIFICATION_TOKEN, ENCRYPT_KEY))


class FeishuChat(Chat):
    platform = "feishu"

    def __init__(self, service: Service, client: TestClient, clock: FixedClock, people: dict[str, Person],
                 fake: FakeFeishu, callbacks: Callbacks) -> None:
        super().__init__(service, client, clock, people)
        self.fake = fake
        self.callbacks = callbacks
        self._ids = itertools.count(1)

    async def picture(self, card: Seen) -> bytes | None:
        keys = [el["img_key"] for el in card.raw.get("body", {}).get("elements", []) if el.get("tag") == "img"]
        return self.fake.uploads[keys[0]][1] if keys else None

    async def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        headers, body = self.callbacks.post(payload, int(self.clock.now().timestamp()), uuid.uuid4().hex[:12])
        r = await self.client.post("/feishu/events", data=body, headers=headers)
        assert r.status == 200, await r.text()
        answer: dict[str, Any] = await r.json()
        return answer

    async def say(self, who: str, text: str) -> None:
        created = int(self.clock.now().timestamp())
        message_id = f"om_in{next(self._ids):08d}"
        self.fake.received[message_id] = userid(self.person(who))
        await self.post(self.callbacks.message(userid(self.person(who)), "text", {"text": text}, message_id, created))

    async def send_voice(self, who: str, audio: Path) -> None:
        """An audio message: Feishu holds the Opus file as a resource of the message."""
        message_id, key = f"om_in{next(self._ids):08d}", f"file_v3_voice{next(self._ids)}"
        self.fake.add_resource(message_id, key, audio.read_bytes(), "audio/opus")
        await self.post(self.callbacks.message(userid(self.person(who)), "audio", {"file_key": key, "duration": 4000},
                                               message_id, int(self.clock.now().timestamp())))

    async def send_photo(self, who: str, image: Path) -> None:
        message_id, key = f"om_in{next(self._ids):08d}", f"img_v3_photo{next(self._ids)}"
        self.fake.add_resource(message_id, key, image.read_bytes(), "image/jpeg")
        await self.post(self.callbacks.message(userid(self.person(who)), "image", {"image_key": key}, message_id,
                                               int(self.clock.now().timestamp())))

    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        """Click the control of the card that sends (action, value): a button, a dropdown option, a picker."""
        found = _control(card.raw, action, value)
        assert found is not None, f"{action!r} is not on this Feishu card"
        tag, cb_value, option, input_value = found
        payload = self.callbacks.press(userid(self.person(who)), card.ref, cb_value,
                                       int(self.clock.now().timestamp()), tag=tag, option=option,
                                       input_value=input_value)
        answer = await self.post(payload)
        assert "toast" in answer  # Feishu shows the person that the click arrived

    async def seen(self, who: str) -> list[Seen]:
        uid = userid(self.person(who))
        order: list[str] = []
        for _, mid in self.fake.shown:
            if self.fake.messages[mid].receive_id == uid and mid not in order:
                order.append(mid)
        return [_seen(who, mid, self.fake.messages[mid].msg_type, self.fake.messages[mid].content) for mid in order]


def _elements(card: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stack = list(reversed(card.get("body", {}).get("elements", [])))
    while stack:
        el = stack.pop()
        out.append(el)
        for col in reversed(el.get("columns", [])):
            stack.extend(reversed(col.get("elements", [])))
    return out


def _callback(el: dict[str, Any]) -> dict[str, Any]:
    for b in el.get("behaviors", []):
        if b.get("type") == "callback":
            return dict(b.get("value", {}))
    return {}


def _offered(card: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for el in _elements(card):
        cb = _callback(el)
        if el["tag"] == "button" and cb.get("a"):
            out.append((cb["a"], ""))
        elif el["tag"] == "select_static" and cb.get("k") == PICK:
            for o in el.get("options", []):
                action, _, value = o["value"].partition(KEY_SEP)
                out.append((action, value))
        elif el["tag"] in ("date_picker", "input") and cb.get("a"):
            out.append((cb["a"], el.get("initial_date", "")))
    return out


def _control(card: dict[str, Any], action: str, value: str) -> tuple[str, dict[str, Any], str | None, str | None] | None:
    """(tag, callback value, option, input_value) of the click that sends (action, value)."""
    for el in _elements(card):
        cb = _callback(el)
        if el["tag"] == "button" and cb.get("a") == action and not value:
            return "button", cb, None, None
        if el["tag"] == "select_static" and cb.get("k") == PICK:
            wanted = f"{action}{KEY_SEP}{value}" if value else action
            if any(o["value"] == wanted for o in el.get("options", [])):
                return "select_static", cb, wanted, None
        if el["tag"] == "date_picker" and cb.get("a") == action:
            return "date_picker", cb, f"{value} +0800", None
        if el["tag"] == "input" and cb.get("a") == action:
            return "input", cb, None, value
    return None


def _seen(who: str, mid: str, msg_type: str, content: dict[str, Any]) -> Seen:
    if msg_type != "interactive":
        return Seen(to=who, text=str(content.get("text", "")), raw=content)
    facts: dict[str, str] = {}
    for el in _elements(content):
        if el.get("element_id") == "facts":
            for line in el["text"]["content"].splitlines():
                label, _, value = line.partition("：")
                facts[label] = value
    card_id = next((cb["c"] for el in _elements(content) if (cb := _callback(el)).get("c")), "")
    title = content.get("header", {}).get("title", {}).get("content", "")
    return Seen(to=who, text="\n".join(strings(content, frozenset({"value", "url", "tag", "element_id", "template"}))),
                title=title, ref=mid, card_id=card_id, offered=_offered(content), raw=content, facts=facts)
