"""Cross-checks against the official dingtalk-stream SDK (0.24.3): its real client connects to our fake gateway
and answers its frames (so the fake speaks the platform's protocol), and our ACKs are shaped like its ACKs.

The SDK's client makes blocking ``requests`` calls inside its event loop, so it runs in a thread with a loop
of its own, as protocols/dingtalk.md §3 prescribes; the fake stays in the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
from typing import Any

import pytest
import websockets.exceptions  # noqa: F401  (SDK 0.24.3 bug: its except clause needs the module loaded)
from dingtalk_stream import Credential, DingTalkStreamClient
from dingtalk_stream.chatbot import ChatbotMessage
from dingtalk_stream.frames import AckMessage, CallbackMessage, SystemMessage
from dingtalk_stream.handlers import CallbackHandler, SystemHandler

from bot.channels.dingtalk.stream import ack
from tests.dingtalk.fake_server import BOT_TOPIC, CARD_TOPIC, FakeDingtalk, ack_problems


class Recorder(CallbackHandler):  # type: ignore[misc]
    def __init__(self, got: queue.Queue[dict[str, Any]], answer: Any) -> None:
        super().__init__()
        self.got, self.answer = got, answer

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        self.got.put(message.data)
        return AckMessage.STATUS_OK, self.answer


async def test_the_sdk_client_connects_to_the_fake_and_acks_its_frames(
        fake_and_base: tuple[FakeDingtalk, str], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, base = fake_and_base
    monkeypatch.setattr(DingTalkStreamClient, "OPEN_CONNECTION_API", f"{base}/v1.0/gateway/connections/open")
    client = DingTalkStreamClient(Credential(fake.client_id, fake.client_secret))
    messages: queue.Queue[dict[str, Any]] = queue.Queue()
    presses: queue.Queue[dict[str, Any]] = queue.Queue()
    client.register_callback_handler(ChatbotMessage.TOPIC, Recorder(messages, "OK"))
    client.register_callback_handler(CallbackHandler.TOPIC_CARD_CALLBACK, Recorder(presses, {}))
    stop = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(client.start())
            await asyncio.to_thread(stop.wait)
            for _ in range(2):  # 0.24.3 swallows the first cancel (it sleeps 10 s and reconnects)
                task.cancel()
                await asyncio.sleep(0.05)
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        await fake.wait_connected()
        [opened] = fake.opens
        assert {"type": "CALLBACK", "topic": BOT_TOPIC} in opened["subscriptions"]
        data = fake.message("u1", "msgSdk1", text="今天拜访了瑞丰机械张总")
        got = await fake.push(fake.frame(BOT_TOPIC, data))
        assert got is not None and not ack_problems(got) and got["code"] == 200
        parsed = ChatbotMessage.from_dict(await asyncio.to_thread(messages.get, True, 5))
        assert parsed.text.content == "今天拜访了瑞丰机械张总" and parsed.sender_staff_id == "u1"
        press = await fake.push(fake.frame(CARD_TOPIC, fake.press("u1", "af-1", "Cid|confirm")))
        assert press is not None and json.loads(press["data"]) == {"response": {}}
        assert (await asyncio.to_thread(presses.get, True, 5))["outTrackId"] == "af-1"
        ping = await fake.push(fake.frame("ping", {"opaque": "o-1"}, kind="SYSTEM"))
        assert ping is not None and json.loads(ping["data"]) == {"opaque": "o-1"}
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 5)


async def test_our_acks_are_the_sdks_acks() -> None:
    fake = FakeDingtalk()
    frame = fake.frame(BOT_TOPIC, fake.message("u1", "msgAck1", text="你好"), message_id="mid-1")
    msg = CallbackMessage.from_dict(frame)
    for response in (None, {}, {"cardUpdateOptions": {"updateCardDataByKey": True}}):
        sdk = (await Recorder(queue.Queue(), response).raw_process(msg)).to_dict()
        ours = ack(msg.headers.message_id, data={"response": response})
        assert {k: v for k, v in ours.items() if k != "message"} == {k: v for k, v in sdk.items() if k != "message"}
        assert not ack_problems(ours)
    ping = SystemMessage.from_dict(fake.frame("ping", {"opaque": "x"}, kind="SYSTEM", message_id="mid-2"))
    sdk_ping = (await SystemHandler().raw_process(ping)).to_dict()
    assert ack(ping.headers.message_id, data=ping.data) == sdk_ping
