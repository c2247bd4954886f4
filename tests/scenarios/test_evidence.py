"""A rep proves a visit with a photo on every platform: it lands on the day's record with its EXIF time and
GPS (for the credibility checks) and a copy without EXIF; a file that only pretends to be a photo is refused."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.models import ActionRecord
from tests.evidence.photos import photo
from tests.harness import Chat


async def _record(chat: Chat, text: str) -> ActionRecord:
    async with chat.service.db.session() as s:
        return (await s.execute(select(ActionRecord).where(ActionRecord.text == text))).scalar_one()


async def test_a_visit_photo_is_kept_with_its_exif(chat: Chat, tmp_path: Path) -> None:
    said = "今天拜访了瑞丰机械张总，下周三再去"
    await chat.say("张伟", said)
    await chat.should_send("张伟", card="动作记录待确认")
    await chat.send_photo("张伟", photo(tmp_path / "door.jpg", lat=31.4912, lng=120.3567, taken="2026:11:24 10:15:00"))
    told = await chat.should_send("张伟", text="已作为凭证附到记录")
    record = await _record(chat, said)
    assert f"#{record.id}" in told.text
    [kept] = record.evidence
    assert kept["kind"] == "image" and kept["exif"]["taken_at"] == "2026-11-24T10:15:00"
    assert round(kept["exif"]["lat"], 3) == 31.491 and round(kept["exif"]["lng"], 3) == 120.357
    assert Path(kept["clean_path"]).exists() and Path(kept["path"]).read_bytes()[:3] == b"\xff\xd8\xff"


async def test_a_file_pretending_to_be_a_photo_is_refused(chat: Chat, tmp_path: Path) -> None:
    said = "今天拜访了恒远化工王总"
    await chat.say("张伟", said)
    await chat.should_send("张伟", card="动作记录待确认")
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"MZ\x90\x00 an executable, not a photo" * 10)
    await chat.send_photo("张伟", fake)
    told = await chat.should_send("张伟", text="没有保存")
    assert "不是图片" in told.text
    assert (await _record(chat, said)).evidence == []


async def test_a_50_mb_photo_is_refused_with_a_clear_message(chat: Chat, tmp_path: Path) -> None:
    """The emulator refuses it at the door (413 with the reason); a platform that holds the file gets a message."""
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(photo(tmp_path / "small.jpg").read_bytes() + bytes(50 * 1024 * 1024))
    if chat.platform == "local":
        import aiohttp

        form = aiohttp.FormData()
        for k, v in (("person_id", str(chat.person("张伟").id)), ("client_id", "0123456789abcdef0123456789abcdef"), ("kind", "image")):
            form.add_field(k, v)
        form.add_field("file", huge.read_bytes(), filename="huge.jpg", content_type="image/jpeg")
        r = await chat.client.post("/local/api/upload", data=form)  # type: ignore[attr-defined]
        assert r.status == 413 and "MB 上限" in await r.text()
        return
    await chat.send_photo("张伟", huge)
    told = await chat.should_send("张伟", text="没有保存")
    assert "上限" in told.text
