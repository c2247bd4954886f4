"""A lead source's bearer token is a secret like the platform credentials: its value never reaches a log line,
in whatever form it is written there (raw, JSON-escaped, URL-encoded), and ``doctor``-style masking covers it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.logs import Masker, secret_env_names, setup_logging
from tests.conftest import make_config

TOKEN = "lead-Src+t0ken/with&odd=chars"


def test_lead_source_tokens_are_secret_env_names(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, leads={"sources": {"crm": {"token_env": "CRM_LEAD_TOKEN"},
                                                   "web": {"token_env": "WEB_LEAD_TOKEN"}}})
    names = secret_env_names(cfg)
    assert "CRM_LEAD_TOKEN" in names and "WEB_LEAD_TOKEN" in names


def test_a_lead_token_value_is_masked_in_every_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import quote

    monkeypatch.setenv("CRM_LEAD_TOKEN", TOKEN)
    cfg = make_config(tmp_path, leads={"sources": {"crm": {"token_env": "CRM_LEAD_TOKEN"}}})
    masker = Masker.from_env(secret_env_names(cfg))
    for line in (f"refused lead from crm: sent {TOKEN}", f"url=/x?t={quote(TOKEN, safe='')}",
                 '{"auth": "' + TOKEN + '"}'):
        out = masker.mask(line)
        assert TOKEN not in out and quote(TOKEN, safe="") not in out and "***" in out


def test_the_log_handler_masks_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CRM_LEAD_TOKEN", TOKEN)
    cfg = make_config(tmp_path, leads={"sources": {"crm": {"token_env": "CRM_LEAD_TOKEN"}}})
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO", True, secret_env_names(cfg))
        logging.getLogger("actionflow.leads").warning("a client sent %s as its token", TOKEN)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "a client sent *** as its token" in err and TOKEN not in err
