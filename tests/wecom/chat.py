"""The WeCom side of the chat harness: callbacks signed and encrypted as WeCom does, replies read from
the fake WeCom API server."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from bot.service import Service
from cards.render_wecom import PICK_QUESTION, button_key, parse_button_key
from handlers.clock import FixedClock
from storage.models import Person
from tests.conftest import make_config, seeded
from tests.harness import Chat, Seen, link_everyone, people_of, strings, userid
from tests.wecom.conftest import AES_KEY, TOKEN
from tests.wecom.fake_server import Callbacks, FakeWecom


async def open_chat(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                    monkeypatch: pytest.MonkeyPatch) -> Chat:
    """A WeCom-only deployment (the emulator off): every demo person has a WeCom userid."""
    fake = FakeWecom()
    server = await aiohttp_server(fake.app())
    for k, v in {"WECOM_CORP_ID": fake.corp_id, "WECOM_AGENT_ID": str(fake.agent_id), "WECOM_SECRET": fake.secret,
                 "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY}.items():
        monkeypatch.setenv(k, v)
    cfg = make_config(tmp_path, channels={"local": {"enabled": False}, "wecom": {
        "enabled": True, "api_base": str(server.make_url("")).rstrip("/"), "media_dir": str(tmp_path / "wecom-media"),
        "request_timeout_s": 5.0}})
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "wecom")
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    return WecomChat(service, client, clock, await people_of(service), fake,
                     Callbacks(TOKEN, AES_KEY, fake.corp_id, fake.agent_id))


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

    async def picture(self, card: Seen) -> bytes | None:
        """WeCom fetches a card's picture from our public link: so do we, through the service."""
        url = (card.raw.get("card_image") or {}).get("url") if isinstance(card.raw, dict) else None
        if not url:
            return None
        got = await self.client.get(urlsplit(url).path)
        assert got.status == 200 and got.content_type == "image/png", got.status
        return await got.read()

    async def _post(self, inner: str) -> None:
        params, body = self.callbacks.sign(inner, int(self.clock.now().timestamp()), uuid.uuid4().hex[:10])
        r = await self.client.post("/wecom/callback", params=params, data=body, headers={"Content-Type": "text/xml"})
        assert r.status == 200, await r.text()

    async def say(self, who: str, text: str) -> None:
        created = int(self.clock.now().timestamp())
        await self._post(self.callbacks.text(userid(self.person(who)), text, msg_id=next(self._ids), created=created))

    async def send_voice(self, who: str, audio: Path) -> None:
        """A voice message: WeCom holds the AMR file under a media id the callback names."""
        media_id = f"voice-{next(self._ids)}"
        self.fake.add_media(media_id, audio.read_bytes(), "audio/amr", audio.name)
        created = int(self.clock.now().timestamp())
        await self._post(self.callbacks.media(userid(self.person(who)), "voice", media_id, msg_id=next(self._ids),
                                              created=created, extra="<Format><![CDATA[amr]]></Format>"))

    async def send_photo(self, who: str, image: Path) -> None:
        media_id = f"photo-{next(self._ids)}"
        self.fake.add_media(media_id, image.read_bytes(), "image/jpeg", image.name)
        await self._post(self.callbacks.media(userid(self.person(who)), "image", media_id, msg_id=next(self._ids),
                                              created=int(self.clock.now().timestamp())))

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
    return Seen(to=who, text="\n".join(strings(tc)), title=tc.get("main_title", {}).get("title", ""),
                ref=tc.get("task_id") or f"notice-{id(body)}", card_id=card_id, offered=offered, raw=tc, facts=facts)
