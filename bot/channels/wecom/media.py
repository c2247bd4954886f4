"""Media after the ack: voice (AMR), photos and files are fetched with media/get into our media store.

MediaIds live 3 days, so this runs at once, in the inbox's preparation step (never on the ack path).
A download that fails leaves the event without a local path (and says why in ``extra``) instead of
blocking the message: the rep's record matters more than the attachment.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from pathlib import Path

from bot.channels.base import store_file
from bot.channels.wecom.client import WecomClient, WecomError
from handlers.event import Event

log = logging.getLogger("actionflow.wecom")

RETRY_DELAY_S = 1.0
EXT_BY_MIME = {"audio/amr": ".amr", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "video/mp4": ".mp4", "application/pdf": ".pdf"}


def _suffix(name: str, mime: str) -> str:
    ext = EXT_BY_MIME.get(mime) or Path(name).suffix.lower() or mimetypes.guess_extension(mime) or ""
    return "".join(c for c in ext[:10] if c.isalnum() or c == ".")


async def download(client: WecomClient, event: Event, media_dir: Path, max_bytes: int) -> Event:
    """Return the event with ``media.path`` set (file named by a hash of the media id: a re-run overwrites)."""
    media = event.media
    if media is None or media.path:
        return event
    last: WecomError | None = None
    for attempt in (1, 2):
        try:
            content, ctype, filename = await client.media_get(media.ref, max_bytes)
            break
        except WecomError as exc:
            last = exc
            if not exc.retryable or attempt == 2:
                log.warning("wecom media download failed", extra={"event_id": event.event_id, "error": str(exc)})
                return event.model_copy(update={"extra": {**event.extra, "download_error": str(exc)[:200]}})
            await asyncio.sleep(RETRY_DELAY_S)
    else:  # pragma: no cover - the loop always breaks or returns
        raise AssertionError(last)
    mime = ctype.split(";")[0].strip() or media.mime
    name = filename or media.name
    if content.startswith(b"#!AMR"):
        mime = "audio/amr"
    path = media_dir / f"{hashlib.sha256(media.ref.encode()).hexdigest()[:32]}{_suffix(name, mime)}"
    await asyncio.to_thread(store_file, path, content)
    new_media = media.model_copy(update={"path": str(path), "mime": mime, "name": name[:100]})
    return event.model_copy(update={"media": new_media})
