"""A fake OpenAI-compatible transcription server on real HTTP: it checks what a real one needs.

``POST /v1/audio/transcriptions`` must be multipart with ``model`` and a ``file`` that is a real WAV
(RIFF, mono, 16 kHz, 16-bit) no longer than ``max_clip_s`` (providers cap a request's audio), with the
bearer key when one is set. It cannot understand speech, so it answers each accepted clip with the next
scripted transcript; ``fail`` queues HTTP errors and ``delay_s`` makes it slower than a client's timeout.
"""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class FakeASR:
    transcripts: list[str] = field(default_factory=list)
    max_clip_s: float = 65.0
    key: str = ""
    delay_s: float = 0.0
    clips: list[float] = field(default_factory=list)  # seconds of each accepted clip
    _fail: list[int] = field(default_factory=list)

    def fail(self, *statuses: int) -> None:
        self._fail.extend(statuses)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/v1/audio/transcriptions", self.transcribe)
        return app

    async def transcribe(self, request: web.Request) -> web.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self._fail:
            return web.json_response({"error": {"message": "upstream error"}}, status=self._fail.pop(0))
        if self.key and request.headers.get("Authorization") != f"Bearer {self.key}":
            return web.json_response({"error": {"message": "invalid api key"}}, status=401)
        form = await request.post()
        part = form.get("file")
        if not form.get("model") or not hasattr(part, "file"):
            return web.json_response({"error": {"message": "file and model are required"}}, status=400)
        data = part.file.read()  # type: ignore[union-attr]
        try:
            with wave.open(io.BytesIO(data)) as w:
                ok = w.getnchannels() == 1 and w.getframerate() == 16000 and w.getsampwidth() == 2
                seconds = w.getnframes() / 16000
        except (wave.Error, EOFError):
            return web.json_response({"error": {"message": "could not decode audio"}}, status=400)
        if not ok or seconds <= 0:
            return web.json_response({"error": {"message": "expected 16 kHz mono 16-bit PCM"}}, status=400)
        if seconds > self.max_clip_s:
            return web.json_response({"error": {"message": "audio too long"}}, status=413)
        self.clips.append(seconds)
        return web.json_response({"text": self.transcripts.pop(0) if self.transcripts else ""})
