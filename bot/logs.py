"""Structured logs: one JSON object per line, with event ids; secrets are masked wherever they appear."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from bot.config import Config

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
MASK = "***"
# Values of credential-like names in any spelling a log line may carry them: ``access_token=…`` in a URL,
# ``"secret": "…"`` in JSON (also JSON inside a JSON string, hence the optional backslashes),
# ``key: …`` in YAML or text, and ``Bearer …`` headers. Runtime tokens (WeCom access tokens, response
# codes) are in no environment variable, so they are caught by their name rather than their value.
_NAMED = re.compile(
    r"(?i)(?<![\w-])((?:access_|refresh_|admin_)?token|corpsecret|(?:app_|client_)?secret|api_?key|aes_?key|"
    r"encodingaeskey|key|password|passwd|ticket|response_code)"
    r"(\\*[\"']?\s*[:=]\s*\\*[\"']?)([^\s\"'&,;}\]\\]+)")
_BEARER = re.compile(r"(?i)\b(Bearer\s+)[^\s\"',;\\]+")


def secret_env_names(cfg: Config) -> list[str]:
    """The environment variables holding credentials: the LLM/ASR keys, the token and admin secrets and
    every lead source's bearer token and every channel's ``*secret*`` / ``*token*`` / ``*key*`` variable (ids
    such as the corp id are not secret)."""
    names = [cfg.understanding.llm.api_key_env, cfg.asr.api_key_env, cfg.security.token_secret_env,
             cfg.security.admin_token_env]
    names += [source.token_env for source in cfg.leads.sources.values()]  # each lead source's bearer token
    for name in type(cfg.channels).model_fields:
        section = getattr(cfg.channels, name)
        names += [v for k, v in section.model_dump().items()
                  if k.endswith("_env") and isinstance(v, str) and any(w in k for w in ("secret", "token", "key"))]
    return names


class Masker:
    """Replaces known secret values (raw, JSON-escaped and URL-encoded) and credential-named values."""

    def __init__(self, secrets: list[str]) -> None:
        forms = {f for s in secrets if s and len(s) >= 4
                 for f in (s, json.dumps(s, ensure_ascii=False)[1:-1], quote(s, safe=""), quote_plus(s))}
        self.secrets = sorted(forms, key=len, reverse=True)

    @classmethod
    def from_env(cls, env_names: list[str]) -> Masker:
        return cls([os.environ.get(n, "") for n in env_names])

    def mask(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, MASK)
        text = _NAMED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class SecretMask(logging.Formatter):
    """Wraps a formatter and masks secrets in its final output (message, extras, tracebacks alike)."""

    def __init__(self, inner: logging.Formatter, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner
        self.masker = Masker(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.masker.mask(self.inner.format(record))


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
