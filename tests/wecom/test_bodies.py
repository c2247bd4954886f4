"""Typed outbox bodies on WeCom: a file is uploaded once and sent by media_id; old untyped rows still read."""

from __future__ import annotations

from typing import Any

from bot.channels.wecom import WecomChannel
from storage import outbox
from tests.wecom.fake_server import FakeWecom
from tests.wecom.test_client import msg


async def test_file_body_is_uploaded_once_and_sent(channel: WecomChannel, fake: FakeWecom, tmp_path: Any) -> None:
    report = tmp_path / "周报.xlsx"
    report.write_bytes(b"PK" + b"2" * 300)
    body = outbox.FileBody(file=outbox.MediaFile(path=str(report), name="周报.xlsx")).model_dump()
    await channel.deliver(msg(body, key="file1"))
    await channel.deliver(msg(body, key="file1"))  # a retry: same media_id, identical request, dropped
    assert [u[:2] for u in fake.uploads] == [("file", "周报.xlsx")]
    [sent] = fake.delivered
    assert sent["msgtype"] == "file" and sent["file"]["media_id"].startswith("media-")


def test_rows_written_before_typed_bodies_still_read() -> None:
    assert outbox.body_of({"text": "你好"}) == outbox.TextBody(text="你好")
    assert isinstance(outbox.body_of({"card": {"kind": "x", "title": "t"}}), outbox.CardBody)
    assert isinstance(outbox.body_of({"image": {"path": "/tmp/a.png"}}), outbox.ImageBody)
    assert outbox.body_of(outbox.text_body("好")) == outbox.TextBody(text="好")
