"""Photos and files after download, before dispatch: sniffed, stored by content, EXIF read, a clean copy made.

An inbox enricher (like bot/speech.py), so it runs after the ack and outside any write transaction:
- the type comes from the bytes, not the name: a "photo" that is not an image is refused in words;
- files land under ``evidence.dir/ab/<sha256>.<ext>`` (the same photo sent twice is stored once);
- EXIF time and GPS are read with Pillow and handed on (``extra["evidence"]["exif"]``) for the
  credibility checks;
- an image gets a re-encoded copy without EXIF (``clean_path``): that copy, never the original, is
  what others are shown (a phone photo's EXIF carries where the rep lives as well as where they were).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from handlers.event import EVIDENCE, MEDIA_ERROR, Event, EventKind

log = logging.getLogger("actionflow.evidence")

MAGIC: list[tuple[bytes, int, str, str]] = [  # (bytes, at offset, mime, extension)
    (b"\xff\xd8\xff", 0, "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", 0, "image/png", ".png"),
    (b"GIF8", 0, "image/gif", ".gif"), (b"WEBP", 8, "image/webp", ".webp"), (b"ftypheic", 4, "image/heic", ".heic"),
    (b"ftypmif1", 4, "image/heic", ".heic"), (b"BM", 0, "image/bmp", ".bmp"), (b"%PDF-", 0, "application/pdf", ".pdf"),
    (b"#!AMR", 0, "audio/amr", ".amr"), (b"OggS", 0, "audio/ogg", ".ogg"), (b"\x1aE\xdf\xa3", 0, "audio/webm", ".webm"),
    (b"RIFF", 0, "audio/wav", ".wav"), (b"ID3", 0, "audio/mpeg", ".mp3"), (b"ftyp", 4, "video/mp4", ".mp4"),
    (b"PK\x03\x04", 0, "application/zip", ".zip"),
]
GPS_IFD, EXIF_IFD = 0x8825, 0x8769
DATETIME_ORIGINAL, DATETIME = 36867, 306
MAX_PIXELS = 50_000_000  # decompression bombs: Pillow refuses images larger than this


def sniff(head: bytes) -> tuple[str, str]:
    """(mime, extension) from the first bytes; ("application/octet-stream", "") when unknown."""
    for magic, at, mime, ext in MAGIC:
        if head[at:at + len(magic)] == magic:
            return mime, ext
    return "application/octet-stream", ""


def _degrees(value: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in value)
    except (TypeError, ValueError):
        return None
    out = d + m / 60 + s / 3600
    return -out if str(ref).upper() in ("S", "W") else out


def read_exif(path: Path) -> dict[str, Any]:
    """Taken-at (local camera time, as written) and GPS position, when the photo has them."""
    out: dict[str, Any] = {}
    with Image.open(path) as im:
        exif = im.getexif()
        raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL) or exif.get(DATETIME)
        if isinstance(raw, str):
            try:
                out["taken_at"] = datetime.strptime(raw.strip(), "%Y:%m:%d %H:%M:%S").isoformat()
            except ValueError:
                pass
        gps = exif.get_ifd(GPS_IFD)
        lat, lng = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
        if lat is not None and lng is not None and -90 <= lat <= 90 and -180 <= lng <= 180:
            out["lat"], out["lng"] = round(lat, 6), round(lng, 6)
    return out


def clean_copy(src: Path, dst: Path) -> None:
    """Re-encode the pixels only: no EXIF, no GPS, no maker notes (the orientation is applied first)."""
    from PIL import ImageOps

    with Image.open(src) as original:
        upright = ImageOps.exif_transpose(original)
        pixels = upright.convert("RGB") if upright.mode not in ("RGB", "L") else upright
        tmp = dst.with_suffix(".part")
        pixels.save(tmp, "JPEG", quality=88)
    tmp.replace(dst)


class EvidenceFiles:
    """The inbox enricher for photos and files (voice is the transcriber's)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS

    async def __call__(self, event: Event) -> Event:
        media = event.media
        if event.kind not in (EventKind.image, EventKind.file, EventKind.voice) or media is None or not media.path:
            return event
        try:
            info = await asyncio.to_thread(self._store, Path(media.path), event.kind)
        except ValueError as exc:
            return event.model_copy(update={"extra": {**event.extra, MEDIA_ERROR: str(exc)}})
        new_media = media.model_copy(update={"path": info["path"], "mime": info["mime"]})
        return event.model_copy(update={"media": new_media, "extra": {**event.extra, EVIDENCE: info}})

    def _store(self, src: Path, kind: EventKind) -> dict[str, Any]:
        size = src.stat().st_size
        if size > self.max_bytes:
            raise ValueError(f"文件超过 {self.max_bytes // (1024 * 1024)} MB 上限")
        if size == 0:
            raise ValueError("文件是空的")
        digest = hashlib.sha256()
        with src.open("rb") as f:
            head = f.read(32)
            digest.update(head)
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        mime, ext = sniff(head)
        is_image = mime.startswith("image/")
        if kind == EventKind.image and not is_image:
            raise ValueError("发来的“照片”不是图片文件（内容与格式不符）")
        sha = digest.hexdigest()
        folder = self.root / sha[:2]
        info: dict[str, Any] = {"sha256": sha, "mime": mime, "bytes": size}
        if is_image:  # read it fully first: an image we cannot open is refused before anything is stored
            try:
                info["exif"] = read_exif(src)
                folder.mkdir(parents=True, exist_ok=True)
                clean = folder / f"{sha}.clean.jpg"
                if not clean.exists():
                    clean_copy(src, clean)
                info["clean_path"] = str(clean)
            except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
                log.warning("image could not be read", extra={"sha256": sha, "error": type(exc).__name__})
                if kind == EventKind.image:
                    raise ValueError("照片无法打开（文件损坏或格式不支持）") from None
                info.pop("exif", None)
        folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"{sha}{ext or src.suffix.lower()[:10]}"
        if not dst.exists():
            part = dst.with_suffix(dst.suffix + ".part")
            shutil.copyfile(src, part)
            part.replace(dst)
        info["path"] = str(dst)
        return info  # the download stays where it is: a retried event reads it again
