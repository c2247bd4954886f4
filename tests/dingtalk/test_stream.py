"""Stream mode against the fake gateway: ACK only after the inbox insert, redelivery and duplicates stored once,
reconnects (dropped socket, ``disconnect``, silence, a failing connections/open), and an event loop that
never stalls."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import func, select

from bot.channels.dingtalk import DingtalkChannel
from bot.channels.dingtalk.stream import StreamConnection
from handlers.dispatch import UNKNOWN_USER
from handlers.event import Event
from storage.models import ActionRecord, InboxEvent, OutboxMessage
from tests.conftest import eventually
from tests.dingtalk.chat import DingtalkChat
from tests.dingtalk.fake_server import BOT_TOPIC, FakeDingtalk
from tests.harness import userid

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def _count(chat: DingtalkChat, model: Any) -> int:
    """Rows of ``model``; for records only those made from a message (the demo org has history)."""
    q = select(func.count()).select_from(model)
    if model is ActionRecord:
        q = q.where(ActionRecord.source_event_id.is_not(None))  # type: ignore[union-attr]
    async with chat.service.db.session() as s:
        return int((await s.execute(q)).scalar_one())


def _rep(chat: DingtalkChat) -> str:
    return userid(chat.person("张伟"))


async def test_the_ack_comes_only_after_the_insert_returns(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    stored: list[Event] = []
    release = asyncio.Event()

    async def slow_intake(event: Event) -> bool:
        await release.wait()  # the inbox insert, held up
        stored.append(event)
        return True

    await channel.start(slow_intake)
    frame = fake.frame(BOT_TOPIC, fake.message("u1", "msgA1", text=TEXT))
    assert await fake.push(frame, within=0.5) is None  # nothing stored yet, so no ACK
    assert not stored and not fake.acks
    release.set()
    await eventually(lambda: _true(fake.acks.get(frame["headers"]["messageId"])))
    assert [e.event_id for e in stored] == ["msg:msgA1"]
    [ack] = fake.acks[frame["headers"]["messageId"]]
    assert ack["code"] == 200 and json.loads(ack["data"]) == {"response": None}


async def test_a_failed_insert_sends_no_ack_and_the_redelivery_is_stored(channel: DingtalkChannel,
                                                                         fake: FakeDingtalk) -> None:
    calls: list[str] = []

    async def flaky_intake(event: Event) -> bool:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise OSError("database is locked")  # the insert failed: the platform must deliver it again
        return True

    await channel.start(flaky_intake)
    frame = fake.frame(BOT_TOPIC, fake.message("u1", "msgB1", text=TEXT))
    assert await fake.push(frame, within=0.5) is None
    ack = await fake.push(frame)  # the gateway's redelivery: same messageId
    assert ack is not None and ack["code"] == 200 and calls == ["msg:msgB1", "msg:msgB1"]


async def test_socket_lost_before_the_ack_is_redelivered_and_stored_once(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    frame = fake.frame(BOT_TOPIC, fake.message(_rep(dchat), "msgC1", text=TEXT))
    await fake.push(frame, drop_before_ack=True)  # the socket dies with the frame in flight
    await fake.wait_connected(2)  # our client reconnected by itself
    ack = await fake.push(frame)  # no ACK was seen, so the gateway delivers it again
    assert ack is not None and ack["code"] == 200
    await dchat.settle()
    assert await _count(dchat, InboxEvent) == 1 and await _count(dchat, ActionRecord) == 1
    assert len(await dchat.cards("张伟", "动作记录待确认")) == 1  # one reply


async def test_a_duplicate_msg_id_makes_one_record(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    data = fake.message(_rep(dchat), "msgD1", text=TEXT)
    for _ in range(3):  # re-pushed ~60 s later under new frame ids, same msgId
        ack = await fake.push(fake.frame(BOT_TOPIC, data))
        assert ack is not None and ack["code"] == 200  # a duplicate is ACKed too, or it comes back forever
    await dchat.settle()
    assert await _count(dchat, ActionRecord) == 1 and len(await dchat.cards("张伟")) == 1


async def test_reconnects_after_the_gateway_drops_the_socket_and_on_disconnect(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    await fake.drop()
    await fake.wait_connected(2)
    await dchat.say("张伟", TEXT)
    await dchat.should_send("张伟", card="动作记录待确认")
    ping = fake.frame("ping", {"opaque": "abc-123"}, kind="SYSTEM")
    ack = await fake.push(ping)
    assert ack is not None and json.loads(ack["data"]) == {"opaque": "abc-123"}  # the echo the gateway expects
    await fake.push(fake.frame("disconnect", {"reason": "connection is expired"}, kind="SYSTEM"))
    await fake.wait_connected(3)
    assert len(fake.opens) == 3 and all(o["subscriptions"] == fake.opens[0]["subscriptions"] for o in fake.opens)
    await dchat.say("李娜", "刚给恒远化工王总打了电话")
    await dchat.should_send("李娜", card="动作记录待确认")


async def test_a_silent_socket_is_replaced_and_a_failing_open_is_retried(channel: DingtalkChannel,
                                                                         fake: FakeDingtalk) -> None:
    fake.fail("/v1.0/gateway/connections/open", 500, "ServiceUnavailable", times=2)
    stream = StreamConnection(channel.client, {BOT_TOPIC: _never}, silent_s=0.3, base_backoff_s=0.02,
                              max_backoff_s=0.1)
    stream.start()
    try:
        await fake.wait_connected(1)
        assert stream.failures >= 2  # the two refused opens, retried with backoff
        await fake.wait_connected(2)  # no frame for 0.3 s: presumed dead, replaced
    finally:
        await stream.stop()
    assert not stream.alive()


async def _never(_msg: Any) -> None:
    raise AssertionError("no frame expected")


async def _true(v: Any) -> Any:
    return v


async def test_the_stream_never_stalls_the_event_loop(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    """Connecting, 300 frames and a reconnect while a ticker measures the loop's longest pause."""
    gaps: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    got: list[str] = []

    async def intake(event: Event) -> bool:
        got.append(event.event_id)
        return True

    tick = asyncio.create_task(ticker())
    fake.open_delay_s = 1.5  # a slow gateway: our open is awaited, not blocking (a blocking one would stall 1.5 s)
    await channel.start(intake)
    await fake.wait_connected()
    acks = await asyncio.gather(*(fake.push(fake.frame(BOT_TOPIC, fake.message("u1", f"msgE{n}", text="你好")))
                                  for n in range(300)))
    await fake.drop()
    await fake.wait_connected(2)
    stop.set()
    await tick
    assert all(a is not None and a["code"] == 200 for a in acks) and len(set(got)) == 300
    assert max(gaps) < 0.75, f"the loop stalled for {max(gaps):.3f} s"


async def test_an_unknown_sender_is_answered_politely_and_nothing_is_recorded(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    before = await _count(dchat, ActionRecord)
    ack = await fake.push(fake.frame(BOT_TOPIC, fake.message("stranger-9", "msgF1", text=TEXT, nick="路人")))
    assert ack is not None and ack["code"] == 200
    await dchat.settle()
    [told] = [s for s in fake.shown if s.to == "stranger-9"]
    assert told.content == UNKNOWN_USER and told.via == "sessionWebhook"
    assert await _count(dchat, ActionRecord) == before and not fake.cards


async def test_a_group_mention_is_the_senders_message(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    await fake.push(fake.frame(BOT_TOPIC, fake.message(_rep(dchat), "msgG1", text=TEXT, group=True)))
    card = await dchat.should_send("张伟", card="动作记录待确认")  # answered in the 1:1 chat with the robot
    assert "瑞丰" in card.text
    async with dchat.service.db.session() as s:
        row = (await s.execute(select(InboxEvent))).scalar_one()
    assert row.payload["extra"]["conversation_type"] == "group" and row.payload["text"] == TEXT


async def test_a_send_only_process_holds_no_connection(dt_cfg: Any, clock: Any, fake: FakeDingtalk) -> None:
    from bot.channels.dingtalk import credentials_from_env

    section = dt_cfg.channels.dingtalk.model_copy(update={"stream": False})
    ch = DingtalkChannel(section, credentials_from_env(section), clock)

    async def intake(_event: Event) -> bool:
        return True

    await ch.start(intake)
    await asyncio.sleep(0.2)
    assert not fake.opens and not ch.stream.alive()  # a second node that only sends never steals a push
    await ch.deliver(OutboxMessage(platform="dingtalk", recipient="u1", body={"text": "你好"}, idempotency_key="k"))
    assert [s.content for s in fake.shown] == ["你好"]
    await ch.close()


async def test_malformed_frames_are_acked_as_such_and_store_nothing(channel: DingtalkChannel,
                                                                    fake: FakeDingtalk) -> None:
    stored: list[Event] = []

    async def intake(event: Event) -> bool:
        stored.append(event)
        return True

    await channel.start(intake)
    bad = fake.frame(BOT_TOPIC, {})
    bad["data"] = {"msgId": "x"}  # an object, not a JSON string: the SDK's parser refuses it
    ack = await fake.push(bad)
    assert ack is not None and ack["code"] == 400
    other = fake.frame("/v1.0/graph/api/invoke", {"a": 1})
    fake._conns[-1][1].add("/v1.0/graph/api/invoke")  # pretend we had subscribed
    ack = await fake.push(other)
    assert ack is not None and ack["code"] == 404  # a topic we do not handle: said so, not retried forever
    assert not stored
