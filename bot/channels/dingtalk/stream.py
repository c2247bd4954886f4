"""DingTalk Stream mode: register a connection, hold the WebSocket, route frames, ACK each one.

Frames are parsed and ACKs built with the dingtalk-stream SDK's own classes (``CallbackMessage``,
``SystemMessage``, ``AckMessage``), so the wire format is the SDK's. Its connection loop is not used:
in 0.24.3 ``open_connection`` is a blocking ``requests.post`` without a timeout made inside the event
loop (a half-open TCP connection freezes every coroutine, SDK issue #81), a single ``cancel()`` does not
stop ``start()``, and an early error kills it with ``AttributeError: … 'exceptions'``. So the loop is
ours, on aiohttp (the pattern LangBot and SDK 0.24.4b1 moved to):
- ``connections/open`` through our client (timeout), then ``ws_connect(endpoint?ticket=…)``;
- every frame runs in its own task (at most ``max_in_flight`` at once, references kept); a callback
  is ACKed on the socket it came from **only after its handler returned**, i.e. after the inbox insert:
  a handler that raises sends no ACK, so the gateway delivers the frame again and the inbox dedupes it;
- SYSTEM ``ping`` is answered by echoing its data; ``disconnect`` closes the socket and reconnects;
- no frame for ``silent_s`` (the gateway pings every few tens of seconds) → the socket is presumed dead
  (laptop sleep, silent TCP drop) and replaced;
- reconnects back off exponentially with jitter up to ``max_backoff_s``; a connection that carried
  frames resets the backoff, so a routine ``disconnect`` reconnects at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from dingtalk_stream.frames import AckMessage, CallbackMessage, Headers, SystemMessage
from dingtalk_stream.version import VERSION_STRING

from bot.channels.dingtalk.client import DingtalkClient

log = logging.getLogger("actionflow.dingtalk")

Handler = Callable[[CallbackMessage], Awaitable[Any]]  # returns the ACK's "response"
UA = f"actionflow dingtalk-sdk-python/v{VERSION_STRING}-union"
MAX_FRAME_BYTES = 1 << 20


def ack(message_id: str | None, *, code: int = AckMessage.STATUS_OK, message: str = "OK",
        data: Any = None) -> dict[str, Any]:
    """An ACK frame exactly as the SDK builds one (``AckMessage.to_dict``: ``data`` JSON-encoded)."""
    a = AckMessage()
    a.code = code
    a.headers.message_id = message_id
    a.headers.content_type = Headers.CONTENT_TYPE_APPLICATION_JSON
    a.message = message
    a.data = data if data is not None else {}
    return a.to_dict()


class StreamConnection:
    """One Stream connection kept alive in a task of our loop; ``handlers`` by CALLBACK topic."""

    def __init__(self, client: DingtalkClient, handlers: dict[str, Handler], *, max_backoff_s: float = 60.0,
                 silent_s: float = 90.0, base_backoff_s: float = 1.0, max_in_flight: int = 100) -> None:
        self.client = client
        self.handlers = handlers
        self.max_backoff_s = max_backoff_s
        self.base_backoff_s = base_backoff_s
        self.silent_s = silent_s
        self._slots = asyncio.Semaphore(max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._frames: set[asyncio.Task[None]] = set()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.failures = 0

    @property
    def subscriptions(self) -> list[dict[str, str]]:
        return [{"type": CallbackMessage.TYPE, "topic": topic} for topic in self.handlers]

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="dingtalk-stream")

    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Close the socket, then cancel the loop and wait for it (and the frames in hand) to end."""
        task, self._task = self._task, None
        if self._ws is not None:
            await self._ws.close()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for t in list(self._frames):
            t.cancel()
        await asyncio.gather(*self._frames, return_exceptions=True)

    async def drop(self) -> None:
        """Close the current socket (the loop reconnects): what a ``disconnect`` frame or a dead socket does."""
        if self._ws is not None:
            await self._ws.close()

    def _delay(self, attempt: int) -> float:
        if attempt == 0:
            return 0.0
        return min(self.base_backoff_s * 2 ** min(attempt - 1, 16) + random.uniform(0, self.base_backoff_s),
                   self.max_backoff_s)

    async def run(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self._delay(attempt))
            attempt += 1
            try:
                endpoint, ticket = await self.client.open_connection(self.subscriptions, UA)
                async with self.client.session.ws_connect(f"{endpoint}?ticket={quote_plus(ticket)}",
                                                          max_msg_size=MAX_FRAME_BYTES, autoping=True) as ws:
                    self._ws = ws
                    self.connects += 1
                    self.connected.set()
                    log.info("dingtalk stream connected", extra={"platform": "dingtalk", "connects": self.connects})
                    while True:
                        msg = await ws.receive(timeout=self.silent_s)
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            attempt = 0
                            self._spawn(ws, msg.data)
                        elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                          aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                            break
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                self.failures += 1
                log.warning("dingtalk stream silent, reconnecting", extra={"platform": "dingtalk"})
            except Exception as exc:
                self.failures += 1
                log.warning("dingtalk stream connection failed", extra={"platform": "dingtalk",
                                                                        "error": f"{type(exc).__name__}: {exc}"[:300]})
            finally:
                self._ws = None
                self.connected.clear()

    def _spawn(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> None:
        task = asyncio.create_task(self._frame(ws, raw))
        self._frames.add(task)
        task.add_done_callback(self._frames.discard)

    async def _frame(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> None:
        async with self._slots:
            try:
                frame = json.loads(raw)
                kind = frame.get("type") if isinstance(frame, dict) else None
            except ValueError:
                log.warning("dingtalk frame is not JSON", extra={"platform": "dingtalk"})
                return
            try:
                if kind == SystemMessage.TYPE:
                    await self._system(ws, SystemMessage.from_dict(frame))
                elif kind == CallbackMessage.TYPE:
                    await self._callback(ws, frame)
                else:  # EVENT (none subscribed) or unknown: say we do not handle it, so it is not retried forever
                    raw_headers = frame.get("headers")
                    headers: dict[str, Any] = raw_headers if isinstance(raw_headers, dict) else {}
                    await self._send(ws, ack(headers.get("messageId"), code=AckMessage.STATUS_NOT_IMPLEMENT,
                                             message="not implemented", data={"status": "SUCCESS"}))
            except Exception as exc:  # no ACK: the gateway will deliver it again
                log.warning("dingtalk frame not handled", extra={"platform": "dingtalk",
                                                                 "error": f"{type(exc).__name__}: {exc}"[:300]})

    async def _system(self, ws: aiohttp.ClientWebSocketResponse, msg: SystemMessage) -> None:
        await self._send(ws, ack(msg.headers.message_id, data=msg.data))  # ping: echo the opaque data
        if msg.headers.topic == SystemMessage.TOPIC_DISCONNECT:
            log.info("dingtalk gateway asked to reconnect", extra={"platform": "dingtalk"})
            await ws.close()

    async def _callback(self, ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        try:
            msg = CallbackMessage.from_dict(frame)
        except (TypeError, ValueError):  # data not a JSON string: never deliverable, so stop the retries
            raw = frame.get("headers")
            headers: dict[str, Any] = raw if isinstance(raw, dict) else {}
            await self._send(ws, ack(headers.get("messageId"), code=AckMessage.STATUS_BAD_REQUEST,
                                     message="malformed data"))
            return
        handler = self.handlers.get(msg.headers.topic or "")
        if handler is None:
            await self._send(ws, ack(msg.headers.message_id, code=AckMessage.STATUS_NOT_IMPLEMENT,
                                     message="topic not supported"))
            return
        response = await handler(msg)  # the inbox insert; raising here means no ACK
        await self._send(ws, ack(msg.headers.message_id, data={"response": response}))

    @staticmethod
    async def _send(ws: aiohttp.ClientWebSocketResponse, frame: dict[str, Any]) -> None:
        if ws.closed:
            raise ConnectionError("socket closed before the ACK")
        await ws.send_str(json.dumps(frame, ensure_ascii=False))
