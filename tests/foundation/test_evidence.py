"""Photos, voice, files and locations from the emulator become evidence on the rep's record."""

from __future__ import annotations

import uuid
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.service import Service
from storage.models import ActionRecord, InboxEvent, Person
from tests.conftest import eventually
from tests.evidence.photos import photo as photo_file
from tests.foundation.test_capture_flow import TEXT, card_message, say, texts_to


def form(person_id: int, kind: str, payload: bytes, name: str = "shop.jpg") -> FormData:
    f = FormData()
    f.add_field("person_id", str(person_id))
    f.add_field("client_id", uuid.uuid4().hex)
    f.add_field("kind", kind)
    f.add_field("file", payload, filename=name, content_type="image/jpeg")
    return f


async def _record(service: Service, rep: Person) -> ActionRecord:
    async with service.db.session() as s:
        return (await s.execute(select(ActionRecord).where(
            ActionRecord.rep_id == rep.id, ActionRecord.source_event_id.is_not(None)))).scalar_one()


async def test_photo_and_location_attach_to_todays_record(client: TestClient, service: Service,
                                                          people: dict[str, Person], tmp_path: Path) -> None:
    rep = people["张伟"]
    await say(client, rep, TEXT)
    await eventually(lambda: card_message(service, rep, "待确认"))
    jpeg = photo_file(tmp_path / "shop.jpg").read_bytes()
    r = await client.post("/local/api/upload", data=form(rep.id, "image", jpeg))
    assert r.status == 200
    r = await client.post("/local/api/location", json={"person_id": rep.id, "client_id": uuid.uuid4().hex,
                                                       "lat": 31.4912, "lng": 120.3567, "label": "瑞丰机械门口"})
    assert r.status == 200
    await service.inbox.drain()

    async def attached() -> ActionRecord | None:
        rec = await _record(service, rep)
        return rec if len(rec.evidence) == 2 else None

    rec = await eventually(attached)
    by_kind = {e["kind"]: e for e in rec.evidence}  # handled by different workers: either may land first
    photo, place = by_kind["image"], by_kind["location"]
    assert photo["kind"] == "image" and Path(photo["path"]).read_bytes() == jpeg
    assert place["kind"] == "location" and place["lat"] == 31.4912
    await eventually(lambda: _has(service, rep, "已作为凭证附到记录"))


async def _has(service: Service, rep: Person, part: str) -> bool:
    return any(part in t for t in await texts_to(service, rep))


async def test_photo_without_a_record_asks_for_text(client: TestClient, service: Service,
                                                    people: dict[str, Person], tmp_path: Path) -> None:
    rep = people["李娜"]
    jpeg = photo_file(tmp_path / "p.jpg").read_bytes()
    assert (await client.post("/local/api/upload", data=form(rep.id, "image", jpeg))).status == 200
    await eventually(lambda: _has(service, rep, "请先发一句文字"))


async def test_refused_uploads_leave_nothing(client: TestClient, service: Service, people: dict[str, Person],
                                             tmp_path: Path) -> None:
    media = tmp_path / "media"
    cases = [
        (form(999, "image", b"jpeg"), 403),  # unknown user
        (form(people["张伟"].id or 0, "movie", b"jpeg"), 400),  # unknown kind
        (form(people["张伟"].id or 0, "image", b"x" * (21 * 1024 * 1024)), 413),  # over the 20 MB cap
    ]
    for data, status in cases:
        r = await client.post("/local/api/upload", data=data)
        assert r.status == status
    assert not media.exists() or not any(media.iterdir())
    async with service.db.session() as s:
        assert (await s.execute(select(InboxEvent))).first() is None
    r = await client.post("/local/api/upload", data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status == 415
