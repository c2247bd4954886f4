"""Logs are JSON lines with event ids, and a configured secret never appears in them."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import JsonFormatter, SecretMask, setup_logging


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
