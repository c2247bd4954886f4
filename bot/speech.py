"""Voice → text after the ack, before dispatch (an inbox enricher), so a spoken message is tagged like a typed one.

Order: the platform's own transcript when the event carries one (DingTalk ``recognition`` arrives as text
and needs nothing here); the platform's speech API where the channel has one and it is on (Feishu
speech_to_text); else an OpenAI-compatible ``/audio/transcriptions`` server. ``ffmpeg`` turns AMR
(WeCom), Opus (Feishu) or anything else into 16 kHz mono WAV pieces of at most ``asr.clip_s`` seconds.

Nothing is lost when this fails: the event goes on without text but with ``extra["transcript_error"]``
(in words a rep understands); the dispatcher keeps the audio as evidence and tells the rep why.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import tempfile
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import aiohttp

from bot.config import ASRConfig
from handlers.event import TRANSCRIPT_ERROR, TRANSCRIPT_SOURCE, Event, EventKind

log = logging.getLogger("actionflow.speech")

FFMPEG_TIMEOUT_S = 60.0
RETRY_DELAY_S = 1.0


class SpeechError(Exception):
    """A transcription that did not happen; the message is for the rep (Chinese), the log gets the cause."""


class PlatformSpeech(Protocol):
    async def transcribe(self, clips: list[bytes]) -> str | None: ...


async def wav_clips(path: Path, clip_s: int, max_audio_s: int, ffmpeg: str = "ffmpeg") -> list[bytes]:
    """16 kHz mono 16-bit WAV pieces of ≤ ``clip_s`` s; SpeechError for audio ffmpeg cannot read or too long."""
    with tempfile.TemporaryDirectory(prefix="af-voice-") as tmp:
        out = Path(tmp)
        cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-t", str(max_audio_s + 1), "-ac", "1",
               "-ar", "16000", "-c:a", "pcm_s16le", "-f", "segment", "-segment_time", str(clip_s),
               str(out / "clip%04d.wav")]
        try:
            proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.PIPE)
        except FileNotFoundError:
            raise SpeechError("服务器缺少 ffmpeg，无法处理语音") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(), FFMPEG_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            raise SpeechError("录音处理超时") from None
        clips = await asyncio.to_thread(_read_all, out)
        if proc.returncode != 0 or not clips:
            log.warning("ffmpeg could not read a voice file", extra={"detail": err.decode("utf-8", "replace")[-300:]})
            raise SpeechError("录音文件无法解码（文件损坏或格式不支持）")
        try:
            seconds = sum(len(pcm_of(c)) for c in clips) / 32000  # 16 kHz × 2 bytes
        except (wave.Error, EOFError):
            raise SpeechError("录音文件无法解码（文件损坏或格式不支持）") from None
        if seconds > max_audio_s:
            raise SpeechError(f"录音超过 {max_audio_s // 60} 分钟，请分段发送或改发文字")
        return clips


def pcm_of(clip: bytes) -> bytes:
    """The raw 16 kHz mono s16le samples of a WAV piece (its header is not always 44 bytes: ffmpeg adds a LIST)."""
    with wave.open(io.BytesIO(clip)) as w:
        return w.readframes(w.getnframes())


def _read_all(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("clip*.wav"))]


class OpenAITranscriber:
    """An OpenAI-compatible ``POST {base_url}/audio/transcriptions`` (multipart ``file`` + ``model``)."""

    def __init__(self, cfg: ASRConfig, env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self._key = (os.environ if env is None else env).get(cfg.api_key_env, "").strip()
        self._timeout = aiohttp.ClientTimeout(total=cfg.timeout_s)

    async def transcribe(self, clips: list[bytes]) -> str:
        url = self.cfg.base_url.rstrip("/") + "/audio/transcriptions"
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        texts = []
        async with aiohttp.ClientSession(timeout=self._timeout) as http:
            for n, clip in enumerate(clips):
                texts.append(await self._one(http, url, headers, clip, n))
        return "".join(t.strip() for t in texts).strip()

    async def _one(self, http: aiohttp.ClientSession, url: str, headers: dict[str, str], clip: bytes, n: int) -> str:
        for attempt in (1, 2):
            form = aiohttp.FormData()
            form.add_field("file", clip, filename=f"clip{n:04d}.wav", content_type="audio/wav")
            form.add_field("model", self.cfg.model)
            form.add_field("language", self.cfg.language)
            form.add_field("response_format", "json")
            try:
                async with http.post(url, data=form, headers=headers) as r:
                    body = await r.read()
                    if r.status >= 500 and attempt == 1:
                        await asyncio.sleep(RETRY_DELAY_S)
                        continue
                    if r.status != 200:
                        log.warning("transcription refused", extra={"status": r.status, "detail": body[:200]})
                        raise SpeechError(f"语音识别服务返回错误（HTTP {r.status}）")
                    data = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == 1:
                    await asyncio.sleep(RETRY_DELAY_S)
                    continue
                log.warning("transcription failed", extra={"error": type(exc).__name__})
                raise SpeechError("语音识别服务暂时连不上或超时") from None
            except ValueError:
                raise SpeechError("语音识别服务的回答无法读取") from None
            text = data.get("text") if isinstance(data, dict) else None
            if not isinstance(text, str):
                raise SpeechError("语音识别服务的回答无法读取")
            return text
        raise SpeechError("语音识别服务暂时连不上或超时")


class Transcriber:
    """The inbox enricher: a downloaded voice message without text gets its transcript as ``text``."""

    def __init__(self, cfg: ASRConfig, platforms: Mapping[str, PlatformSpeech | None]) -> None:
        self.cfg = cfg
        self.platforms = platforms
        self.openai = OpenAITranscriber(cfg) if cfg.enabled else None

    async def __call__(self, event: Event) -> Event:
        if event.kind != EventKind.voice or event.text.strip():
            return event  # not voice, or the platform transcribed it already (DingTalk)
        media = event.media
        if media is None or not media.path:
            return event  # the download failed: the dispatcher says so
        platform = self.platforms.get(event.platform)
        if platform is None and self.openai is None:
            return self._failed(event, "未开启语音转写")
        try:
            clips = await wav_clips(Path(media.path), self.cfg.clip_s, self.cfg.max_audio_s, self.cfg.ffmpeg)
            text, source = None, ""
            if platform is not None:
                text, source = await platform.transcribe(clips), event.platform
            if not text and self.openai is not None:
                text, source = await self.openai.transcribe(clips), "asr"
        except SpeechError as exc:
            return self._failed(event, str(exc))
        if not text:
            return self._failed(event, "没有听清录音内容")
        log.info("voice transcribed", extra={"event_id": event.event_id, "source": source, "chars": len(text)})
        return event.model_copy(update={"text": text[:20000], "extra": {**event.extra, TRANSCRIPT_SOURCE: source}})

    @staticmethod
    def _failed(event: Event, why: str) -> Event:
        return event.model_copy(update={"extra": {**event.extra, TRANSCRIPT_ERROR: why}})
