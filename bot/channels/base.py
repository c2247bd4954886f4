"""What every platform folder shares: the Channel interface, its registry spec, the callback pipeline.

Channels know protocols, not sales: inbound they verify and parse into an Event and hand it to
``intake``; outbound they deliver a stored outbox row and update a sent card. Each folder under
``bot/channels/`` exports one ``SPEC`` (see ``ChannelSpec``); the service and ``doctor`` loop over
them, so adding a platform touches no file outside its folder, its renderer and the config.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot import metrics
from bot.ratelimit import RateLimiter
from handlers.clock import Clock
from handlers.event import Event
from storage.db import Database
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from bot.config import Config
    from bot.guard import WebGuard

log = logging.getLogger("actionflow.channels")

Intake = Callable[[Event], Awaitable[bool]]  # True when new, False for a duplicate

# Why a callback was refused → the HTTP status every channel answers with. Nothing is stored for any of them.
Reason = Literal["replay", "size", "signature", "token", "corp_id", "app", "decrypt", "xml", "json", "malformed"]
STATUS: dict[str, int] = {
    "replay": 403, "signature": 403, "token": 403, "corp_id": 403, "app": 403, "decrypt": 403,
    "size": 413, "xml": 400, "json": 400, "malformed": 400,
}


class CallbackRefused(Exception):
    """A callback we will not act on; ``reason`` picks the HTTP status, the message is for logs only."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def status(self) -> int:
        return STATUS.get(self.reason, 400)


@dataclass
class Inbound:
    """What a verified callback carries: events to store (maybe none) and, optionally, the answer the
    platform expects (a challenge echo, a card-callback toast); an empty 200 otherwise."""

    events: list[Event] = field(default_factory=list)
    response: web.StreamResponse | None = None


async def read_capped(request: web.Request, cap: int) -> bytes:
    """The body, refused as soon as it passes ``cap`` (chunked bodies have no Content-Length)."""
    if request.content_length is not None and request.content_length > cap:
        raise CallbackRefused("size", f"Content-Length {request.content_length} over {cap}")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body += chunk
        if len(body) > cap:
            raise CallbackRefused("size", f"body over {cap} bytes")
    return bytes(body)


async def receive_callback(
    request: web.Request, *, platform: str, cap: int,
    verify: Callable[[web.Request, bytes], bytes | Awaitable[bytes]],
    parse: Callable[[web.Request, bytes], Inbound | Awaitable[Inbound]],
    intake: Intake,
) -> web.StreamResponse:
    """The one inbound path of every platform: cap the body → verify → parse → one inbox insert per event.

    ``verify`` checks time window and signature (and decrypts) and returns the trusted payload;
    ``parse`` turns it into an ``Inbound``. Either raises ``CallbackRefused``; then the answer is its
    status and nothing is stored. A duplicate gets the same answer as a new event: the platform must
    stop retrying either way.
    """
    t0 = time.perf_counter()
    try:
        body = await read_capped(request, cap)
        payload = verify(request, body)
        if not isinstance(payload, bytes):
            payload = await payload
        inbound = parse(request, payload)
        if not isinstance(inbound, Inbound):
            inbound = await inbound
    except CallbackRefused as exc:
        log.warning("callback refused", extra={"platform": platform, "reason": exc.reason, "detail": str(exc)[:200],
                                               "remote": request.remote or ""})
        metrics.REFUSED.labels(platform, exc.reason).inc()
        return web.Response(status=exc.status, text="refused" if exc.status == 403 else "malformed callback")
    for event in inbound.events:
        await intake(event)
    metrics.ACK_SECONDS.labels(platform).observe(time.perf_counter() - t0)
    return inbound.response or web.Response(status=200, text="")


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, cut at a newline when one is near, never inside a character."""
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        cut = len(rest.encode("utf-8")[:limit].decode("utf-8", "ignore"))
        newline = rest.rfind("\n", 0, cut)
        if newline >= cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def store_file(path: Path, content: bytes) -> None:
    """Write a downloaded file under a temporary name and move it into place: a crash never leaves half a
    file where a finished one is expected (run it in a thread: it blocks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(content)
    tmp.replace(path)


class TokenCache:
    """A platform access token, fetched single-flight (concurrent callers share one fetch: the platforms
    throttle apps that do not cache), kept until its refresh moment, and replaced early only when the
    platform refused that very token (``rejected``), so a stale refusal never discards a newer token."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self, rejected: str | None) -> str | None:
        ok = self._token is not None and self._token != rejected and self._now() < self._until
        return self._token if ok else None

    async def get(self, fetch: Callable[[], Awaitable[tuple[str, float]]], rejected: str | None = None) -> str:
        """``fetch`` returns (token, seconds to keep it)."""
        if (token := self._fresh(rejected)) is not None:
            return token
        async with self._lock:
            if (token := self._fresh(rejected)) is not None:
                return token
            token, keep_s = await fetch()
            self._token, self._until = token, self._now() + keep_s
            return token


class Pacer:
    """At most ``rate`` calls per ``window_s`` per API path, counted when the call leaves (close to when the
    platform counts it): a caller waits for its slot (never more than one window). The window is a little
    longer than the platform's second: our clock and the platform's do not tick together. A caller that
    reports ``done`` has its call counted from its answer instead, which is never before the platform saw
    it: a slow start (new connections) then cannot bunch a second's calls into the next one's."""

    def __init__(self, rate: int, window_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.window_s = window_s
        self._monotonic = monotonic
        self._sent: dict[str, list[float]] = defaultdict(list)

    async def slot(self, api: str) -> float:
        """Wait for a slot; returns its moment (for ``done``)."""
        while True:
            now = self._monotonic()
            sent = self._sent[api] = [t for t in self._sent[api] if t > now - self.window_s]
            if len(sent) < self.rate:
                sent.append(now)
                return now
            await asyncio.sleep(min(sent) + self.window_s - now)

    def done(self, api: str, slot: float) -> None:
        sent = self._sent[api]
        if slot in sent:
            sent[sent.index(slot)] = self._monotonic()


class VendorHttp:
    """One lazily opened aiohttp session per platform client, reopened if closed, shut with the channel."""

    _session: aiohttp.ClientSession | None = None
    _timeout: aiohttp.ClientTimeout

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@dataclass
class Delivery:
    message_id: str | None
    refs: dict[str, Any] = field(default_factory=dict)  # stored on the card for later updates


class ChannelError(Exception):
    """A failed platform call. ``retryable`` errors go back to the outbox with backoff."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(ABC):
    name: str
    limiter: RateLimiter

    def routes(self) -> list[web.RouteDef]:
        """HTTP endpoints this channel serves (callbacks, pages)."""
        return []

    async def start(self, intake: Intake) -> None:
        """Open long-lived connections (sessions, streams). ``intake`` stores an inbound Event."""
        self.intake = intake

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections."""

    async def prepare(self, event: Event) -> Event:
        """Slow per-event work after the ack and before dispatch (media download, contact sync)."""
        return event

    has_speech = False  # True when the platform's own speech-to-text is available and switched on

    async def transcribe(self, clips: list[bytes]) -> str | None:
        """The platform's speech-to-text for 16 kHz mono WAV pieces (see bot/speech.py); None: not here."""
        return None

    @abstractmethod
    async def deliver(self, msg: OutboxMessage) -> Delivery:
        """Send ``msg.body`` ({"text"} or {"card"}) to ``msg.recipient``; repeat-safe for one key."""

    def sends(self, msg: OutboxMessage) -> int:
        """How many platform messages delivering ``msg`` takes (a long text goes in pieces): the sender
        reserves that many slots of the rate budgets, which several processes share on PostgreSQL."""
        return 1

    @abstractmethod
    async def update_card(self, msg: OutboxMessage, refs: dict[str, Any]) -> Delivery:
        """Replace a sent card (refs as returned by ``deliver``) with ``msg.body["card"]``."""

    async def deliver_many(self, msgs: list[OutboxMessage]) -> list[Delivery | Exception]:
        """Several sends at once, each answered in order. A platform API takes one message per call, so
        the default sends one by one; a channel whose "platform" is our own database overrides it."""
        out: list[Delivery | Exception] = []
        for msg in msgs:
            try:
                out.append(await self.deliver(msg))
            except Exception as exc:
                out.append(exc)
        return out

    batch_sends = False  # True when deliver_many is cheaper than one deliver per message


@dataclass(frozen=True)
class ChannelDeps:
    """What the service hands a channel it builds: the whole config plus shared process objects."""

    cfg: Config
    db: Database
    clock: Clock
    guard: WebGuard | None = None  # the service's per-start Host/Origin/CSRF checks (browser-facing routes)

    @property
    def tz(self) -> ZoneInfo:
        return self.cfg.org.tz


Doctor = Callable[["Config"], Coroutine[Any, Any, tuple[bool, list[str]]]]


@dataclass(frozen=True)
class ChannelSpec:
    """One platform, as the registry knows it: exported as ``SPEC`` by ``bot/channels/<name>/__init__.py``.

    ``section`` is the key under ``channels:`` in the config; ``build`` makes the channel when that
    section is enabled; ``doctor`` checks its credentials against the platform for ``actionflow doctor``.
    ``label`` is the platform's Chinese name for people.
    """

    name: str
    label: str
    section: str
    build: Callable[[ChannelDeps], Channel]
    doctor: Doctor | None = None
