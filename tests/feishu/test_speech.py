"""Feishu's own speech_to_text, when switched on, transcribes a voice message before any other ASR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import ActionRecord
from tests.conftest import eventually, seeded
from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN, feishu_config, feishu_env
from tests.feishu.fake_server import Callbacks, FakeFeishu
from tests.harness import link_everyone, people_of
from tests.voice.audio import speak, to_opus

SAID = "今天拜访了瑞丰机械张总，下周三再去"


async def test_feishu_speech_to_text_transcribes_without_any_other_asr(
        tmp_path: Path, fake: FakeFeishu, fake_server: TestServer, clock: FixedClock,
        monkeypatch: pytest.MonkeyPatch, aiohttp_client: Any) -> None:
    feishu_env(fake, monkeypatch)
    cfg = feishu_config(tmp_path, fake_server, speech_to_text=True)
    assert not cfg.asr.enabled
    await seeded(cfg, clock.now())
    await link_everyone(cfg, "feishu")
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    rep = (await people_of(service))["张伟"]
    opus = to_opus(speak(SAID, tmp_path / "s.wav"), tmp_path / "s.ogg")
    fake.add_resource("om_v1", "file_v3_v1", opus.read_bytes(), "audio/opus")
    fake.recognitions = [SAID]
    cb = Callbacks(fake.app_id, VERIFICATION_TOKEN, ENCRYPT_KEY)
    now = int(clock.now().timestamp())
    headers, body = cb.post(cb.message(f"u{rep.id}", "audio", {"file_key": "file_v3_v1", "duration": 4000},
                                       "om_v1", now), now)
    assert (await client.post("/feishu/events", data=body, headers=headers)).status == 200
    await service.inbox.drain()

    async def recorded() -> ActionRecord | None:
        async with service.db.session() as s:
            return (await s.execute(select(ActionRecord).where(ActionRecord.text == SAID))).scalar_one_or_none()

    record = await eventually(recorded)
    assert record.customer_id is not None and record.type.value == "visit"
    assert len(fake.recognized_s) == 1 and 1.0 < fake.recognized_s[0] < 60
