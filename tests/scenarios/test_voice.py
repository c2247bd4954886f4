"""A rep speaks instead of typing: real Mandarin speech (espeak-ng) in each platform's format reaches a local
OpenAI-compatible transcription server; the transcript is tagged like text and the card shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handlers.clock import FixedClock
from tests.harness import Chat
from tests.scenarios.conftest import PLATFORMS
from tests.voice.audio import speak, to_amr, to_opus
from tests.voice.fake_asr import FakeASR

SAID = "今天拜访了瑞丰机械张总，下周三再去"
FORMATS = {"wecom": to_amr, "feishu": to_opus}  # what each platform hands over; the emulator records WebM/Opus


@pytest.fixture
def asr() -> FakeASR:
    return FakeASR(max_clip_s=10.0)  # this provider takes at most 10 s of audio per request


@pytest.fixture(params=list(PLATFORMS))
async def voice_chat(request: pytest.FixtureRequest, asr: FakeASR, tmp_path: Path, clock: FixedClock,
                     aiohttp_client: Any, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Chat:
    server = await aiohttp_server(asr.app())
    monkeypatch.setenv("ACTIONFLOW__ASR__ENABLED", "true")
    monkeypatch.setenv("ACTIONFLOW__ASR__BASE_URL", str(server.make_url("/v1")))
    monkeypatch.setenv("ACTIONFLOW__ASR__TIMEOUT_S", "3")
    monkeypatch.setenv("ACTIONFLOW__ASR__CLIP_S", "8")  # …so we send pieces of 8 s
    return await PLATFORMS[request.param](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)


def recording(chat: Chat, tmp_path: Path, repeat: int = 1) -> Path:
    wav = speak(SAID, tmp_path / "said.wav", repeat=repeat)
    encode = FORMATS.get(chat.platform, to_opus)
    return encode(wav, tmp_path / f"said-{chat.platform}.{'amr' if encode is to_amr else 'ogg'}")


async def test_a_voice_message_becomes_a_tagged_record(voice_chat: Chat, asr: FakeASR, tmp_path: Path) -> None:
    asr.transcripts = [SAID]
    await voice_chat.send_voice("张伟", recording(voice_chat, tmp_path))
    card = await voice_chat.should_send("张伟", card="动作记录待确认")
    assert card.facts.get("客户", "").startswith("无锡瑞丰") and card.facts.get("动作") == "拜访"
    assert SAID in card.text  # the card shows what was heard
    assert len(asr.clips) == 1 and 1.0 < asr.clips[0] < 30.0


async def test_a_long_recording_goes_in_pieces(voice_chat: Chat, asr: FakeASR, tmp_path: Path) -> None:
    asr.transcripts = ["今天拜访了瑞丰机械张总，", "下周三再去"]
    await voice_chat.send_voice("张伟", recording(voice_chat, tmp_path, repeat=3))
    card = await voice_chat.should_send("张伟", card="动作记录待确认")
    assert len(asr.clips) >= 2 and all(c <= 8.1 for c in asr.clips)  # cut at packet bounds
    assert "瑞丰" in card.text


async def test_when_transcription_fails_the_rep_is_told_and_the_audio_is_kept(
        voice_chat: Chat, asr: FakeASR, tmp_path: Path) -> None:
    await voice_chat.say("张伟", "今天拜访了恒远化工王总")
    await voice_chat.should_send("张伟", card="动作记录待确认")
    asr.fail(500, 500)  # the provider is down (a retry does not help)
    await voice_chat.send_voice("张伟", recording(voice_chat, tmp_path))
    told = await voice_chat.should_send("张伟", text="没能转成文字")
    assert "HTTP 500" in told.text and "录音已保存" in told.text
    assert len(await voice_chat.cards("张伟", "动作记录待确认")) == 1  # no record was guessed from nothing


async def test_a_voice_check_keeps_what_was_said(voice_chat: Chat, asr: FakeASR, tmp_path: Path) -> None:
    """A checklist check asking for voice takes the next voice message, transcript and all (not a new record)."""
    from tests.stages.helpers import at_stage, item_id, items

    await at_stage(voice_chat, "D001", "需求确认", "张伟", template="medical_3a")
    await voice_chat.say("张伟", "瑞丰机械 检查清单")
    card = await voice_chat.should_send("张伟", card="需求确认检查清单")
    await voice_chat.press("张伟", card, f"ask:{await item_id(voice_chat, 'D001', '需求确认', 'clinical_head')}")
    await voice_chat.should_send("张伟", card="需求确认检查清单", where=lambda c: "请直接在聊天里发语音" in c.text)
    asr.transcripts = ["主任确认要两台，明年一季度到货"]
    await voice_chat.send_voice("张伟", recording(voice_chat, tmp_path))
    await voice_chat.should_send("张伟", text="已记为「临床科室主任需求确认」的凭证")
    check = (await items(voice_chat, "D001", "需求确认"))["clinical_head"]
    assert check.status == "done" and check.evidence["transcript"] == "主任确认要两台，明年一季度到货"
    assert await voice_chat.cards("张伟", "动作记录待确认") == []
