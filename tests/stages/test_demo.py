"""`actionflow demo` on a deployment without the emulator: the org is seeded, and the cards meant for the
emulator's people (checklists, verify, contracts, tasks) are left out instead of failing on a missing identity."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.foundation.nodes import run_cli, sqlite_query

WECOM_ENV = {"WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
             "WECOM_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}


def test_demo_on_a_wecom_only_deployment(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({
        "org": {"name": "t"}, "channels": {"local": {"enabled": False}, "wecom": {"enabled": True}}}), encoding="utf-8")
    r = run_cli(tmp_path, "-m", "bot.cli", "demo", env=WECOM_ENV)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("seeded") and "待核实" not in r.stdout
    db = tmp_path / "data" / "actionflow.db"
    assert sqlite_query(db, "SELECT count(*) FROM card WHERE kind IN ('checklist', 'verify')") == [(0,)]
