"""The OpenAPI client and the outbound path against the strict fake: token lifetime and refresh, error-code
mapping, what the API refuses, throttling retried from the outbox, sessionWebhook vs. the OpenAPI."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.channels.dingtalk import DingtalkChannel
from bot.channels.dingtalk.channel import TEXT_MAX_BYTES, out_track_id
from bot.channels.dingtalk.client import DingtalkError, error_for
from cards.model import Button, Card
from handlers.clock import FixedClock
from storage.models import OutboxMessage
from tests.dingtalk.chat import DingtalkChat
from tests.dingtalk.fake_server import FakeDingtalk
from tests.harness import userid

BATCH = "/v1.0/robot/oToMessages/batchSend"


def outbox(recipient: str, body: dict[str, Any], key: str = "k-1", op: str = "send") -> OutboxMessage:
    return OutboxMessage(platform="dingtalk", recipient=recipient, body=body, idempotency_key=key, op=op)


async def test_the_token_is_cached_for_its_lifetime_and_refreshed_by_the_clock(
        channel: DingtalkChannel, fake: FakeDingtalk, clock: FixedClock) -> None:
    client = channel.client
    first = await client.token()
    await client.batch_send(["u1"], "sampleText", {"content": "一"})
    await client.batch_send(["u1"], "sampleText", {"content": "二"})
    assert client.token_fetches == 1 and {r.token for r in fake.calls(BATCH)} == {first}
    clock.set(clock.now() + timedelta(seconds=7200 - 200))  # inside our 5-minute margin: refetch before it ends
    await client.batch_send(["u1"], "sampleText", {"content": "三"})
    assert client.token_fetches == 2
    clock.set(clock.now() + timedelta(seconds=400))  # the platform's 7200 s are over
    await client.batch_send(["u1"], "sampleText", {"content": "四"})
    assert fake.calls(BATCH)[-1].token != first and [s.content for s in fake.shown] == ["一", "二", "三", "四"]


async def test_a_revoked_token_is_refetched_once_and_the_call_retried(channel: DingtalkChannel,
                                                                      fake: FakeDingtalk) -> None:
    await channel.client.batch_send(["u1"], "sampleText", {"content": "一"})
    fake.revoke_tokens()  # e.g. the secret was reset in the console
    await channel.client.batch_send(["u1"], "sampleText", {"content": "二"})
    assert channel.client.token_fetches == 2 and len(fake.shown) == 2


async def test_wrong_credentials_are_not_retried(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    fake.client_secret = "another-secret"
    with pytest.raises(DingtalkError) as got:
        await channel.client.token()
    assert got.value.code == "invalidClientIdOrSecret" and not got.value.retryable
    assert "DINGTALK_CLIENT_SECRET" in str(got.value) and "another-secret" not in str(got.value)


@pytest.mark.parametrize(("status", "body", "retryable", "after"), [
    (403, {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"}, True, 1.0),
    (200, {"errcode": 90018, "errmsg": "qps"}, True, 1.0),
    (403, {"code": "Forbidden.AccessDenied.QpsLimitForApi"}, True, 2.0),
    (403, {"code": "Forbidden.AccessDenied.ApiCountLimitForOrg"}, True, 3600.0),
    (200, {"errcode": 90020, "errmsg": "您的企业本月api调用量已超过限制"}, True, 3600.0),
    (403, {"status": 1111, "wait": 5, "source": "x5", "punish": "deny"}, True, 300.0),
    (503, {"code": "ServiceUnavailable"}, True, 2.0),
    (502, None, True, 2.0),
    (400, {"code": "invalidParameter.robotCode.auth"}, False, None),
    (400, {"code": "invalidParameter.msgParam.invalid"}, False, None),
    (403, {"code": "Forbidden.AccessDenied.AccessTokenPermissionDenied"}, False, None),
])
def test_error_codes_map_to_retryable_or_not(status: int, body: dict[str, Any] | None, retryable: bool,
                                             after: float | None) -> None:
    raw = json.dumps(body).encode() if body is not None else b"<html>Bad Gateway</html>"
    err = error_for(status, raw)
    assert err.retryable is retryable and err.retry_after == after


@pytest.mark.parametrize(("change", "code"), [
    ({"robotCode": "dingunknownrobot"}, "invalidParameter.robotCode.auth"),
    ({"robotCode": ""}, "MissingrobotCode"),
    ({"userIds": [f"u{n}" for n in range(21)]}, "invalidParameter.userIds.overMax"),
    ({"msgKey": "sampleNothing"}, "invalidParameter.msgKey.invalid"),
    ({"msgParam": {"content": "不是字符串"}}, "MissingmsgParam"),
    ({"msgParam": json.dumps({"content": "长" * 5001}, ensure_ascii=False)}, "invalidParameter.msgParam.invalid"),
    ({"msgParam": json.dumps({"title": "缺 content"})}, "invalidParameter.msgParam.invalid"),
])
async def test_the_fake_refuses_what_batch_send_refuses(channel: DingtalkChannel, fake: FakeDingtalk,
                                                        change: dict[str, Any], code: str) -> None:
    body = {"robotCode": fake.client_id, "userIds": ["u1"], "msgKey": "sampleText",
            "msgParam": json.dumps({"content": "你好"}), **change}
    with pytest.raises(DingtalkError) as got:
        await channel.client.call("POST", BATCH, body)
    assert got.value.code == code and not got.value.retryable and not fake.shown


@pytest.mark.parametrize(("change", "code"), [
    ({"cardData": {"cardParamMap": {"title": "标题", "count": 3}}}, "invalidParameter.cardData.invalid"),
    ({"cardTemplateId": "unknown.schema"}, "invalidParameter.cardTemplateId.notExist"),
    ({"outTrackId": "x" * 65}, "invalidParameter.outTrackId.invalid"),
    ({"callbackType": "stream"}, "invalidParameter.callbackType.invalid"),
    ({"openSpaceId": "IM_ROBOT.u1"}, "invalidParameter.openSpaceId.invalid"),
    ({"imRobotOpenDeliverModel": None}, "MissingDeliverModel"),
])
async def test_the_fake_refuses_what_create_and_deliver_refuses(channel: DingtalkChannel, fake: FakeDingtalk,
                                                                change: dict[str, Any], code: str) -> None:
    body = {"cardTemplateId": fake.template_id, "outTrackId": "af-1", "callbackType": "STREAM",
            "cardData": {"cardParamMap": {"title": "标题"}}, "openSpaceId": "dtv1.card//IM_ROBOT.u1",
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": fake.client_id}, **change}
    with pytest.raises(DingtalkError) as got:
        await channel.client.create_and_deliver(body)
    assert got.value.code == code and not fake.cards


async def test_more_than_20_calls_a_second_are_paced_not_refused(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    import asyncio

    await asyncio.gather(*(channel.client.batch_send(["u1"], "sampleText", {"content": str(n)}) for n in range(45)))
    assert len(fake.shown) == 45  # our pacer kept every second under the fake's 20 QPS (403 above it)


async def test_a_long_text_goes_in_pieces_within_msg_param(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    text = ("第一行销售记录，内容很长。" * 40 + "\n") * 60  # ≈ 70 KB of CJK
    await channel.deliver(outbox("u1", {"text": text}))
    pieces = [s.content for s in fake.shown]
    assert len(pieces) >= 5 and "".join(pieces) == text.strip()
    assert all(len(p.encode()) <= TEXT_MAX_BYTES for p in pieces)


async def test_cards_are_created_once_per_outbox_key_and_updated_in_place(channel: DingtalkChannel,
                                                                          fake: FakeDingtalk) -> None:
    card = Card(kind="confirmation", title="📝 动作记录待确认", buttons=[Button("confirm", "确认", "primary")],
                card_id="CardIdAbc")
    msg = outbox("u1", {"card": card.to_dict()}, key="card-key-1")
    first = await channel.deliver(msg)
    again = await channel.deliver(msg)  # a retried outbox row: same outTrackId, shown once
    assert first.refs == again.refs == {"out_track_id": out_track_id("card-key-1")}
    assert len(fake.cards) == 1 and len([s for s in fake.shown if s.kind == "card"]) == 1
    sent = fake.calls("/v1.0/card/instances/createAndDeliver")[0].body
    assert sent["callbackType"] == "STREAM" and sent["openSpaceId"] == "dtv1.card//IM_ROBOT.u1"
    assert all(isinstance(v, str) for v in sent["cardData"]["cardParamMap"].values())
    done = Card(kind="confirmation", title="✅ 已记录", card_id="CardIdAbc")
    await channel.update_card(outbox("u1", {"card": done.to_dict()}, key="upd-1", op="update"), first.refs)
    [shown] = fake.cards.values()
    assert shown["params"]["title"] == "✅ 已记录" and json.loads(shown["params"]["buttons"]) == []


async def test_a_recipient_outside_the_robots_reach_is_not_retried(channel: DingtalkChannel,
                                                                   fake: FakeDingtalk) -> None:
    fake.invalid_users.add("gone-1")
    with pytest.raises(Exception) as got:
        await channel.deliver(outbox("gone-1", {"text": "你好"}))
    assert not getattr(got.value, "retryable", True)


async def test_throttling_is_retried_from_the_outbox_without_loss(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    fake.fail("/v1.0/card/instances/createAndDeliver", 403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", times=3)
    fake.fail("/v1.0/robot/oToMessages/batchSend", 200, 90018, "qps", times=1)
    await dchat.say("张伟", "今天拜访了瑞丰机械张总，下周三再去")
    card = await dchat.should_send("张伟", card="动作记录待确认")
    assert len(fake.calls("/v1.0/card/instances/createAndDeliver")) == 4  # 3 throttled: the outbox retried
    assert len(await dchat.cards("张伟")) == 1
    dchat.fake._sessions.clear()  # the webhook is gone: the answer takes the OpenAPI, throttled once
    await dchat.say("张伟", "帮助")
    await dchat.should_send("张伟", text="我的必做")
    assert card.ref == (await dchat.cards("张伟"))[0].ref


async def test_replies_use_the_session_webhook_while_it_lives(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    await dchat.say("张伟", "帮助")
    told = await dchat.should_send("张伟", text="我的必做")
    assert told.raw.via == "sessionWebhook" and not fake.calls(BATCH)
    dchat.clock.set(dchat.clock.now() + timedelta(minutes=95))  # ~90 min later the webhook has expired
    channel = dchat.service.channels["dingtalk"]
    await channel.deliver(outbox(userid(dchat.person("张伟")), {"text": "提醒：今天还有必做未完成"}, key="late-1"))
    late = await dchat.should_send("张伟", text="提醒")
    assert late.raw.via == "batchSend"


async def test_concurrent_calls_fetch_one_token(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    import asyncio

    await asyncio.gather(*(channel.client.token() for _ in range(20)))
    assert channel.client.token_fetches == 1 and len(fake.calls("accessToken")) == 1


async def test_an_update_of_a_card_the_platform_no_longer_has_sends_a_fresh_one(channel: DingtalkChannel,
                                                                                fake: FakeDingtalk) -> None:
    card = Card(kind="warning", title="🟡 逾期提醒", card_id="Cw")
    delivery = await channel.deliver(outbox("u1", {"card": card.to_dict()}, key="w-1"))
    fake.cards.clear()  # e.g. the instance expired on the platform
    again = await channel.update_card(outbox("u1", {"card": card.to_dict()}, key="w-2", op="update"), delivery.refs)
    assert again.refs == {"out_track_id": out_track_id("w-2")} and list(fake.cards) == [out_track_id("w-2")]


async def test_without_a_card_template_cards_go_as_markdown(dt_cfg: Any, clock: FixedClock,
                                                            fake: FakeDingtalk) -> None:
    from bot.channels.dingtalk import credentials_from_env

    section = dt_cfg.channels.dingtalk.model_copy(update={"card_template_id": ""})
    ch = DingtalkChannel(section, credentials_from_env(section), clock)
    try:
        card = Card(kind="confirmation", title="📝 动作记录待确认", lines=["今天拜访了瑞丰机械"],
                    buttons=[Button("confirm", "确认")], card_id="Cm")
        delivery = await ch.deliver(outbox("u1", {"card": card.to_dict()}))
        assert delivery.refs == {} and not fake.cards
        [shown] = fake.shown
        assert shown.kind == "markdown" and "今天拜访了瑞丰机械" in shown.content
        done = Card(kind="confirmation", title="✅ 已记录", card_id="Cm")
        await ch.update_card(outbox("u1", {"card": done.to_dict()}, key="k-2", op="update"), delivery.refs)
        assert "已记录" in fake.shown[-1].content  # no card to update: the new state is sent again
    finally:
        await ch.close()


async def test_images_and_files_are_uploaded_once_and_sent(channel: DingtalkChannel, fake: FakeDingtalk,
                                                           tmp_path: Any) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    report = tmp_path / "周报.xlsx"
    report.write_bytes(b"PK\x03\x04" + bytes(100))
    image = outbox("u1", {"image": {"path": str(chart), "name": "chart.png"}}, key="img-1")
    await channel.deliver(image)
    await channel.deliver(image)  # a retry of the same row reuses the upload
    await channel.deliver(outbox("u1", {"file": {"path": str(report), "name": "周报.xlsx"}}, key="file-1"))
    assert [(s.kind, s.content) for s in fake.shown] == [("image", "chart.png"), ("image", "chart.png"),
                                                         ("file", "周报.xlsx")]
    assert [u[:2] for u in fake.uploads.values()] == [("image", "chart.png"), ("file", "周报.xlsx")]
    assert fake.calls("gettoken")  # the oapi host got its own token
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    with pytest.raises(Exception) as got:
        await channel.deliver(outbox("u1", {"file": {"path": str(odd), "name": "notes.txt"}}, key="file-2"))
    assert "xlsx" in str(got.value) and not getattr(got.value, "retryable", True)
