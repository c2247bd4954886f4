"""The Feishu callback URL: challenges, refusals that store nothing, dedupe, media, card clicks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import ActionRecord, InboxEvent, Person
from tests.conftest import eventually, seeded
from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN, feishu_config, feishu_env
from tests.feishu.fake_server import Callbacks, FakeFeishu
from tests.feishu.fake_server import encrypt as feishu_encrypt
from tests.harness import link_everyone

URL = "/feishu/events"


async def _rows(service: Service) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


async def _post(client: TestClient, cb: Callbacks, payload: dict[str, Any], ts: int) -> Any:
    headers, body = cb.post(payload, ts)
    return await client.post(URL, data=body, headers=headers)


async def _rep(service: Service) -> str:
    async with service.db.session() as s:
        rep = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
    return f"u{rep.id}"


async def test_encrypted_url_verification_echoes_the_challenge(fclient: TestClient, fservice: Service) -> None:
    body = json.dumps({"encrypt": feishu_encrypt(ENCRYPT_KEY, json.dumps(
        {"challenge": "ch-123", "token": VERIFICATION_TOKEN, "type": "url_verification"}))})
    r = await fclient.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert r.status == 200 and await r.json() == {"challenge": "ch-123"}
    assert await _rows(fservice) == 0


async def test_url_verification_with_a_wrong_token_is_refused(fclient: TestClient) -> None:
    body = json.dumps({"encrypt": feishu_encrypt(ENCRYPT_KEY, json.dumps(
        {"challenge": "ch-123", "token": "wrong", "type": "url_verification"}))})
    r = await fclient.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert r.status == 403


async def test_plain_mode_without_encrypt_key(tmp_path: Path, fake: FakeFeishu, fake_server: TestServer,
                                              clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
                                              aiohttp_client: Any) -> None:
    """No Encrypt Key: the challenge is plain, events are checked by the Verification Token alone."""
    feishu_env(fake, monkeypatch, encrypt_key=None)
    cfg = feishu_config(tmp_path, fake_server)
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "feishu")
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    r = await client.post(URL, json={"challenge": "c1", "token": VERIFICATION_TOKEN, "type": "url_verification"})
    assert await r.json() == {"challenge": "c1"}
    cb = Callbacks(fake.app_id, "wrong-token", None)
    r = await _post(client, cb, cb.message(await _rep(service), "text", {"text": "你好"}, "om_x1", 1), 1)
    assert r.status == 403 and await _rows(service) == 0
    cb = Callbacks(fake.app_id, VERIFICATION_TOKEN, None)
    r = await _post(client, cb, cb.message(await _rep(service), "text", {"text": "你好"}, "om_x1", 1), 1)
    assert r.status == 200 and await _rows(service) == 1


@pytest.mark.parametrize("spoil", ["signature", "stale", "headers", "plaintext", "app", "token"])
async def test_forged_or_replayed_callbacks_are_refused_and_store_nothing(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, clock: FixedClock, spoil: str) -> None:
    now = int(clock.now().timestamp())
    cb = Callbacks("cli_other" if spoil == "app" else fake.app_id,
                   "wrong" if spoil == "token" else VERIFICATION_TOKEN, ENCRYPT_KEY)
    payload = cb.message(await _rep(fservice), "text", {"text": "今天拜访了瑞丰机械"}, "om_forged", now)
    headers, body = cb.post(payload, now - 3600 if spoil == "stale" else now)
    if spoil == "signature":
        headers["X-Lark-Signature"] = "0" * 64
    elif spoil == "headers":
        headers = {"Content-Type": "application/json"}
    elif spoil == "plaintext":
        headers, body = {"Content-Type": "application/json"}, json.dumps(payload).encode()
    r = await fclient.post(URL, data=body, headers=headers)
    assert r.status == 403
    assert await _rows(fservice) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1,2,3]", b'{"encrypt": 5}', b"[" * 50_000])
async def test_malformed_bodies_get_a_clear_4xx(fclient: TestClient, fservice: Service, body: bytes) -> None:
    r = await fclient.post(URL, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status < 500
    assert await _rows(fservice) == 0


async def test_oversized_body_is_refused(fclient: TestClient, fservice: Service) -> None:
    r = await fclient.post(URL, data=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"})
    assert r.status == 413 and await _rows(fservice) == 0


async def test_a_message_redelivered_under_a_new_event_id_makes_one_record(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, callbacks: Callbacks, clock: FixedClock) -> None:
    """Feishu's advice: dedupe by message_id (a retry may carry a new event_id)."""
    now = int(clock.now().timestamp())
    rep = await _rep(fservice)
    for _ in range(3):  # each call makes a new event_id for the same message
        payload = callbacks.message(rep, "text", {"text": "今天拜访了瑞丰机械张总，下周三再去"}, "om_same", now)
        assert (await _post(fclient, callbacks, payload, now)).status == 200
    await fservice.inbox.drain()
    assert await _rows(fservice) == 1
    async with fservice.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.text == "今天拜访了瑞丰机械张总，下周三再去"))).scalar_one() == 1
    sent = await eventually(lambda: _cards(fake, rep))
    assert len(sent) == 1


async def _cards(fake: FakeFeishu, open_id: str) -> list[str]:
    return [m.message_id for m in fake.messages.values() if m.receive_id == open_id and m.msg_type == "interactive"]


async def test_group_mention_is_stripped_and_a_photo_is_downloaded(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, callbacks: Callbacks, clock: FixedClock,
        tmp_path: Path) -> None:
    now = int(clock.now().timestamp())
    rep = await _rep(fservice)
    mention = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "销售助手"}]
    await _post(fclient, callbacks, callbacks.message(rep, "text", {"text": "@_user_1 今天拜访了瑞丰机械张总"}, "om_g1",
                                                      now, chat_type="group", mentions=mention), now)
    fake.add_resource("om_p1", "img_v2_abc", b"\xff\xd8\xff\xe0fakejpeg", "image/jpeg")
    await _post(fclient, callbacks, callbacks.message(rep, "image", {"image_key": "img_v2_abc"}, "om_p1", now), now)
    await fservice.inbox.drain()
    async with fservice.db.session() as s:
        events = {e.event_id: e.payload for e in (await s.execute(select(InboxEvent))).scalars()}
    assert events["msg:om_g1"]["text"] == "今天拜访了瑞丰机械张总"
    stored = list((tmp_path / "feishu-media").glob("*.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes().startswith(b"\xff\xd8")
    resource_calls = fake.calls("resource")
    assert resource_calls and resource_calls[0].query == {"type": "image"}


async def test_a_card_click_is_answered_with_a_toast_at_once(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, callbacks: Callbacks, clock: FixedClock) -> None:
    now = int(clock.now().timestamp())
    rep = await _rep(fservice)
    await _post(fclient, callbacks, callbacks.message(rep, "text", {"text": "今天拜访了瑞丰机械张总，下周三再去"},
                                                      "om_c1", now), now)
    [mid] = await eventually(lambda: _cards(fake, rep))
    card = fake.messages[mid].content
    button = next(el for el in _buttons(card) if el["behaviors"][0]["value"]["a"] == "confirm")
    payload = callbacks.press(rep, mid, button["behaviors"][0]["value"], now)
    r = await _post(fclient, callbacks, payload, now)  # answered from the inbox insert, before any handling
    answer = await r.json()
    assert r.status == 200 and answer["toast"]["type"] == "info"
    await eventually(lambda: _patched(fake, mid))
    assert "已记录" in json.dumps(fake.messages[mid].content, ensure_ascii=False)


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for el in card["body"]["elements"]:
        for col in el.get("columns", []):
            out += [b for b in col["elements"] if b["tag"] == "button"]
    return out


async def _patched(fake: FakeFeishu, mid: str) -> bool:
    return ("patch", mid) in fake.shown


async def test_the_same_event_after_a_restart_creates_nothing_new(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, callbacks: Callbacks, clock: FixedClock,
        aiohttp_client: Any) -> None:
    """Feishu retries for hours; the dedupe lives in the database, not in the process."""
    now = int(clock.now().timestamp())
    rep = await _rep(fservice)
    headers, body = callbacks.post(callbacks.message(rep, "text", {"text": "今天拜访了恒远化工王总"}, "om_r1", now), now)
    assert (await fclient.post(URL, data=body, headers=headers)).status == 200
    await fservice.inbox.drain()
    await eventually(lambda: _cards(fake, rep))
    await fclient.close()  # the process goes away…
    again = await aiohttp_client(Service(fservice.cfg, clock=clock).app())  # …and a new one gets the retry
    assert (await again.post(URL, data=body, headers=headers)).status == 200
    async with fservice.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.text == "今天拜访了恒远化工王总"))).scalar_one() == 1
    assert await _rows(fservice) == 1 and len(await _cards(fake, rep)) == 1


async def test_the_card_answers_the_reps_message_as_a_reply_but_never_into_a_group(
        fclient: TestClient, fservice: Service, fake: FakeFeishu, callbacks: Callbacks, clock: FixedClock) -> None:
    now = int(clock.now().timestamp())
    rep = await _rep(fservice)
    fake.received.update({"om_p2p": rep, "om_grp": "oc_team"})
    await _post(fclient, callbacks, callbacks.message(rep, "text", {"text": "今天拜访了瑞丰机械张总"}, "om_p2p", now), now)
    mention = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "销售助手"}]
    await _post(fclient, callbacks, callbacks.message(rep, "text", {"text": "@_user_1 今天拜访了恒远化工王总"}, "om_grp",
                                                      now, chat_type="group", mentions=mention), now)
    await fservice.inbox.drain()
    cards = await eventually(lambda: _two(fake, rep))
    by_text = {("瑞丰" in json.dumps(m.content, ensure_ascii=False)): m for m in cards}
    assert by_text[True].reply_to == "om_p2p"  # quoted above the card in the one-to-one chat
    assert by_text[False].reply_to is None and by_text[False].receive_id == rep  # the group's card goes privately


async def _two(fake: FakeFeishu, open_id: str) -> list[Any]:
    got = [m for m in fake.messages.values() if m.receive_id == open_id and m.msg_type == "interactive"]
    return got if len(got) == 2 else []
