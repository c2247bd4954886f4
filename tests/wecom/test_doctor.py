"""``actionflow doctor``: a clear verdict for good credentials, a bad secret, an untrusted IP, missing env vars."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.channels.wecom.doctor import check_wecom, public_url_warning
from bot.cli import main
from bot.config import Config
from tests.wecom.fake_server import FakeWecom


async def test_good_credentials(wecom_cfg: Config, fake: FakeWecom) -> None:
    ok, lines = await check_wecom(wecom_cfg)
    assert ok and lines[-1] == "结论：企业微信凭据可用 ✅"
    assert any("/wecom/callback" in line for line in lines)
    assert not any(fake.secret in line for line in lines)


def test_a_public_url_phones_cannot_reach_is_warned_about() -> None:
    for url in ("http://127.0.0.1:8080", "https://localhost/", "http://bot.example.com"):
        [line] = public_url_warning(url)
        assert url in line and "雷达图" in line
    assert public_url_warning("https://bot.example.com/") == []


async def test_bad_secret_and_untrusted_ip(wecom_cfg: Config, fake: FakeWecom) -> None:
    fake.secret = "rotated"
    ok, lines = await check_wecom(wecom_cfg)
    assert not ok and "40001" in lines[-1] and "WECOM_SECRET" in lines[-1]
    fake.secret = "fake-secret-abcdefghijklmnop"
    fake.fail("gettoken", 60020)
    ok, lines = await check_wecom(wecom_cfg)
    assert not ok and "企业可信IP" in lines[-1] and "203.0.113.7" in lines[-1]


async def test_unreachable_api(wecom_cfg: Config) -> None:
    cfg = wecom_cfg.model_copy(update={"channels": wecom_cfg.channels.model_copy(update={
        "wecom": wecom_cfg.channels.wecom.model_copy(update={"api_base": "http://127.0.0.1:9", "request_timeout_s": 2})})})
    ok, lines = await check_wecom(cfg)
    assert not ok and "连不上" in lines[-1]


def test_cli_missing_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"channels": {"wecom": {"enabled": True}}}), encoding="utf-8")
    assert main(["--config", str(cfg), "doctor"]) == 1
    out = capsys.readouterr().out
    assert "WECOM_SECRET" in out and "docs/wecom.md" in out
    cfg.write_text(yaml.safe_dump({"channels": {"wecom": {"enabled": False}}}), encoding="utf-8")
    assert main(["--config", str(cfg), "doctor"]) == 0
    assert "未启用" in capsys.readouterr().out
