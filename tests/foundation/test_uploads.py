"""Emulator uploads: the sender is checked before anything is written, and only a whole, accepted request
leaves a file behind (refused, over-limit, malformed and aborted ones leave nothing)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from bot.service import Service
from storage.models import Person
from tests.conftest import eventually
from tests.foundation.test_security import stored

MB = 1024 * 1024


def files(media: Path) -> list[Path]:
    return sorted(media.iterdir()) if media.exists() else []


async def test_unknown_sender_is_refused_before_the_file_is_read(client: TestClient, tmp_path: Path) -> None:
    form = FormData({"person_id": "999", "client_id": uuid.uuid4().hex, "kind": "image"})
    form.add_field("file", b"x" * (21 * MB), filename="big.jpg", content_type="image/jpeg")
    r = await client.post("/local/api/upload", data=form)
    assert r.status == 403 and "未知用户" in await r.text()  # not 413: nothing of the file was streamed to disk
    assert files(tmp_path / "media") == []


async def test_sender_must_come_before_the_file(client: TestClient, service: Service, people: dict[str, Person],
                                                tmp_path: Path) -> None:
    form = FormData()
    form.add_field("file", b"jpeg", filename="a.jpg", content_type="image/jpeg")
    form.add_fields(("person_id", str(people["张伟"].id)), ("client_id", uuid.uuid4().hex), ("kind", "image"))
    r = await client.post("/local/api/upload", data=form)
    assert r.status == 400 and "file 之前" in await r.text()
    assert files(tmp_path / "media") == [] and await stored(service) == 0


async def test_accepted_upload_is_moved_into_place(client: TestClient, people: dict[str, Person],
                                                   tmp_path: Path) -> None:
    form = FormData({"person_id": str(people["张伟"].id), "client_id": uuid.uuid4().hex, "kind": "image"})
    form.add_field("file", b"\xff\xd8\xff jpeg", filename="shop.jpg", content_type="image/jpeg")
    assert (await client.post("/local/api/upload", data=form)).status == 200
    [saved] = files(tmp_path / "media")
    assert saved.suffix == ".jpg" and not saved.name.startswith(".") and saved.read_bytes() == b"\xff\xd8\xff jpeg"


async def test_aborted_upload_leaves_no_file(client: TestClient, service: Service, people: dict[str, Person],
                                            tmp_path: Path) -> None:
    media = tmp_path / "media"
    boundary = "abortboundary"
    head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in
                   (("person_id", people["张伟"].id), ("client_id", uuid.uuid4().hex), ("kind", "image")))
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write((f"POST /local/api/upload HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {10 * MB}\r\n\r\n"
                  ).encode() + head.encode() + b"x" * (512 * 1024))
    await writer.drain()

    async def writing() -> bool:
        return any(p.stat().st_size > 0 for p in files(media))

    await eventually(writing)  # the server is streaming the file…
    writer.close()  # …and the client goes away mid-upload
    await writer.wait_closed()

    async def cleaned() -> bool:
        return files(media) == []

    await eventually(cleaned)
    assert await stored(service) == 0
