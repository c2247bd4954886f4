"""Media after the ack: photos, voice, files and videos are fetched by their downloadCode into our store.

The temporary download URL's lifetime is not documented, so this runs at once, in the inbox's
preparation step (never on the ack path). A failed download leaves the event without a local path
(and says why in ``extra``): the rep's message matters more than the attachment.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from pathlib import Path

from bot.channels.dingtalk.client import DingtalkClient, DingtalkError
from handlers.event import Event

log = logging.getLogger("actionflow.dingtalk")

RETRY_DELAY_S = 1.0
MAGIC = ((b"#!AMR", "audio/amr", ".amr"), (b"OggS", "audio/ogg", ".ogg"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
         (b"\x89PNG", "image/png", ".png"), (b"%PDF", "application/pdf", ".pdf"))


def sniff(content: bytes, ctype: str, name: str) -> tuple[str, str]:
    """(mime, suffix) from the first bytes, else the Content-Type, else the file name."""
    for magic, mime, ext in MAGIC:
        if content.startswith(magic):
            return mime, ext
    if content[4:8] == b"ftyp":
        return "video/mp4", ".mp4"
    mime = ctype.split(";")[0].strip()
    ext = Path(name).suffix.lower() or (mimetypes.guess_extension(mime) or "" if mime else "")
    return mime or mimetypes.guess_type(name)[0] or "application/octet-stream", \
        "".join(c for c in ext[:10] if c.isalnum() or c == ".")


def _write(path: Path, content: bytes) -> None:
    """Under a temporary name, then moved into place: a crash never leaves half a file (blocks: in a thread)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(content)
    tmp.replace(path)


async def download(client: DingtalkClient, event: Event, media_dir: Path, max_bytes: int) -> Event:
    """The event with ``media.path`` set (file named by a hash of the download code: a re-run overwrites)."""
    media = event.media
    if media is None or media.path:
        return event
    for attempt in (1, 2):
        try:
            content, ctype = await client.download(media.ref, max_bytes)
            break
        except DingtalkError as exc:
            if not exc.retryable or attempt == 2:
                log.warning("dingtalk media download failed", extra={"event_id": event.event_id, "error": str(exc)})
                return event.model_copy(update={"extra": {**event.extra, "download_error": str(exc)[:200]}})
            await asyncio.sleep(RETRY_DELAY_S)
    mime, ext = sniff(content, ctype, media.name)
    name = media.name if Path(media.name).suffix else f"{media.name}{ext}"
    path = media_dir / f"{hashlib.sha256(media.ref.encode()).hexdigest()[:32]}{ext}"
    await asyncio.to_thread(_write, path, content)
    return event.model_copy(update={"media": media.model_copy(update={"path": str(path), "mime": mime,
                                                                      "name": name[:100]})})
