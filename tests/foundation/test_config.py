"""Config: the example loads; unknown keys and bad values fail with the key's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import EXAMPLE_PATH, ConfigError, config_from_dict, load_config, write_example


def test_example_documents_and_loads_every_section() -> None:
    cfg = load_config(EXAMPLE_PATH)
    assert cfg.org.timezone == "Asia/Shanghai"
    assert cfg.schedule.morning_must_do == "08:45"
    text = EXAMPLE_PATH.read_text(encoding="utf-8")
    for section in cfg.model_dump(by_alias=True):
        assert f"\n{section}:" in text, section


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"schedule": {"morning_must_do": "8:45"}}, "schedule.morning_must_do"),
        ({"org": {"timezone": "Mars/Olympus"}}, "org.timezone"),
        ({"database": {"url": "mysql://x"}}, "database.url"),
        ({"server": {"port": 70000}}, "server.port"),
        ({"channels": {"wecom": {"secret": "inline-secret"}}}, "channels.wecom.secret"),
        ({"rules": {"stale_lead_hours": 0}}, "rules.stale_lead_hours"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as exc:
        config_from_dict(data)
    assert path in str(exc.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="actionflow init"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("org: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_config(bad)


def test_init_writes_once(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    assert write_example(target) is True
    target.write_text("org: {name: 改过}\n", encoding="utf-8")
    assert write_example(target) is False
    assert load_config(target).org.name == "改过"


def test_env_overrides_one_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONFLOW__SERVER__PORT", "9090")
    assert config_from_dict({}).server.port == 9090
