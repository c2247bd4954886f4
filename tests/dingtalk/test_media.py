"""Photos and files sent to the robot are downloaded by their downloadCode after the ack; a failed download
leaves the message handled, with the reason kept."""

from __future__ import annotations

from pathlib import Path

from bot.channels.dingtalk import DingtalkChannel
from bot.channels.dingtalk.inbound import message_event
from bot.channels.dingtalk.media import sniff
from tests.dingtalk.chat import DingtalkChat
from tests.dingtalk.fake_server import BOT_TOPIC, FakeDingtalk
from tests.harness import userid

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


async def test_a_photo_is_fetched_into_the_media_store_after_the_ack(channel: DingtalkChannel,
                                                                     fake: FakeDingtalk) -> None:
    fake.files["dl-photo-1"] = (JPEG, "image/jpeg")
    event = message_event(fake.message("u1", "msgM1", msgtype="picture",
                                       content={"pictureDownloadCode": "p", "downloadCode": "dl-photo-1"}), None)
    ready = await channel.prepare(event)
    assert ready.media is not None and ready.media.path and ready.media.mime == "image/jpeg"
    assert Path(ready.media.path).read_bytes() == JPEG and Path(ready.media.path).suffix == ".jpg"
    [call] = fake.calls("/v1.0/robot/messageFiles/download")
    assert call.body == {"downloadCode": "dl-photo-1", "robotCode": fake.client_id}


async def test_an_expired_download_code_keeps_the_reason(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    event = message_event(fake.message("u1", "msgM2", msgtype="file",
                                       content={"downloadCode": "dl-gone", "fileName": "报价单.pdf"}), None)
    ready = await channel.prepare(event)
    assert ready.media is not None and ready.media.path is None
    assert "downloadCode" in ready.extra["download_error"]


async def test_a_photo_through_the_service_reaches_the_rep_and_the_disk(dchat: DingtalkChat, tmp_path: Path) -> None:
    fake = dchat.fake
    fake.files["dl-photo-2"] = (JPEG, "image/jpeg")
    data = fake.message(userid(dchat.person("张伟")), "msgM3", msgtype="picture",
                        content={"pictureDownloadCode": "p", "downloadCode": "dl-photo-2"})
    ack = await fake.push(fake.frame(BOT_TOPIC, data))
    assert ack is not None and ack["code"] == 200
    await dchat.settle()
    assert [p.read_bytes() for p in (tmp_path / "dingtalk-media").iterdir()] == [JPEG]
    assert await dchat.seen("张伟")  # the rep was answered about the photo


def test_sniffing_the_file_kind() -> None:
    assert sniff(b"#!AMR\n...", "", "voice") == ("audio/amr", ".amr")
    assert sniff(b"OggS\x00...", "application/octet-stream", "voice") == ("audio/ogg", ".ogg")
    assert sniff(b"\x00\x00\x00\x18ftypmp42", "", "video.mp4") == ("video/mp4", ".mp4")
    assert sniff(b"PK\x03\x04", "", "报价.xlsx")[1] == ".xlsx"
