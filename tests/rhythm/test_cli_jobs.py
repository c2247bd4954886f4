"""`actionflow jobs list | run NAME [--at] | due [--at]` against a demo org in an empty folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.foundation.test_crash import query, run

pytestmark = pytest.mark.slow


def test_jobs_commands(tmp_path: Path) -> None:
    assert run(tmp_path, "-m", "bot.cli", "init").returncode == 0
    assert run(tmp_path, "-m", "bot.cli", "demo").returncode == 0
    r = run(tmp_path, "-m", "bot.cli", "jobs", "list")
    assert r.returncode == 0 and "morning_must_do" in r.stdout and "工作日 08:45" in r.stdout

    r = run(tmp_path, "-m", "bot.cli", "jobs", "due", "--at", "2026-05-04T08:50")  # Labour Day
    assert r.returncode == 0 and "节假日" in r.stdout and "没有到点的任务" in r.stdout
    r = run(tmp_path, "-m", "bot.cli", "jobs", "run", "morning_must_do", "--at", "2026-05-09T08:45")
    assert r.returncode == 0 and "调休上班" in r.stdout and "处理 8 项" in r.stdout, r.stderr
    r = run(tmp_path, "-m", "bot.cli", "jobs", "run", "morning_must_do", "--at", "2026-05-09T08:50+08:00")
    assert r.returncode == 0 and "8 项此前已处理" in r.stdout and "发出 0 张" in r.stdout
    db = tmp_path / "data" / "actionflow.db"
    assert query(db, "SELECT count(*) FROM card WHERE kind='must_do'") == [(6,)]
    assert query(db, "SELECT count(*) FROM outbox_message WHERE card_id IN "
                     "(SELECT id FROM card WHERE kind IN ('must_do', 'team_board'))") == [(8,)]  # not the demo leads

    r = run(tmp_path, "-m", "bot.cli", "jobs", "run", "nope")
    assert r.returncode == 2 and "no job named" in r.stderr
