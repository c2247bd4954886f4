"""Logs are JSON lines with event ids, and a configured secret never appears in them."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.logs import JsonFormatter, SecretMask, setup_logging
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import Person
from tests.scenarios.conftest import PLATFORMS


def test_secret_values_are_masked_everywhere(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WECOM_SECRET", "s3cr3t-value-42")
    setup_logging("INFO", True, ["WECOM_SECRET", "UNSET_ENV"])
    log = logging.getLogger("actionflow.test")
    log.info("token request with %s", "s3cr3t-value-42", extra={"event_id": "e-1", "url": "x?secret=s3cr3t-value-42"})
    try:
        raise RuntimeError("boom s3cr3t-value-42")
    except RuntimeError:
        log.exception("failed", extra={"event_id": "e-2"})
    err = capsys.readouterr().err
    assert "s3cr3t-value-42" not in err
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert lines[0]["event_id"] == "e-1" and lines[0]["msg"] == "token request with ***"
    assert lines[0]["url"] == "x?secret=***"
    assert lines[1]["level"] == "error" and lines[1]["event_id"] == "e-2"
    logging.getLogger().handlers.clear()


def test_formatter_handles_odd_extras() -> None:
    rec = logging.makeLogRecord({"msg": "hi", "levelname": "INFO", "inbox_id": 7, "obj": object()})
    out = json.loads(JsonFormatter().format(rec))
    assert out["inbox_id"] == 7 and out["obj"].startswith("<object")
    assert json.loads(SecretMask(JsonFormatter(), ["", "abc"]).format(rec))["msg"] == "hi"  # short values ignored


def test_secrets_are_masked_in_every_spelling() -> None:
    from bot.logs import Masker

    m = Masker(["s3cr3t/value+42"])
    cases = {
        "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=abc123&debug=1": "corpsecret=***&debug=1",
        "send?access_token=tok-XYZ": "access_token=***",
        '{"access_token": "tok-XYZ", "expires_in": 7200}': '"access_token": "***", "expires_in": 7200',
        'msg {\\"secret\\": \\"plain\\"}': '\\"secret\\": \\"***\\"',  # JSON inside a JSON log line
        "headers {'Authorization': 'Bearer adm1n-t0ken'}": "'Bearer ***'",
        "webhook/send?key=robot-key-1 failed": "key=*** failed",
        "proxy saw s3cr3t%2Fvalue%2B42 and s3cr3t%2Fvalue%2B42 and s3cr3t/value+42": "saw *** and *** and ***",
    }
    for raw, masked in cases.items():
        out = m.mask(raw)
        assert masked in out, (raw, out)
        assert not any(v in out for v in ("abc123", "tok-XYZ", "plain", "adm1n", "robot-key-1", "s3cr3t"))
    assert m.mask("idempotency_key=in5:card event_id=e-1") == "idempotency_key=in5:card event_id=e-1"


async def test_doctor_output_is_masked(tmp_path: Path, aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A platform error that echoes the secret must not put it on the screen (people paste doctor output)."""
    from bot.cli import main

    async def gettoken(request: web.Request) -> web.Response:
        return web.json_response({"errcode": 40099, "errmsg": f"secret {request.query['corpsecret']} rejected"})

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    server = await aiohttp_server(app)
    for name, value in {"WECOM_CORP_ID": "ww0123456789", "WECOM_AGENT_ID": "1000002", "WECOM_SECRET": "S3cret-Doctor-99",
                        "WECOM_TOKEN": "tok", "WECOM_AES_KEY": "a" * 43}.items():
        monkeypatch.setenv(name, value)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"channels": {"wecom": {"enabled": True, "api_base": str(server.make_url(""))}}}),
                   encoding="utf-8")
    assert await asyncio.to_thread(main, ["--config", str(cfg), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "rejected" in out and "S3cret-Doctor-99" not in out and "ww0123456789" in out  # ids stay readable


class Lines(logging.Handler):
    """Every record at INFO and above, formatted as the service writes it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(JsonFormatter().format(record))


async def test_failed_batches_do_not_log_message_bodies(client: TestClient, service: Service,
                                                        people: dict[str, Person]) -> None:
    """A database error carries the statement's parameters (people's messages) unless the engine hides them."""
    body = "今天拜访了瑞丰机械张总，机密报价 880 万"
    async with service.db.write() as s:
        await s.execute(text("CREATE TRIGGER refuse_rec BEFORE INSERT ON action_record WHEN NEW.text LIKE '%机密%' "
                             "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"))
    handler = Lines()
    logging.getLogger("actionflow").addHandler(handler)
    try:
        for i, person in enumerate([people["张伟"], people["李娜"]]):
            r = await client.post("/local/api/message", json={"person_id": person.id, "client_id": f"secretbody-{i}",
                                                              "text": body})
            assert r.status == 200
        await service.inbox.drain()
        async with service.db.session() as s:
            errors = (await s.execute(text("SELECT error FROM inbox_event WHERE error IS NOT NULL"))).scalars().all()
    finally:
        logging.getLogger("actionflow").removeHandler(handler)
    assert any("disk says no" in line for line in handler.lines) and errors
    assert not any("机密" in line for line in handler.lines + list(errors))


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
async def test_message_bodies_never_reach_info_logs(platform: str, tmp_path: Path, clock: FixedClock,
                                                    aiohttp_client: Any, aiohttp_server: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole conversation at INFO on every platform (stored, handled, record card sent, confirmed):
    the words people typed stay out of every log line, extras included."""
    marker = "紫色长颈鹿暗号7731"
    handler = Lines()
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        chat = await PLATFORMS[platform](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
        await chat.say("张伟", f"今天拜访了瑞丰机械张总，{marker}，下周三再去")
        card = await chat.should_send("张伟", card="记录")
        await chat.press("张伟", card, card.actions()[0])
        await chat.settle()
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    assert any('"event stored"' in line for line in handler.lines)  # INFO lines were written
    assert any('"message sent"' in line for line in handler.lines)
    assert not [line for line in handler.lines if marker in line]
