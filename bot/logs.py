"""Structured logs: one JSON object per line, with event ids; known secret values are masked."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class SecretMask(logging.Formatter):
    """Wraps a formatter and masks every configured secret in its final output (message, extras,
    tracebacks alike), in both raw and JSON-escaped spelling."""

    def __init__(self, inner: logging.Formatter, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner
        forms = {f for s in secrets if s and len(s) >= 4 for f in (s, json.dumps(s, ensure_ascii=False)[1:-1])}
        self.secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        out = self.inner.format(record)
        for s in self.secrets:
            out = out.replace(s, "***")
        return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record.__dict__.items():
            if k not in _STANDARD and not k.startswith("_"):
                out[k] = v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str, json_lines: bool, secret_env_names: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(SecretMask(inner, [os.environ.get(n, "") for n in secret_env_names]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
