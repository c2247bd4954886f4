"""``actionflow doctor`` for DingTalk: good credentials, a bad secret, a gateway refusing Stream, missing env vars."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.channels.dingtalk.doctor import check_dingtalk
from bot.cli import main
from bot.config import Config
from tests.dingtalk.fake_server import FakeDingtalk


async def test_good_credentials(dt_cfg: Config, fake: FakeDingtalk) -> None:
    ok, lines = await check_dingtalk(dt_cfg)
    assert ok and lines[-1] == "结论：钉钉凭据可用 ✅"
    assert any("Stream" in line for line in lines) and any(fake.template_id in line for line in lines)
    assert not any(fake.client_secret in line for line in lines)
    assert fake.opens and "clientSecret" not in fake.opens[0]  # a real registration was made


async def test_bad_secret_and_a_gateway_that_refuses(dt_cfg: Config, fake: FakeDingtalk) -> None:
    real = fake.client_secret
    fake.client_secret = "rotated"
    ok, lines = await check_dingtalk(dt_cfg)
    assert not ok and "DINGTALK_CLIENT_SECRET" in lines[-1] and real not in "\n".join(lines)
    fake.client_secret = real
    fake.fail("/v1.0/gateway/connections/open", 403, "Forbidden.AccessDenied.AccessTokenPermissionDenied")
    ok, lines = await check_dingtalk(dt_cfg)
    assert not ok and "Stream 模式" in lines[-1]


async def test_unreachable_api(dt_cfg: Config) -> None:
    section = dt_cfg.channels.dingtalk.model_copy(update={"api_base": "http://127.0.0.1:9", "request_timeout_s": 2})
    cfg = dt_cfg.model_copy(update={"channels": dt_cfg.channels.model_copy(update={"dingtalk": section})})
    ok, lines = await check_dingtalk(cfg)
    assert not ok and "连不上" in lines[-1]


def test_cli_missing_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("DINGTALK_CLIENT_ID", "DINGTALK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"},
                                   "channels": {"dingtalk": {"enabled": True}}}), encoding="utf-8")
    assert main(["--config", str(cfg), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "DINGTALK_CLIENT_SECRET" in out and "docs/dingtalk.md" in out
