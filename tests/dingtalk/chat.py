"""The DingTalk side of the chat harness: messages and card presses pushed as Stream frames by the fake
gateway (each awaited until our ACK), replies read from what the fake OpenAPI and sessionWebhooks accepted."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.service import Service
from cards.render_dingtalk import button_key, parse_button_key
from handlers.clock import FixedClock
from storage.models import Person
from tests.conftest import make_config, seeded
from tests.dingtalk.fake_server import BOT_TOPIC, CARD_TOPIC, FakeDingtalk
from tests.harness import Chat, Seen, link_everyone, people_of, userid


async def start_fake(clock: FixedClock, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeDingtalk, str]:
    """The fake on 127.0.0.1, its clock the test's, and the app's credentials in the environment."""
    fake = FakeDingtalk(clock=lambda: clock.now().timestamp())
    server = await aiohttp_server(fake.app())
    fake.base_url = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("DINGTALK_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("DINGTALK_CLIENT_SECRET", fake.client_secret)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake, fake.base_url


def dingtalk_section(fake: FakeDingtalk, base: str, tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {"enabled": True, "api_base": base, "oapi_base": base, "card_template_id": fake.template_id,
            "media_dir": str(tmp_path / "dingtalk-media"), "request_timeout_s": 5.0, **more}


async def open_chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                    monkeypatch: pytest.MonkeyPatch, **section: Any) -> Chat:
    """A DingTalk-only deployment (the emulator off): every demo person has a DingTalk userId.
    ``section``: more ``channels.dingtalk`` keys (``http_callback_path`` turns the robot's HTTP mode on too)."""
    fake, base = await start_fake(clock, aiohttp_server, monkeypatch)
    cfg = make_config(tmp_path, channels={"local": {"enabled": False},
                                          "dingtalk": dingtalk_section(fake, base, tmp_path, **section)})
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "dingtalk")
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    await fake.wait_connected()
    return DingtalkChat(service, client, clock, await people_of(service), fake)


class DingtalkChat(Chat):
    """DingTalk: frames over the fake gateway's WebSocket; replies are what the fake accepted."""

    platform = "dingtalk"

    def __init__(self, service: Service, client: TestClient, clock: FixedClock, people: dict[str, Person],
                 fake: FakeDingtalk) -> None:
        super().__init__(service, client, clock, people)
        self.fake = fake
        self._ids = itertools.count(1)

    async def picture(self, card: Seen) -> bytes | None:
        media = card.raw.get("image") if isinstance(card.raw, dict) and card.raw.get("has_image") == "true" else None
        return self.fake.uploads[media][2] if media else None

    async def say(self, who: str, text: str) -> None:
        data = self.fake.message(userid(self.person(who)), f"msgHarness{next(self._ids):08d}", text=text, nick=who)
        ack = await self.fake.push(self.fake.frame(BOT_TOPIC, data))
        assert ack is not None and ack["code"] == 200, ack

    async def send_voice(self, who: str, audio: Path) -> None:
        """A voice message whose ``recognition`` came back empty (it happens): the file goes through our ASR."""
        code = f"dlc-voice-{next(self._ids)}"
        self.fake.files[code] = (audio.read_bytes(), "application/octet-stream")
        data = self.fake.message(userid(self.person(who)), f"msgHarness{next(self._ids):08d}", msgtype="audio",
                                 content={"downloadCode": code, "recognition": ""}, nick=who)
        ack = await self.fake.push(self.fake.frame(BOT_TOPIC, data))
        assert ack is not None and ack["code"] == 200, ack

    async def send_photo(self, who: str, image: Path) -> None:
        """A picture message: DingTalk holds the file under a downloadCode the message names."""
        code = f"dlc-photo-{next(self._ids)}"
        self.fake.files[code] = (image.read_bytes(), "image/jpeg")
        data = self.fake.message(userid(self.person(who)), f"msgHarness{next(self._ids):08d}", msgtype="picture",
                                 content={"pictureDownloadCode": f"p-{code}", "downloadCode": code}, nick=who)
        ack = await self.fake.push(self.fake.frame(BOT_TOPIC, data))
        assert ack is not None and ack["code"] == 200, ack

    async def press(self, who: str, card: Seen, action: str, value: str = "") -> None:
        key, typed = button_key(card.card_id, action, value), ""
        keys = [b["key"] for b in json.loads(card.raw["buttons"])]
        if key not in keys:  # a date picker or input box: its key, plus what was entered
            key, typed = button_key(card.card_id, action), value
            inputs = [i["key"] for i in json.loads(card.raw.get("inputs") or "[]")]
            assert key in inputs, f"{action!r} is not on this DingTalk card: {keys} {inputs}"
        data = self.fake.press(userid(self.person(who)), card.ref, key, value=typed)
        ack = await self.fake.push(self.fake.frame(CARD_TOPIC, data))
        assert ack is not None and ack["code"] == 200, ack

    async def seen(self, who: str) -> list[Seen]:
        uid = userid(self.person(who))
        out: list[Seen] = []
        for s in self.fake.shown:
            if s.to != uid:
                continue
            if s.kind == "card":
                out.append(card_seen(who, self.fake.cards[s.out_track_id]["params"], s.out_track_id))
            else:
                out.append(Seen(to=who, text=s.content, raw=s))
        return out


def card_seen(who: str, params: dict[str, str], ref: str) -> Seen:
    """A card as the person sees it now (its latest data)."""
    facts = {f["label"]: f["value"] for f in json.loads(params.get("facts") or "[]")}
    buttons = json.loads(params.get("buttons") or "[]")
    offered, card_id = [], ""
    for b in buttons:
        parsed = parse_button_key(b.get("key", ""))
        if parsed is not None:
            card_id, action, value = parsed
            offered.append((action, value))
    for i in json.loads(params.get("inputs") or "[]"):
        parsed = parse_button_key(i.get("key", ""))
        if parsed is not None:
            card_id, action, _ = parsed
            offered.append((action, i.get("value", "")))
    text = "\n".join(p for p in [params.get("title", ""), params.get("subtitle", ""), params.get("body", ""),
                                 params.get("note", ""), *(f"{k}：{v}" for k, v in facts.items()),
                                 *(b.get("text", "") for b in buttons)] if p)
    return Seen(to=who, text=text, title=params.get("title", ""), ref=ref, card_id=card_id, offered=offered,
                facts=facts, raw=params)
