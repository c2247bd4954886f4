"""Outbound: token cache and single flight, errcode handling, pacing, text splitting, media, OAuth, groups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.base import ChannelError, split_utf8
from bot.channels.wecom import WecomChannel
from bot.channels.wecom import client as client_mod
from bot.channels.wecom.channel import TEXT_MAX_BYTES
from bot.channels.wecom.client import WecomError
from bot.channels.wecom.oauth import authorize_url, userid_from_code
from bot.service import Service
from cards.model import Button, Card, Fact
from handlers.event import Event, EventKind, Media
from storage import outbox
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import eventually
from tests.wecom.conftest import REP_USERID
from tests.wecom.fake_server import AMR, FakeWecom


def msg(body: dict[str, Any], key: str = "k1", recipient: str = REP_USERID) -> Any:
    return SimpleNamespace(body=body, recipient=recipient, idempotency_key=key, card_id=None)


async def test_concurrent_sends_fetch_one_token(channel: WecomChannel, fake: FakeWecom) -> None:
    fake.token_delay_s = 0.05
    await asyncio.gather(*(channel.deliver(msg({"text": f"第{i}条"}, key=f"k{i}")) for i in range(20)))
    assert len(fake.calls("gettoken")) == 1 and len(fake.delivered) == 20


@pytest.mark.parametrize("code", [40014, 42001])
async def test_rejected_token_is_refetched_once(channel: WecomChannel, fake: FakeWecom, code: int) -> None:
    await channel.deliver(msg({"text": "一"}, key="a"))
    fake.fail("message/send", code)
    await channel.deliver(msg({"text": "二"}, key="b"))
    assert len(fake.calls("gettoken")) == 2 and len(fake.delivered) == 2
    fake.fail("message/send", code, code)  # twice in a row: give up after one refetch (no loop)
    with pytest.raises(WecomError) as exc:
        await channel.deliver(msg({"text": "三"}, key="c"))
    assert exc.value.errcode == code and len(fake.calls("gettoken")) == 3


async def test_expired_tokens_refresh_under_concurrency(channel: WecomChannel, fake: FakeWecom) -> None:
    await channel.deliver(msg({"text": "warm"}, key="w"))
    fake.expire_tokens()
    await asyncio.gather(*(channel.deliver(msg({"text": f"x{i}"}, key=f"x{i}")) for i in range(10)))
    assert len(fake.calls("gettoken")) == 2 and len(fake.delivered) == 11


async def test_error_mapping(channel: WecomChannel, fake: FakeWecom) -> None:
    expectations = {45009: (True, 60.0), 45033: (True, 5.0), -1: (True, 2.0), 60020: (False, None),
                    81013: (False, None), 40001: (False, None)}
    for code, (retryable, after) in expectations.items():
        fake.fail("message/send", code)
        with pytest.raises(ChannelError) as exc:
            await channel.deliver(msg({"text": "hi"}, key=f"e{code}"))
        assert (exc.value.retryable, exc.value.retry_after) == (retryable, after), code
    fake.fail("message/send", 60020)
    with pytest.raises(ChannelError) as exc:
        await channel.deliver(msg({"text": "hi"}, key="ip"))
    assert "企业可信IP" in str(exc.value) and "203.0.113.7" in str(exc.value)
    fake.invalid_users.add("ghost")
    with pytest.raises(ChannelError) as exc:
        await channel.deliver(msg({"text": "hi"}, key="ghost", recipient="ghost"))
    assert "invalid user" in str(exc.value) and not exc.value.retryable


async def test_bad_secret_gets_a_clear_verdict(channel: WecomChannel, fake: FakeWecom) -> None:
    fake.secret = "another"
    with pytest.raises(WecomError) as exc:
        await channel.client.token()
    assert exc.value.errcode == 40001 and "secret" in str(exc.value) and fake.corp_id not in str(exc.value)


async def test_duplicate_check_drops_a_retried_send(channel: WecomChannel, fake: FakeWecom) -> None:
    card = Card(kind="confirmation", title="待确认", buttons=[Button("confirm", "确认", "primary")], card_id="cid1")
    first = await channel.deliver(msg({"card": card.to_dict()}, key="same"))
    again = await channel.deliver(msg({"card": card.to_dict()}, key="same"))  # a retry after a lost answer
    assert len(fake.delivered) == 1 and first.refs["task_id"] == again.refs["task_id"]
    other = await channel.deliver(msg({"card": card.to_dict()}, key="other-row"))
    assert len(fake.delivered) == 2 and other.refs["task_id"] != first.refs["task_id"]


def test_split_utf8_on_character_boundaries() -> None:
    text = "拜访瑞丰机械。" * 400 + "\n" + "a" * 3000
    pieces = split_utf8(text, TEXT_MAX_BYTES)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 2048 for p in pieces) and len(pieces) >= 4
    assert split_utf8("短", TEXT_MAX_BYTES) == ["短"] and split_utf8("", TEXT_MAX_BYTES) == [""]
    lines = "\n".join(f"第{i}行，客户跟进记录" for i in range(300))
    assert all(p.endswith("\n") for p in split_utf8(lines, TEXT_MAX_BYTES)[:-1])  # cut at line ends when possible


async def test_long_text_is_split(channel: WecomChannel, fake: FakeWecom) -> None:
    await channel.deliver(msg({"text": "长" * 2000}))
    contents = [b["text"]["content"] for b in fake.delivered]
    assert len(contents) == 3 and all(len(c.encode()) <= 2048 for c in contents)
    assert [c[:6] for c in contents] == ["(1/3) ", "(2/3) ", "(3/3) "]
    assert "".join(c[6:] for c in contents) == "长" * 2000


async def test_45009_is_retried_from_the_outbox(wservice: Service, wclient: Any, fake: FakeWecom,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(client_mod.RETRY_AFTER, 45009, 0.2)
    fake.fail("message/send", 45009)
    async with wservice.db.write() as s:
        await outbox.enqueue(s, key="t45009", platform="wecom", recipient=REP_USERID, body={"text": "稍后送达"},
                             now=datetime.now(UTC))
    wservice.sender.wake()

    async def sent() -> OutboxMessage | None:
        async with wservice.db.session() as s:
            row = (await s.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == "t45009"))).scalar_one()
        return row if row.status == OutboxStatus.sent else None

    row = await eventually(sent)
    assert row.attempts == 2 and [b["text"]["content"] for b in fake.delivered] == ["稍后送达"]


async def test_per_member_pacing(wservice: Service, wclient: Any, fake: FakeWecom) -> None:
    async with wservice.db.write() as s:
        for i in range(33):
            await outbox.enqueue(s, key=f"pace{i}", platform="wecom", recipient=REP_USERID, body={"text": f"#{i}"},
                                 now=datetime.now(UTC))
        await outbox.enqueue(s, key="other", platform="wecom", recipient="lina", body={"text": "别人"},
                             now=datetime.now(UTC))
    wservice.sender.wake()
    await eventually(lambda: _true(len(fake.delivered) >= 31))

    async def held_back() -> bool:  # the sender has decided about the rest: pushed past the minute window
        async with wservice.db.session() as s:
            rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending))).scalars()
            return [(w.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() > 30 for w in rows] \
                == [True] * 3

    await eventually(held_back)
    to_rep = [b["text"]["content"] for b in fake.delivered if b["touser"] == REP_USERID]
    assert to_rep == [f"#{i}" for i in range(30)]  # 30/min to one member, in order; the rest waits
    assert [b["touser"] for b in fake.delivered].count("lina") == 1  # other members are not held up
    async with wservice.db.session() as s:
        waiting = (await s.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending))).scalars().all()
    assert len(waiting) == 3
    assert all((w.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() > 30 for w in waiting)


async def test_a_long_text_spends_a_slot_per_piece(wservice: Service, wclient: Any, fake: FakeWecom) -> None:
    """28 short texts, then one of 3 pieces: 31 > 30 per minute, so it waits for the window, and the short
    text behind it (which would fit) waits with it: a member reads them in the order they were written."""
    async with wservice.db.write() as s:
        for i, text in enumerate([f"#{i}" for i in range(28)] + ["长" * 2000, "之后"]):
            await outbox.enqueue(s, key=f"piece{i}", platform="wecom", recipient=REP_USERID, body={"text": text},
                                 now=datetime.now(UTC))
    wservice.sender.wake()

    async def held_back() -> bool:
        async with wservice.db.session() as s:
            rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending))).scalars()
            return [(w.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() > 30 for w in rows] \
                == [True] * 2

    await eventually(held_back)
    await eventually(lambda: _true(len(fake.delivered) >= 28))
    assert [b["text"]["content"] for b in fake.delivered] == [f"#{i}" for i in range(28)]


async def _true(v: bool) -> bool:
    return v


def test_hour_budget() -> None:
    from bot.ratelimit import RateLimiter

    limiter = RateLimiter([(30, 60.0), (1000, 3600.0)])
    t = 0.0
    sent = 0
    while t < 3600:
        if limiter.reserve("u", t) == 0:
            sent += 1
        t += 1.0
    assert sent == 1000


async def test_media_download_and_upload(channel: WecomChannel, fake: FakeWecom, tmp_path: Any) -> None:
    fake.add_media("m1", AMR, "audio/amr", "1.amr")
    ev = Event(platform="wecom", event_id="msg:1", kind=EventKind.voice, sender=REP_USERID,
               sent_at=datetime.now(UTC), media=Media(ref="m1", name="voice.amr"))
    got = await channel.prepare(ev)
    assert got.media is not None and got.media.path and got.media.mime == "audio/amr"
    with open(got.media.path, "rb") as f:
        assert f.read() == AMR
    missing = await channel.prepare(ev.model_copy(update={"media": Media(ref="nope")}))
    assert missing.media is not None and missing.media.path is None and "40007" in missing.extra["download_error"]
    media_id = await channel.client.media_upload("image", "chart.png", b"\x89PNG" + b"0" * 100, "image/png")
    assert media_id.startswith("media-") and fake.uploads[0][:2] == ("image", "chart.png")


async def test_recall_and_update_fallback(channel: WecomChannel, fake: FakeWecom) -> None:
    card = Card(kind="must_do", title="今日3件必做", facts=[Fact("1", "拜访瑞丰")],
                buttons=[Button("done:1", "完成")], card_id="cid9")
    d = await channel.deliver(msg({"card": card.to_dict()}, key="m1"))
    assert d.refs["reply_token"].startswith("rc-send-")
    done = Card(kind="must_do", title="今日3件必做 ✅", card_id="cid9")
    u = await channel.update_card(msg({"card": done.to_dict()}, key="upd:cid9:v2"), d.refs)
    assert fake.updates[0]["response_code"] == d.refs["reply_token"] and u.refs["reply_token"] is None
    u2 = await channel.update_card(msg({"card": done.to_dict()}, key="upd:cid9:v3"), {**d.refs, **u.refs})
    assert u2.refs["msgid"] and len(fake.delivered) == 2  # no code left: a fresh card
    await channel.recall(str(d.message_id))
    assert fake.recalled == [d.message_id]


async def test_oauth(channel: WecomChannel, fake: FakeWecom) -> None:
    url = authorize_url(fake.corp_id, fake.agent_id, "https://bot.example.com/store?t=1", "abc123")
    assert url.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=" + fake.corp_id)
    assert "redirect_uri=https%3A%2F%2Fbot.example.com%2Fstore%3Ft%3D1" in url and url.endswith("#wechat_redirect")
    assert f"agentid={fake.agent_id}" in url and "scope=snsapi_base" in url
    with pytest.raises(ValueError):
        authorize_url(fake.corp_id, fake.agent_id, "https://x", "bad state!")
    fake.add_oauth_code("CODE1", "zhangwei")
    assert await userid_from_code(channel.client, "CODE1") == "zhangwei"
    with pytest.raises(WecomError):
        await userid_from_code(channel.client, "CODE1")  # single use


async def test_group_pushes(channel: WecomChannel, fake: FakeWecom) -> None:
    digest = Card(kind="digest", title="📊 今日团队简报", color="red", facts=[Fact("必做完成", "12/18")])
    await channel.deliver(msg({"card": digest.to_dict()}, recipient="@appchat"))
    assert fake.appchat[0]["chatid"] == "chat-team-1" and fake.appchat[0]["msgtype"] == "markdown"
    assert "今日团队简报" in fake.appchat[0]["markdown"]["content"]
    for i in range(20):
        await channel.deliver(msg({"text": f"告警{i}"}, key=f"r{i}", recipient="@robot"))
    with pytest.raises(ChannelError) as exc:
        await channel.deliver(msg({"text": "第21条"}, key="r21", recipient="@robot"))
    assert exc.value.retryable and exc.value.retry_after and len(fake.webhook) == 20
    assert fake.webhook[0]["key"] == "robot-key-1"


async def test_image_is_uploaded_once_and_sent(channel: WecomChannel, fake: FakeWecom, tmp_path: Any) -> None:
    chart = tmp_path / "digest.png"
    chart.write_bytes(b"\x89PNG" + b"1" * 200)
    body = {"image": {"path": str(chart), "name": "今日简报.png"}}
    await channel.deliver(msg(body, key="img1"))
    await channel.deliver(msg(body, key="img1"))  # a retry: same media_id, identical request, dropped
    assert len(fake.uploads) == 1 and fake.uploads[0][1] == "今日简报.png"
    [sent] = fake.delivered
    assert sent["msgtype"] == "image" and sent["image"]["media_id"].startswith("media-")
