"""Robot messages and card presses → Event, cross-checked against the dingtalk-stream SDK's own parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dingtalk_stream.card_callback import CardCallbackMessage
from dingtalk_stream.chatbot import ChatbotMessage

from bot.channels.dingtalk.inbound import card_event, message_event, press_params
from handlers.event import EventKind
from tests.dingtalk.fake_server import FakeDingtalk

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def fake() -> FakeDingtalk:
    f = FakeDingtalk(clock=lambda: NOW.timestamp())
    f.base_url = "https://oapi.dingtalk.com"
    return f


def test_text_matches_the_sdks_reading() -> None:
    data = fake().message("042297", "msgT1", text="今天拜访了瑞丰机械张总", group=True)
    event = message_event(data, "frame-1")
    sdk = ChatbotMessage.from_dict(data)
    assert event.text == sdk.text.content.strip() == "今天拜访了瑞丰机械张总"  # the @-mention's leading space goes
    assert event.sender == sdk.sender_staff_id == "042297" and event.event_id == f"msg:{sdk.message_id}"
    assert event.sent_at == datetime.fromtimestamp(sdk.create_at / 1000, UTC)
    assert event.extra["conversation_type"] == "group" and sdk.conversation_type == "2"


def test_rich_text_and_picture_match_the_sdk() -> None:
    f = fake()
    rich = f.message("u1", "msgR1", msgtype="richText", content={"richText": [
        {"text": "现场照片"}, {"pictureDownloadCode": "p1", "downloadCode": "dl-1", "type": "picture"}, {"text": "已安装"}]})
    event = message_event(rich, None)
    sdk = ChatbotMessage.from_dict(rich)
    assert event.kind == EventKind.text and event.text == "".join(sdk.get_text_list()) == "现场照片已安装"
    assert event.extra["pictures"] == sdk.get_image_list() == ["dl-1"]
    pic = f.message("u1", "msgP1", msgtype="picture", content={"pictureDownloadCode": "p2", "downloadCode": "dl-2"})
    event = message_event(pic, None)
    assert event.kind == EventKind.image and event.media is not None
    assert event.media.ref == ChatbotMessage.from_dict(pic).image_content.download_code == "dl-2"


def test_audio_uses_dingtalks_recognition_and_keeps_the_file() -> None:
    data = fake().message("u1", "msgV1", msgtype="audio",
                          content={"downloadCode": "dl-v", "recognition": "今天拜访了恒远化工", "duration": 4000})
    event = message_event(data, None)
    assert event.kind == EventKind.voice and event.text == "今天拜访了恒远化工"
    assert event.media is not None and event.media.ref == "dl-v" and event.extra["duration"] == "4000"
    assert ChatbotMessage.from_dict(data).extensions["content"]["recognition"] == event.text  # SDK: unparsed


def test_file_video_and_quota_exceeded() -> None:
    f = fake()
    file = message_event(f.message("u1", "m1", msgtype="file", content={"downloadCode": "d1", "fileName": "报价.pdf",
                                                                         "spaceId": "s", "fileId": "x"}), None)
    assert file.kind == EventKind.file and file.media is not None and file.media.name == "报价.pdf"
    video = message_event(f.message("u1", "m2", msgtype="video", content={"downloadCode": "d2", "videoType": "mp4",
                                                                           "duration": "5"}), None)
    assert video.kind == EventKind.file and video.media is not None and video.media.name == "video.mp4"
    quota = f.message("u1", "m3", msgtype="text")
    del quota["text"]
    quota.update(errorCode=20001, errorMessage="受调用量超量影响，当前我的消息服务已经暂停")
    event = message_event(quota, None)
    assert event.kind == EventKind.other and event.extra["system"] is True  # nothing to read, nothing to answer


def test_an_external_user_has_no_staff_id() -> None:
    data = fake().message("", "msgX1", text="你好")
    assert message_event(data, None).sender.startswith("ext:")


def test_a_card_press_carries_our_key_like_the_sdk_reads_it() -> None:
    data = fake().press("u7", "af-track-1", "CardIdAbc|confirm")
    sdk = CardCallbackMessage.from_dict(data)
    assert sdk.card_instance_id == "af-track-1" and sdk.user_id == "u7"
    assert sdk.content["cardPrivateData"]["params"] == press_params(data) == {"key": "CardIdAbc|confirm"}
    event = card_event(data, "frame-9", NOW)
    assert event.kind == EventKind.card_action and event.action is not None
    assert (event.action.card_id, event.action.action, event.action.value) == ("CardIdAbc", "confirm", "")
    assert event.sender == "u7" and event.event_id == "card:frame-9" and event.extra["out_track_id"] == "af-track-1"


def test_a_press_with_an_entered_value_and_other_param_places() -> None:
    f = fake()
    typed = card_event(f.press("u7", "t", "Cid|set:payment_amount", value="200000"), "fr", NOW)
    assert typed.action is not None and typed.action.value == "200000"
    for content in ({"userPrivateData": {"params": {"key": "Cid|lock"}}}, {"params": {"key": "Cid|lock"}},
                    {"actionData": {"key": "Cid|lock"}}):
        data = {**f.press("u7", "t", "x"), "content": json.dumps(content)}
        event = card_event(data, "fr", NOW)
        assert event.action is not None and event.action.action == "lock", content
    foreign = card_event({**f.press("u7", "t", "x"), "content": "{}"}, "fr", NOW)
    assert foreign.kind == EventKind.other and foreign.action is None  # not ours: stored, never acted on


def test_a_message_without_any_sender_is_kept_but_never_answered() -> None:
    data = fake().message("", "msgN1", text="你好")
    del data["senderId"]
    event = message_event(data, None)
    assert event.sender == "" and event.extra["system"] is True
