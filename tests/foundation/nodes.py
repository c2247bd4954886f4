"""Real bot processes for the crash, redelivery and multi-node tests: `actionflow serve` children on one
database (a SQLite file or a PostgreSQL database), a fake platform API on 127.0.0.1 they send to (WeCom,
Feishu, or DingTalk in robot HTTP mode), and a "platform" that delivers signed callbacks and redelivers every
one not acknowledged, as they do (WeCom retries unanswered callbacks; Feishu redelivers an event until it gets
a 200)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.channels.dingtalk.crypto import sign as dingtalk_sign
from tests.conftest import make_config
from tests.dingtalk.fake_server import FakeDingtalk
from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN
from tests.feishu.fake_server import Callbacks as FeishuCallbacks
from tests.feishu.fake_server import FakeFeishu
from tests.harness import link_everyone
from tests.wecom.conftest import AES_KEY, TOKEN
from tests.wecom.fake_server import Callbacks, FakeWecom

ROOT = Path(__file__).resolve().parents[2]
TEXT = "今天拜访了瑞丰机械张总，下周三再去"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            **(extra or {})}


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=child_env(env), capture_output=True, text=True,
                          timeout=120)


def sqlite_query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read a SQLite file synchronously (the CLI tests, which have no event loop)."""
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        rows = [tuple(r) for r in c.execute(text(sql))]
    eng.dispose()
    return rows


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Read the database the children write (its own short-lived engine, as another process would)."""
    eng = create_async_engine(url)
    try:
        async with eng.connect() as c:
            return [tuple(r) for r in await c.execute(text(sql))]
    finally:
        await eng.dispose()


@dataclass
class Site:
    """A folder with config.yaml and a seeded demo org, on ``url``'s database."""

    dir: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    async def create(cls, tmp: Path, url: str, wecom: FakeWecom | None = None, wecom_base: str = "",
                     platform: Platform | None = None) -> Site:
        """The emulator's demo deployment; with ``platform`` (or ``wecom``) in front, that platform only."""
        if wecom is not None:
            platform = WecomPlatform(wecom, wecom_base)
        cfg: dict[str, Any] = {
            "database": {"url": url},
            "channels": {"local": {"media_dir": str(tmp / "media")}},
            "outbox": {"lease_s": 1.0, "poll_interval_s": 0.1},
            "inbox": {"sweep_every_s": 1.0, "stranded_after_s": 3.0},
            "logging": {"level": "WARNING"},
            "schedule": {"enabled": False},  # these tests count cards; the real-clock timers would add warnings
        }
        config = tmp / "config.yaml"
        config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
        done = run_cli(tmp, "-m", "bot.cli", "--config", "config.yaml", "demo")
        assert done.returncode == 0, done.stderr
        env: dict[str, str] = {}
        if platform is not None:  # a deployment of the demo org on that platform only: everyone has its user id
            await link_everyone(make_config(tmp, database={"url": url}), platform.name)
            cfg["channels"] = {"local": {"enabled": False}, platform.name: {
                "enabled": True, "api_base": platform.api_base, "media_dir": str(tmp / f"{platform.name}-media"),
                "request_timeout_s": 5.0, **platform.section()}}
            config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
            env = platform.env()
        site = cls(tmp, url, env)
        # the demo's own cards count as delivered: these tests follow the cards their messages make
        await site.execute("UPDATE outbox_message SET status='sent'")
        return site

    async def execute(self, sql: str) -> None:
        eng = create_async_engine(self.url)
        async with eng.begin() as c:
            await c.execute(text(sql))
        await eng.dispose()

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        return await query(self.url, sql)

    async def count(self, sql: str) -> int:
        return int((await self.query(sql))[0][0])


class Server:
    """`actionflow serve` in a child process."""

    def __init__(self, site: Site) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", "config.yaml", "serve", "--port", str(self.port)],
            cwd=site.dir, env=child_env(site.env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.ready: dict[str, Any] = {}

    @classmethod
    async def start(cls, site: Site) -> Server:
        server = cls(site)
        await server.wait_ready()
        return server

    async def wait_ready(self) -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise AssertionError(f"server died: {self.proc.stderr.read() if self.proc.stderr else ''}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/readyz") as r:
                        self.ready = await r.json()
                        return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Platform(ABC):
    """The platform's side: signed callbacks to the bot processes, redelivered until acknowledged (a refused
    connection, a non-200 or no answer in time all mean "not acknowledged"), and what it showed people."""

    name: str
    path: str

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base
        self.acked: set[int] = set()
        self.posts = 0

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The app's credentials, as the bot processes read them."""

    def section(self) -> dict[str, Any]:
        """More keys of the platform's ``channels`` section."""
        return {}

    @abstractmethod
    def text(self, user: str, msg_id: int, content: str) -> Any:
        """One text message event, built once: every delivery of it is the same event."""

    @abstractmethod
    def signed(self, inner: Any) -> tuple[dict[str, str], dict[str, str], bytes]:
        """(query, headers, body) of one delivery, signed now."""

    @abstractmethod
    def cards(self) -> list[tuple[str, Any]]:
        """(recipient, card) of every card the platform showed, once each."""

    async def post(self, http: aiohttp.ClientSession, port: int, msg_id: int, inner: Any) -> bool:
        params, headers, body = self.signed(inner)
        self.posts += 1
        try:
            async with http.post(f"http://127.0.0.1:{port}{self.path}", params=params, data=body, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=5)) as r:
                ok = r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.acked.add(msg_id)
        return ok


class WecomPlatform(Platform):
    """WeCom: encrypted XML callbacks with a msg_signature."""

    name, path = "wecom", "/wecom/callback"

    def __init__(self, fake: FakeWecom, api_base: str = "") -> None:
        super().__init__(api_base)
        self.fake = fake
        self.callbacks = Callbacks(TOKEN, AES_KEY, fake.corp_id, fake.agent_id)

    def env(self) -> dict[str, str]:
        return {"WECOM_CORP_ID": self.fake.corp_id, "WECOM_AGENT_ID": str(self.fake.agent_id),
                "WECOM_SECRET": self.fake.secret, "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY}

    def text(self, user: str, msg_id: int, content: str) -> str:
        return self.callbacks.text(user, content, msg_id=msg_id, created=int(time.time()))

    def signed(self, inner: Any) -> tuple[dict[str, str], dict[str, str], bytes]:
        params, body = self.callbacks.sign(inner, int(time.time()), uuid.uuid4().hex[:10])
        return params, {"Content-Type": "text/xml"}, body.encode() if isinstance(body, str) else body

    def cards(self) -> list[tuple[str, Any]]:
        """A request identical to an earlier one inside the duplicate-check window is answered but not shown
        again, as the real API does."""
        return [(b["touser"], b["template_card"]) for b in self.fake.delivered if b.get("msgtype") == "template_card"]

    def senders(self) -> set[str]:
        """The access tokens message/send calls carried: one per bot process that sent something."""
        return {r.query.get("access_token", "") for r in self.fake.calls("message/send")}


class FeishuPlatform(Platform):
    """Feishu: encrypted, signed event POSTs; a redelivery is the same event (same event_id and message_id)."""

    name, path = "feishu", "/feishu/events"

    def __init__(self, fake: FakeFeishu, api_base: str = "") -> None:
        super().__init__(api_base)
        self.fake = fake
        self.callbacks = FeishuCallbacks(fake.app_id, VERIFICATION_TOKEN, ENCRYPT_KEY)

    def env(self) -> dict[str, str]:
        return {"FEISHU_APP_ID": self.fake.app_id, "FEISHU_APP_SECRET": self.fake.app_secret,
                "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN, "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY}

    def text(self, user: str, msg_id: int, content: str) -> dict[str, Any]:
        message_id = f"om_node{msg_id}"
        self.fake.received[message_id] = user  # the chat a reply to it lands in
        return self.callbacks.message(user, "text", {"text": content}, message_id, int(time.time()))

    def signed(self, inner: Any) -> tuple[dict[str, str], dict[str, str], bytes]:
        headers, body = self.callbacks.post(inner, int(time.time()), uuid.uuid4().hex[:12])
        return {}, headers, body

    def cards(self) -> list[tuple[str, Any]]:
        """A send repeating an earlier uuid within the hour is answered but not shown again, as Feishu does."""
        return [(m.receive_id, m.content) for m in self.fake.messages.values() if m.msg_type == "interactive"]


class DingtalkPlatform(Platform):
    """DingTalk's robot HTTP mode: the message JSON with a signed millisecond timestamp (Stream off, so the
    callbacks are all that carries messages); cards come back through the card platform."""

    name, path = "dingtalk", "/dingtalk/callback"

    def __init__(self, fake: FakeDingtalk, api_base: str = "") -> None:
        super().__init__(api_base)
        self.fake = fake
        fake.base_url = api_base  # its session webhooks point back at it

    def env(self) -> dict[str, str]:
        return {"DINGTALK_CLIENT_ID": self.fake.client_id, "DINGTALK_CLIENT_SECRET": self.fake.client_secret}

    def section(self) -> dict[str, Any]:
        return {"oapi_base": self.api_base, "card_template_id": self.fake.template_id, "stream": False,
                "http_callback_path": self.path}

    def text(self, user: str, msg_id: int, content: str) -> dict[str, Any]:
        return self.fake.message(user, f"msgNode{msg_id}", text=content)

    def signed(self, inner: Any) -> tuple[dict[str, str], dict[str, str], bytes]:
        ts = str(int(time.time() * 1000))
        return {}, {"timestamp": ts, "sign": dingtalk_sign(ts, self.fake.client_secret),
                    "Content-Type": "application/json"}, json.dumps(inner, ensure_ascii=False).encode()

    def cards(self) -> list[tuple[str, Any]]:
        """createAndDeliver again with the same outTrackId is answered but shown once, as DingTalk does."""
        return [(sh.to, self.fake.cards[sh.out_track_id]["params"]) for sh in self.fake.shown if sh.kind == "card"]
