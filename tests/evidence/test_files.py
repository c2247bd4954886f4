"""bot/evidence_files.py: content sniffing, content addressing, EXIF time and GPS, copies without EXIF."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from bot.evidence_files import EvidenceFiles, read_exif
from handlers.event import EVIDENCE, MEDIA_ERROR, Event, EventKind, Media
from tests.evidence.photos import photo


def ev(path: Path, kind: EventKind = EventKind.image) -> Event:
    return Event(platform="local", event_id=f"e-{path.name}", kind=kind, sender="4", sent_at=datetime.now(UTC),
                 media=Media(ref=path.name, name=path.name, path=str(path)))


@pytest.fixture
def store(tmp_path: Path) -> EvidenceFiles:
    return EvidenceFiles(tmp_path / "evidence", max_bytes=2 * 1024 * 1024)


async def test_exif_time_and_gps_are_read_and_the_clean_copy_has_none(store: EvidenceFiles, tmp_path: Path) -> None:
    src = photo(tmp_path / "visit.jpg", lat=31.4912, lng=120.3567, taken="2026:12:03 10:15:00")
    out = await store(ev(src))
    info = out.extra[EVIDENCE]
    assert info["exif"]["taken_at"] == "2026-12-03T10:15:00"
    assert info["exif"]["lat"] == pytest.approx(31.4912, abs=1e-4)
    assert info["exif"]["lng"] == pytest.approx(120.3567, abs=1e-4)
    assert info["mime"] == "image/jpeg" and Path(info["path"]).name.startswith(info["sha256"])
    with Image.open(info["clean_path"]) as clean:
        exif = clean.getexif()
        assert not exif.get_ifd(0x8825) and 0x010F not in exif and not exif.get_ifd(0x8769)
        assert clean.size == (64, 48)
    assert read_exif(Path(info["clean_path"])) == {}


async def test_a_photo_without_exif_has_none(store: EvidenceFiles, tmp_path: Path) -> None:
    out = await store(ev(photo(tmp_path / "plain.jpg")))
    assert out.extra[EVIDENCE]["exif"] == {}


async def test_the_same_photo_twice_is_stored_once(store: EvidenceFiles, tmp_path: Path) -> None:
    a = photo(tmp_path / "a.jpg", taken="2026:12:03 10:15:00")
    b = tmp_path / "b.jpg"
    b.write_bytes(a.read_bytes())
    first, second = await store(ev(a)), await store(ev(b))
    assert first.extra[EVIDENCE]["path"] == second.extra[EVIDENCE]["path"]
    assert len([p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]) == 2  # original + clean copy


async def test_a_file_disguised_as_a_photo_an_empty_one_and_a_huge_one_are_refused(
        store: EvidenceFiles, tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"%PDF-1.4 not a picture at all")
    assert "不是图片" in (await store(ev(fake))).extra[MEDIA_ERROR]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    assert "无法打开" in (await store(ev(broken))).extra[MEDIA_ERROR]
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert "空" in (await store(ev(empty))).extra[MEDIA_ERROR]
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as f:
        f.truncate(3 * 1024 * 1024)
    assert "上限" in (await store(ev(huge, EventKind.file))).extra[MEDIA_ERROR]
    assert not list((tmp_path / "evidence").rglob("*.jpg"))  # nothing refused was stored


async def test_a_pdf_sent_as_a_file_is_kept_by_its_content_type(store: EvidenceFiles, tmp_path: Path) -> None:
    pdf = tmp_path / "报价单.bin"
    pdf.write_bytes(b"%PDF-1.4 quote")
    out = await store(ev(pdf, EventKind.file))
    assert out.extra[EVIDENCE]["mime"] == "application/pdf" and out.media is not None
    assert out.media.path is not None and out.media.path.endswith(".pdf")
