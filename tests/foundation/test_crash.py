"""kill -9 at the two dangerous moments: nothing lost, nothing doubled (real processes, real database)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("crash_script.py")
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    cfg = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"},
        "channels": {"local": {"media_dir": str(tmp_path / "media")}},
        "outbox": {"lease_s": 0.5, "poll_interval_s": 0.1},
        "logging": {"level": "WARNING"},
        "schedule": {"enabled": False},  # these tests count cards; the real-clock timers would add warnings
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    run(tmp_path, "-m", "bot.cli", "--config", "config.yaml", "demo")
    # the demo's lead cards count as delivered: these tests follow the one card the rep's message makes
    eng = create_engine(f"sqlite:///{tmp_path / 'crash.db'}")
    with eng.begin() as c:
        c.execute(text("UPDATE outbox_message SET status='sent'"))
    eng.dispose()
    yield tmp_path


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        rows = [tuple(r) for r in c.execute(text(sql))]
    eng.dispose()
    return rows


def rep_id(db: Path) -> int:
    return int(query(db, "SELECT id FROM person WHERE name='李娜'")[0][0])  # a rep the demo sends no cards


class Server:
    """`actionflow serve` in a child process."""

    def __init__(self, cwd: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", "config.yaml", "serve", "--port", str(self.port)],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.ready = self.readyz()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def readyz(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
            body: dict[str, Any] = json.loads(r.read())
            return body

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait_until(fn: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_killed_after_store_before_handling_is_handled_once(workdir: Path) -> None:
    db = workdir / "crash.db"
    rep = rep_id(db)
    r = run(workdir, str(SCRIPT), "store-then-die", "config.yaml", str(rep))
    assert r.returncode == -signal.SIGKILL, r.stderr
    assert query(db, "SELECT status FROM inbox_event") == [("received",)]
    assert query(db, "SELECT count(*) FROM action_record WHERE source_event_id IS NOT NULL") == [(0,)]

    server = Server(workdir)
    wait_until(lambda: query(db, f"SELECT count(*) FROM local_chat_message WHERE card_id IS NOT NULL AND person_id={rep}")[0][0] == 1)
    server.kill()
    server = Server(workdir)  # a second restart must not handle it again: ready with nothing in hand
    assert server.ready["ok"] and server.ready["in_hand"] == 0 and server.ready["oldest_unhandled_s"] == 0
    server.kill()
    assert query(db, "SELECT status, attempts FROM inbox_event") == [("done", 1)]
    assert query(db, "SELECT count(*) FROM action_record WHERE source_event_id IS NOT NULL") == [(1,)]
    assert query(db, f"SELECT count(*) FROM local_chat_message WHERE card_id IS NOT NULL AND person_id={rep}") == [(1,)]


def test_killed_after_platform_accepted_is_not_sent_again(workdir: Path) -> None:
    db = workdir / "crash.db"
    rep = rep_id(db)
    r = run(workdir, str(SCRIPT), "deliver-then-die", "config.yaml", str(rep))
    assert r.returncode == -signal.SIGKILL, r.stderr
    [(key, status)] = query(db, f"SELECT idempotency_key, status FROM outbox_message WHERE card_id IS NOT NULL AND person_id={rep}")
    assert status == "sending"  # the platform accepted, we never recorded it
    assert query(db, f"SELECT count(*) FROM local_chat_message WHERE delivery_key='{key}'") == [(1,)]

    server = Server(workdir)
    wait_until(lambda: query(db, f"SELECT status FROM outbox_message WHERE idempotency_key='{key}'") == [("sent",)])
    server.kill()
    [(attempts,)] = query(db, f"SELECT attempts FROM outbox_message WHERE idempotency_key='{key}'")
    assert attempts == 2  # retried once with the same key …
    assert query(db, f"SELECT count(*) FROM local_chat_message WHERE card_id IS NOT NULL AND person_id={rep}") == [(1,)]  # … shown once


