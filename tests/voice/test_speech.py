"""bot/speech.py against real audio and a real (fake) transcription server: pieces, retries, refusals."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import ASRConfig
from bot.speech import SpeechError, Transcriber, wav_clips
from handlers.event import TRANSCRIPT_ERROR, Event, EventKind, Media
from tests.voice.audio import speak, to_amr, to_opus
from tests.voice.fake_asr import FakeASR

SAID = "今天拜访了瑞丰机械张总"


@pytest.fixture(scope="module")
def amr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("voice")
    return to_amr(speak(SAID, d / "s.wav"), d / "s.amr")


def voice(path: Path, platform: str = "wecom", text: str = "") -> Event:
    return Event(platform=platform, event_id="v1", kind=EventKind.voice, sender="u1", sent_at=datetime.now(UTC),
                 text=text, media=Media(ref="m1", name=path.name, path=str(path)))


async def asr_cfg(aiohttp_server: Any, fake: FakeASR, **kw: Any) -> ASRConfig:
    server = await aiohttp_server(fake.app())
    return ASRConfig(enabled=True, base_url=str(server.make_url("/v1")), **kw)


async def test_amr_and_opus_become_16k_mono_wav(amr: Path, tmp_path: Path) -> None:
    opus = to_opus(speak(SAID, tmp_path / "o.wav"), tmp_path / "o.ogg")
    for path in (amr, opus):
        [clip] = await wav_clips(path, 60, 600)
        with wave.open(io.BytesIO(clip)) as w:
            assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16000, 2)
            assert 1.0 < w.getnframes() / 16000 < 30


async def test_a_corrupt_file_and_a_too_long_one_are_refused_in_words(amr: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.amr"
    broken.write_bytes(b"#!AMR\n" + bytes(range(256)) * 3)
    with pytest.raises(SpeechError, match="无法解码"):
        await wav_clips(broken, 60, 600)
    disguised = tmp_path / "voice.amr"
    disguised.write_bytes(b"\xff\xd8\xff\xe0 this is a jpeg, not a voice")
    with pytest.raises(SpeechError, match="无法解码"):
        await wav_clips(disguised, 60, 600)
    long = to_amr(speak(SAID, tmp_path / "l.wav", repeat=6), tmp_path / "l.amr")
    with pytest.raises(SpeechError, match="录音超过"):
        await wav_clips(long, 60, 10)


async def test_one_server_error_is_retried(amr: Path, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeASR(transcripts=[SAID], key="k-1")
    fake.fail(503)
    monkeypatch.setenv("ACTIONFLOW_ASR_API_KEY", "k-1")
    monkeypatch.setattr("bot.speech.RETRY_DELAY_S", 0.0)
    out = await Transcriber(await asr_cfg(aiohttp_server, fake, timeout_s=5), {})(voice(amr))
    assert out.text == SAID and TRANSCRIPT_ERROR not in out.extra


async def test_a_missing_key_a_timeout_and_a_dead_server_each_say_why(
        amr: Path, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeASR(transcripts=[SAID], key="k-1")
    out = await Transcriber(await asr_cfg(aiohttp_server, fake), {})(voice(amr))
    assert out.text == "" and "HTTP 401" in out.extra[TRANSCRIPT_ERROR]
    slow = FakeASR(transcripts=[SAID], delay_s=2.0)
    monkeypatch.setattr("bot.speech.RETRY_DELAY_S", 0.0)
    out = await Transcriber(await asr_cfg(aiohttp_server, slow, timeout_s=0.3), {})(voice(amr))
    assert "超时" in out.extra[TRANSCRIPT_ERROR]
    dead = ASRConfig(enabled=True, base_url="http://127.0.0.1:9/v1", timeout_s=1)
    out = await Transcriber(dead, {})(voice(amr))
    assert "连不上" in out.extra[TRANSCRIPT_ERROR]


async def test_a_platform_transcript_needs_no_asr_and_asr_off_says_so(amr: Path) -> None:
    heard = voice(amr, platform="dingtalk", text="今天拜访了瑞丰机械")  # DingTalk's ``recognition``
    assert await Transcriber(ASRConfig(enabled=False), {})(heard) == heard
    out = await Transcriber(ASRConfig(enabled=False), {})(voice(amr))
    assert out.extra[TRANSCRIPT_ERROR] == "未开启语音转写"
