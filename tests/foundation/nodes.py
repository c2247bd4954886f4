"""Real bot processes for the crash, redelivery and multi-node tests: `actionflow serve` children on one
database (a SQLite file or a PostgreSQL database), a fake WeCom API on 127.0.0.1 they send to, and a
"platform" that delivers signed callbacks and redelivers every one not acknowledged, as WeCom does."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import make_config
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
    async def create(cls, tmp: Path, url: str, wecom: FakeWecom | None = None, wecom_base: str = "") -> Site:
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
        if wecom is not None:  # a WeCom-only deployment of the demo org: every person has a WeCom user id
            await link_everyone(make_config(tmp, database={"url": url}), "wecom")
            cfg["channels"] = {"local": {"enabled": False}, "wecom": {
                "enabled": True, "api_base": wecom_base, "media_dir": str(tmp / "wecom-media"),
                "request_timeout_s": 5.0}}
            config.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
            env = {"WECOM_CORP_ID": wecom.corp_id, "WECOM_AGENT_ID": str(wecom.agent_id), "WECOM_SECRET": wecom.secret,
                   "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY}
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


class Platform:
    """WeCom's side: signed, encrypted callbacks to the bot processes, redelivered until acknowledged
    (a refused connection, a 5xx or no answer in time all mean "not acknowledged")."""

    def __init__(self, fake: FakeWecom) -> None:
        self.fake = fake
        self.callbacks = Callbacks(TOKEN, AES_KEY, fake.corp_id, fake.agent_id)
        self.acked: set[int] = set()
        self.posts = 0

    def text(self, user: str, msg_id: int, content: str) -> str:
        return self.callbacks.text(user, content, msg_id=msg_id, created=int(time.time()))

    async def post(self, http: aiohttp.ClientSession, port: int, msg_id: int, inner: str) -> bool:
        params, body = self.callbacks.sign(inner, int(time.time()), uuid.uuid4().hex[:10])
        self.posts += 1
        try:
            async with http.post(f"http://127.0.0.1:{port}/wecom/callback", params=params, data=body,
                                 headers={"Content-Type": "text/xml"}, timeout=aiohttp.ClientTimeout(total=5)) as r:
                ok = r.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            self.acked.add(msg_id)
        return ok

    def cards(self) -> list[dict[str, Any]]:
        """The template cards WeCom showed (a request identical to an earlier one inside the duplicate-check
        window is answered but not shown again, as the real API does)."""
        return [b for b in self.fake.delivered if b.get("msgtype") == "template_card"]

    def senders(self) -> set[str]:
        """The access tokens message/send calls carried: one per bot process that sent something."""
        return {r.query.get("access_token", "") for r in self.fake.calls("message/send")}
