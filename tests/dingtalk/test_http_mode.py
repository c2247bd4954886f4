"""Robot HTTP mode: the signature cross-checked with openssl, refused callbacks store nothing, a signed
message is stored once and answered like a Stream one."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.channels.base import CallbackRefused
from bot.channels.dingtalk.crypto import check_signature, sign
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import InboxEvent
from tests.conftest import eventually, make_config, seeded
from tests.dingtalk.chat import dingtalk_section
from tests.dingtalk.fake_server import FakeDingtalk
from tests.harness import link_everyone

PATH = "/dingtalk/callback"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is the independent implementation")
@pytest.mark.parametrize("secret", ["fake-dingtalk-secret", "SEC+/=with-odd-chars", "密钥"])
def test_sign_matches_openssl(secret: str) -> None:
    ts = "1732413600123"
    out = subprocess.run(["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"], input=f"{ts}\n{secret}".encode(),
                         capture_output=True, check=True).stdout
    assert sign(ts, secret) == base64.b64encode(out).decode()


def test_check_signature_refuses_stale_or_forged() -> None:
    ts = 1_732_413_600_000
    good = sign(str(ts), "s")
    check_signature(str(ts), good, "s", now_ms=ts + 3_599_000, window_s=3600)
    for args, reason in [((str(ts), good, "s"), "replay"), ((str(ts), sign(str(ts), "other"), "s"), "signature"),
                         (("", good, "s"), "replay"), ((str(ts), "", "s"), "signature")]:
        with pytest.raises(CallbackRefused) as got:
            check_signature(*args, now_ms=ts + (3_601_000 if reason == "replay" and args[0] else 0), window_s=3600)
        assert got.value.reason == reason


@pytest.fixture
async def http_service(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                       fake_and_base: tuple[FakeDingtalk, str]) -> tuple[TestClient, Service, FakeDingtalk]:
    fake, base = fake_and_base
    cfg = make_config(tmp_path, channels={"local": {"enabled": False}, "dingtalk": dingtalk_section(
        fake, base, tmp_path, stream=False, http_callback_path=PATH)})
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "dingtalk")
    service = Service(cfg, clock=clock)
    return await aiohttp_client(service.app()), service, fake


async def _count(service: Service) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


async def test_a_signed_message_is_stored_once_and_answered(http_service: tuple[TestClient, Service, FakeDingtalk],
                                                            clock: FixedClock) -> None:
    client, service, fake = http_service
    rep = "u1"
    body = json.dumps(fake.message(rep, "msgH1", text="帮助"), ensure_ascii=False).encode()
    ts = str(int(clock.now().timestamp() * 1000))
    headers = {"timestamp": ts, "sign": sign(ts, fake.client_secret), "Content-Type": "application/json"}
    for _ in range(2):  # a retry of the same msgId
        r = await client.post(PATH, data=body, headers=headers)
        assert r.status == 200
    await service.inbox.drain()
    assert await _count(service) == 1
    assert not fake.opens  # stream: false here, so HTTP mode alone carried it

    async def answered() -> bool:
        return any(s.to == rep and s.via == "sessionWebhook" for s in fake.shown)

    await eventually(answered)
    assert len([s for s in fake.shown if s.to == rep]) == 1


async def test_refused_callbacks_store_nothing(http_service: tuple[TestClient, Service, FakeDingtalk],
                                               clock: FixedClock) -> None:
    client, service, fake = http_service
    body = json.dumps(fake.message("u1", "msgH2", text="你好")).encode()
    now = int(clock.now().timestamp() * 1000)
    stale = str(now - int(timedelta(hours=2).total_seconds() * 1000))
    cases = [({"timestamp": str(now), "sign": sign(str(now), "wrong")}, body, 403),
             ({"timestamp": stale, "sign": sign(stale, fake.client_secret)}, body, 403),
             ({"timestamp": str(now), "sign": sign(str(now), fake.client_secret)}, b"not json", 400),
             ({"timestamp": str(now), "sign": sign(str(now), fake.client_secret)}, b"{" + b" " * 70000 + b"}", 413),
             ({"timestamp": str(now), "sign": sign(str(now), fake.client_secret)},
              json.dumps({**json.loads(body), "robotCode": "dingotherrobot"}).encode(), 403)]
    for headers, data, status in cases:
        r = await client.post(PATH, data=data, headers=headers)
        assert r.status == status, (headers, status)
    assert await _count(service) == 0
