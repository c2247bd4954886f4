"""Hostile input at every door, one table per door: each probe is refused with its status, NOTHING changes
(no inbox row, no outbox row, no record, no lead, no card, no job run), and the service keeps serving
(a genuine message afterwards is stored and answered).

Doors: WeCom callback (wechatpy-encrypted XML), Feishu events URL (AES + signature), DingTalk Stream frames
and its HTTP mode (signed timestamp), the emulator API, POST /api/leads and the admin API. The signing is
the platforms' own scheme from ``tests/<platform>/`` (``Callbacks``, the DingTalk fake); only the hostile
variation is made here. Per-platform suites already cover parts of this (tests/wecom/test_callback.py,
tests/feishu/test_callback.py, tests/dingtalk/test_http_mode.py, tests/foundation/test_security.py); this
one holds every door to the same list: forged and missing signatures, replays outside the window,
malformed, truncated and invalid UTF-8 bodies, XML bombs and external entities, 10 MB bodies.
Then, on every platform, the authentic but unauthorized: a stranger's message and a card pressed by the
wrong person change nothing. Every test here runs on SQLite and on PostgreSQL (``ACTIONFLOW__DATABASE__URL``
overrides the deployments' database, as it would in production).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.channels.dingtalk.crypto import sign as dingtalk_sign
from bot.channels.feishu.crypto import signature as feishu_signature
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import ActionRecord, Card, Customer, InboxEvent, JobRun, Lead, OutboxMessage
from tests.conftest import make_config, seeded
from tests.dingtalk.chat import DingtalkChat
from tests.dingtalk.chat import open_chat as open_dingtalk
from tests.dingtalk.fake_server import BOT_TOPIC, CARD_TOPIC
from tests.feishu.chat import FeishuChat
from tests.feishu.conftest import ENCRYPT_KEY
from tests.feishu.fake_server import encrypt as feishu_encrypt
from tests.harness import Chat, LocalChat, people_of, userid
from tests.scenarios.conftest import PLATFORMS
from tests.wecom.chat import WecomChat

TEXT = "今天拜访了瑞丰机械张总，下周三再去"
TEN_MB = 10 * 1024 * 1024
BAD_UTF8 = b"\xff\xfe\xfa not utf-8 \xc3\x28"
BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'.encode()
                   for i in range(1, 10))
        + b"]><xml><Encrypt>&lol9;</Encrypt></xml>")
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
DINGTALK_PATH = "/dingtalk/callback"
LEADS_TOKEN = "hostile-leads-token-0123456789"


@pytest.fixture(autouse=True)
def backend(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each door on both backends: the environment variable wins over every deployment's config file."""
    monkeypatch.setenv("ACTIONFLOW__DATABASE__URL", db_url)
    return db_url


@dataclass
class Probe:
    name: str
    status: int
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


async def counts(service: Service) -> dict[str, int]:
    """Everything a probe could have changed."""
    out = {}
    async with service.db.session() as s:
        for model in (InboxEvent, OutboxMessage, ActionRecord, Card, Lead, Customer, JobRun):
            out[model.__name__] = int((await s.execute(select(func.count()).select_from(model))).scalar_one())
    return out


def now_s(chat: Chat) -> int:
    return int(chat.clock.now().timestamp())


# ---- the probes of each door ---------------------------------------------------------------
def wecom_probes(chat: WecomChat) -> list[Probe]:
    cb, t, path = chat.callbacks, now_s(chat), "/wecom/callback"
    user = userid(chat.person("张伟"))
    params, body = cb.sign(cb.text(user, TEXT, 9_100_000_000_000_000_001, t), t, "hostile01")
    xml = {"Content-Type": "text/xml"}
    stale_p, stale_b = cb.sign(cb.text(user, TEXT, 9_100_000_000_000_000_002, t - 301), t - 301, "hostile02")
    return [
        Probe("forged signature", 403, path, body, xml, {**params, "msg_signature": "0" * 40}),
        Probe("missing signature", 403, path, body, xml, {k: v for k, v in params.items() if k != "msg_signature"}),
        Probe("replay outside the window", 403, path, stale_b, xml, stale_p),
        Probe("truncated body", 400, path, body[: len(body) // 2], xml, params),
        Probe("malformed XML", 400, path, b"<xml><Encrypt>abc</Enc", xml, params),
        Probe("invalid UTF-8", 400, path, BAD_UTF8, xml, params),
        Probe("billion laughs", 400, path, BOMB, xml, params),
        Probe("external entity", 400, path, XXE, xml, params),
        Probe("10 MB body", 413, path, b"<xml><Encrypt>" + b"A" * TEN_MB + b"</Encrypt></xml>", xml, params),
        Probe("inner XML bomb", 400, path, *_swap(cb.sign('<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>', t, "h3"))),
    ]


def _swap(signed: tuple[dict[str, str], bytes]) -> tuple[bytes, dict[str, str], dict[str, str]]:
    params, body = signed
    return body, {"Content-Type": "text/xml"}, params


def feishu_probes(chat: FeishuChat) -> list[Probe]:
    cb, t, path = chat.callbacks, now_s(chat), "/feishu/events"
    payload = cb.message(userid(chat.person("张伟")), "text", {"text": TEXT}, "om_hostile0001", t)
    headers, body = cb.post(payload, t, "hostile-n1")
    stale_h, stale_b = cb.post(payload, t - 301, "hostile-n2")

    def signed(raw: bytes, nonce: str) -> dict[str, str]:
        """Feishu's signature over any bytes, so the probe reaches the parser."""
        return {**headers, "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": feishu_signature(str(t), nonce, ENCRYPT_KEY, raw)}

    def sealed(plaintext: str) -> bytes:
        return json.dumps({"encrypt": feishu_encrypt(ENCRYPT_KEY, plaintext)}).encode()

    truncated = body[: len(body) // 2]
    garbage_inner = sealed('{"schema": "2.0", "header": ')
    header = {k: v for k, v in cb.header("im.message.receive_v1", t * 1000).items() if k != "event_id"}
    no_id = sealed(json.dumps({"schema": "2.0", "header": header, "event": {}}))
    big = b'{"encrypt": "' + b"A" * TEN_MB + b'"}'
    return [
        Probe("forged signature", 403, path, body, {**headers, "X-Lark-Signature": "0" * 64}),
        Probe("missing signature", 403, path, body, {k: v for k, v in headers.items() if k != "X-Lark-Signature"}),
        Probe("replay outside the window", 403, path, stale_b, stale_h),
        Probe("truncated body, its signature", 400, path, truncated, headers),  # read as JSON first
        Probe("truncated body, signed", 400, path, truncated, signed(truncated, "n3")),
        Probe("invalid UTF-8, signed", 400, path, BAD_UTF8, signed(BAD_UTF8, "n4")),
        Probe("ciphertext not base64, signed", 403, path, b'{"encrypt": "%%%"}', signed(b'{"encrypt": "%%%"}', "n5")),
        Probe("malformed inner JSON", 400, path, garbage_inner, signed(garbage_inner, "n6")),
        Probe("envelope without event id", 400, path, no_id, signed(no_id, "n7")),
        Probe("JSON nested 20k deep, signed", 400, path, b"[" * 20_000, signed(b"[" * 20_000, "n8")),
        Probe("10 MB body", 413, path, big, signed(big, "n9")),
    ]


def dingtalk_probes(chat: DingtalkChat) -> list[Probe]:
    fake, t_ms, path = chat.fake, str(now_s(chat) * 1000), DINGTALK_PATH
    body = json.dumps(fake.message(userid(chat.person("张伟")), "msgHostile01", text=TEXT), ensure_ascii=False).encode()
    good = {"timestamp": t_ms, "sign": dingtalk_sign(t_ms, fake.client_secret), "Content-Type": "application/json"}
    stale = str(now_s(chat) * 1000 - 3_601_000)
    other_robot = json.dumps({**json.loads(body), "robotCode": "dingSOMEONEELSE"}).encode()
    return [
        Probe("forged signature", 403, path, body, {**good, "sign": dingtalk_sign(t_ms, "not-the-secret")}),
        Probe("missing signature", 403, path, body, {k: v for k, v in good.items() if k != "sign"}),
        Probe("replay outside the window", 403, path, body, {**good, "timestamp": stale,
                                                              "sign": dingtalk_sign(stale, fake.client_secret)}),
        Probe("truncated body", 400, path, body[: len(body) // 2], good),
        Probe("invalid UTF-8", 400, path, BAD_UTF8, good),
        Probe("JSON without msgId", 400, path, b'{"msgtype": "text"}', good),
        Probe("JSON nested 20k deep", 400, path, b"[" * 20_000, good),
        Probe("another robot's message", 403, path, other_robot, good),
        Probe("10 MB body", 413, path, b"{" + b" " * TEN_MB + b"}", good),
    ]


def local_probes(chat: LocalChat) -> list[Probe]:
    rep = chat.person("张伟").id
    msg = json.dumps({"person_id": rep, "client_id": "hostile-local-1", "text": TEXT}).encode()
    js = {"Content-Type": "application/json"}
    lead = json.dumps({"lead_id": "hostile-1", "company": "杭州云帆科技有限公司", "phone": "13812345678"}).encode()
    auth = {**js, "Authorization": f"Bearer {LEADS_TOKEN}"}
    return [
        Probe("emulator: unknown person", 403, "/local/api/message",
              json.dumps({"person_id": 987654, "client_id": "hostile-local-2", "text": TEXT}).encode(), js),
        Probe("emulator: not JSON content type", 415, "/local/api/message", msg, {"Content-Type": "text/plain"}),
        Probe("emulator: truncated JSON", 400, "/local/api/message", msg[: len(msg) // 2], js),
        Probe("emulator: invalid UTF-8", 400, "/local/api/message", BAD_UTF8, js),
        Probe("emulator: cross-site", 403, "/local/api/message", msg, {**js, "Origin": "https://evil.example"}),
        Probe("emulator: press by an unknown person", 403, "/local/api/action", json.dumps(
            {"person_id": 987654, "client_id": "hostile-local-3", "card_id": "c1", "action": "confirm"}).encode(), js),
        Probe("emulator: 10 MB body", 413, "/local/api/message", b'{"text": "' + b"A" * TEN_MB + b'"}', js),
        Probe("leads: no token", 401, "/api/leads", lead, js),
        Probe("leads: forged token", 403, "/api/leads", lead, {**js, "Authorization": "Bearer forged-token"}),
        Probe("leads: truncated JSON", 400, "/api/leads", lead[: len(lead) // 2], auth),
        Probe("leads: invalid UTF-8", 400, "/api/leads", BAD_UTF8, auth),
        Probe("leads: bad fields", 400, "/api/leads", json.dumps({"lead_id": "x y", "company": ""}).encode(), auth),
        Probe("leads: 10 MB body", 413, "/api/leads", b'{"note": "' + b"A" * TEN_MB + b'"}', auth),
        Probe("admin: truncated JSON", 400, "/admin/api/jobs/morning_must_do/run", b'{"at": "2026-11-2', js),
        Probe("admin: invalid UTF-8", 400, "/admin/api/jobs/morning_must_do/run", BAD_UTF8, js),
        Probe("admin: not JSON content type", 415, "/admin/api/jobs/morning_must_do/run", b"{}",
              {"Content-Type": "text/plain"}),
        Probe("admin: through a proxy", 403, "/admin/api/jobs/morning_must_do/run", b"{}",
              {**js, "X-Forwarded-For": "198.51.100.7"}),
        Probe("admin: 10 MB body", 413, "/admin/api/jobs/morning_must_do/run", b'{"at": "' + b"1" * TEN_MB + b'"}', js),
    ]


# ---- the doors ---------------------------------------------------------------------------------
async def open_local_with_leads(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                                monkeypatch: pytest.MonkeyPatch) -> Chat:
    """The emulator deployment of ``make run`` with one lead source (the leads door needs a token)."""
    monkeypatch.setenv("HOSTILE_LEADS_TOKEN", LEADS_TOKEN)
    cfg = make_config(tmp_path, leads={"sources": {"website": {"token_env": "HOSTILE_LEADS_TOKEN"}}})
    await seeded(cfg, clock.now())
    service = Service(cfg, clock=clock)
    return LocalChat(service, await aiohttp_client(service.app()), clock, await people_of(service))


async def open_dingtalk_http(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any,
                             monkeypatch: pytest.MonkeyPatch) -> Chat:
    """DingTalk with both Stream and the robot's HTTP mode on."""
    return await open_dingtalk(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch,
                               http_callback_path=DINGTALK_PATH)


DOORS = {
    "wecom": (PLATFORMS["wecom"], wecom_probes),
    "feishu": (PLATFORMS["feishu"], feishu_probes),
    "dingtalk-http": (open_dingtalk_http, dingtalk_probes),
    "local-leads-admin": (open_local_with_leads, local_probes),
}


async def send(client: TestClient, p: Probe) -> int:
    r = await client.post(p.path, data=p.body, headers=p.headers, params=p.params)
    await r.read()
    return r.status


@pytest.mark.parametrize("door", list(DOORS))
async def test_hostile_requests_are_refused_and_change_nothing(door: str, tmp_path: Path, clock: FixedClock,
                                                               aiohttp_client: Any, aiohttp_server: Any,
                                                               monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    opener, probes = DOORS[door]
    chat = await opener(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert chat.service.cfg.database.url == backend
    before = await counts(chat.service)
    got = {p.name: await send(chat.client, p) for p in probes(chat)}  # type: ignore[arg-type]
    assert got == {p.name: p.status for p in probes(chat)}  # type: ignore[arg-type]
    await chat.settle()
    assert await counts(chat.service) == before
    # still serving: a genuine message is stored and answered
    await chat.say("张伟", TEXT)
    await chat.should_send("张伟", card="记录")


async def test_hostile_stream_frames_are_acked_and_change_nothing(tmp_path: Path, clock: FixedClock,
                                                                  aiohttp_client: Any, aiohttp_server: Any,
                                                                  monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """A Stream frame comes over our own authenticated connection, so it is the platform speaking: an
    unreadable one is ACKed (else the gateway pushes it forever) and dropped; one without a sender or with a
    press that is not ours is kept as a system event and never answered (tests/dingtalk/test_inbound.py).
    Nothing else changes and the connection stays up."""
    chat = await PLATFORMS["dingtalk"](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert isinstance(chat, DingtalkChat) and chat.service.cfg.database.url == backend
    fake = chat.fake
    before = await counts(chat.service)
    frames = [
        fake.frame(BOT_TOPIC, {}),  # no sender, no message
        {**fake.frame(BOT_TOPIC, {}), "data": "{not json"},
        {**fake.frame(BOT_TOPIC, {}), "data": json.dumps(["a", "list"])},
        fake.frame(CARD_TOPIC, {"outTrackId": "nope", "userId": userid(chat.person("张伟")), "content": "{]"}),
        fake.frame(CARD_TOPIC, {"outTrackId": "nope", "userId": userid(chat.person("张伟")),
                                "content": json.dumps({"cardPrivateData": {"params": {"key": "x" * 5000}}})}),
    ]
    for frame in frames:
        ack = await fake.push(frame)
        assert ack is not None, frame["data"][:40]
    await chat.settle()
    after = await counts(chat.service)
    assert {k: v for k, v in after.items() if k != "InboxEvent"} == {k: v for k, v in before.items() if k != "InboxEvent"}
    async with chat.service.db.session() as s:
        kept = (await s.execute(select(InboxEvent))).scalars().all()
    assert all(e.payload["extra"].get("system") for e in kept), [e.payload for e in kept]
    await chat.say("张伟", TEXT)
    await chat.should_send("张伟", card="记录")


# ---- authentic, but not allowed ---------------------------------------------------------------
async def stranger_says(chat: Chat, text: str) -> None:
    """A message from someone who is not in the org, signed as the platform signs it."""
    stranger = f"stranger{uuid.uuid4().hex[:6]}"
    t = now_s(chat)
    if isinstance(chat, WecomChat):
        await chat._post(chat.callbacks.text(stranger, text, msg_id=9_200_000_000_000_000_001, created=t))
    elif isinstance(chat, FeishuChat):
        await chat.post(chat.callbacks.message(f"ou_{stranger}", "text", {"text": text}, "om_stranger0001", t))
    elif isinstance(chat, DingtalkChat):
        ack = await chat.fake.push(chat.fake.frame(BOT_TOPIC, chat.fake.message(stranger, "msgStranger01", text=text)))
        assert ack is not None and ack["code"] == 200
    else:
        r = await chat.client.post("/local/api/message", json={"person_id": 987654, "client_id": stranger, "text": text})
        assert r.status == 403 and "组织" in await r.text() or r.status == 403


@pytest.mark.parametrize("platform", list(PLATFORMS))
async def test_strangers_and_wrong_pressers_change_nothing(platform: str, tmp_path: Path, clock: FixedClock,
                                                           aiohttp_client: Any, aiohttp_server: Any,
                                                           monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    chat = await PLATFORMS[platform](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert chat.service.cfg.database.url == backend
    seeded_records = (await counts(chat.service))["ActionRecord"]
    await stranger_says(chat, TEXT)
    await chat.settle()
    assert (await counts(chat.service))["ActionRecord"] == seeded_records  # a stranger's words are never a record

    await chat.say("张伟", TEXT)
    card = await chat.should_send("张伟", card="记录")
    assert card.offers("confirm")
    before = await counts(chat.service)
    async with chat.service.db.session() as s:
        confirmed_before = (await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.status == "confirmed"))).scalar_one()
    await chat.press("李娜", card, "confirm")  # another rep presses 张伟's card
    await chat.settle()
    async with chat.service.db.session() as s:
        confirmed = (await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.status == "confirmed"))).scalar_one()
    assert confirmed == confirmed_before
    after = await counts(chat.service)
    assert after["ActionRecord"] == before["ActionRecord"] and after["Card"] == before["Card"]
    await chat.press("张伟", card, "confirm")  # the owner still can
    await chat.settle()
    async with chat.service.db.session() as s:
        confirmed = (await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.status == "confirmed"))).scalar_one()
    assert confirmed == confirmed_before + 1
