"""The CLI in an empty folder: init → demo → imports, each reading ./config.yaml."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import DATA
from tests.foundation.test_crash import query, run


def test_init_demo_and_imports_in_an_empty_folder(tmp_path: Path) -> None:
    r = run(tmp_path, "-m", "bot.cli", "init")
    assert r.returncode == 0 and (tmp_path / "config.yaml").exists()
    assert "already exists" in run(tmp_path, "-m", "bot.cli", "init").stdout

    r = run(tmp_path, "-m", "bot.cli", "demo")
    assert r.returncode == 0, r.stderr
    assert "seeded 19 people, 20 customers" in r.stdout
    assert "already present" in run(tmp_path, "-m", "bot.cli", "demo").stdout
    db = tmp_path / "data" / "actionflow.db"
    assert query(db, "SELECT role, count(*) FROM person GROUP BY role ORDER BY role") == [
        ("delivery", 2), ("finance", 1), ("legal", 1), ("manager", 1), ("presales", 2), ("rep", 6), ("store_manager", 1),
        ("store_staff", 3), ("supervisor", 2)]
    assert query(db, "SELECT count(*) FROM action_record")[0][0] > 50  # two weeks of records

    r = run(tmp_path, "-m", "bot.cli", "import-customers", str(DATA / "customers.csv"))
    assert r.returncode == 0 and "0 created, 20 updated" in r.stdout
    assert json.loads(query(db, "SELECT aliases FROM customer WHERE id='D007'")[0][0]) == ["蜀通", "蜀通物流"]

    people = tmp_path / "people.csv"
    people.write_text("name,role,supervisor,region,wecom_userid\n"
                      "钱多多,rep,王芳,无锡,qianduoduo\n王芳,supervisor,周建国,江苏,wangfang\n", encoding="utf-8")
    r = run(tmp_path, "-m", "bot.cli", "import-people", str(people))
    assert r.returncode == 0 and "1 created, 1 updated" in r.stdout, r.stderr
    assert query(db, "SELECT p.name FROM identity i JOIN person p ON p.id = i.person_id "
                     "WHERE i.platform='wecom' ORDER BY p.name") == [("王芳",), ("钱多多",)]
    assert query(db, "SELECT s.name FROM person p JOIN person s ON s.id = p.supervisor_id WHERE p.name='钱多多'") == [
        ("王芳",)]


def test_bad_inputs_fail_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("schedule:\n  morning_must_do: '8:45'\n", encoding="utf-8")
    r = run(tmp_path, "-m", "bot.cli", "demo")
    assert r.returncode == 2 and "schedule.morning_must_do" in r.stderr

    run(tmp_path, "-m", "bot.cli", "init", "--force")
    bad = tmp_path / "people.csv"
    bad.write_text("name,role\n某人,ceo\n", encoding="utf-8")
    r = run(tmp_path, "-m", "bot.cli", "import-people", str(bad))
    assert r.returncode == 2 and "people.csv:2" in r.stderr and "role must be one of" in r.stderr
    bad.write_text("name\n某人\n", encoding="utf-8")
    r = run(tmp_path, "-m", "bot.cli", "import-people", str(bad))
    assert r.returncode == 2 and "missing column" in r.stderr
    r = run(tmp_path, "-m", "bot.cli", "import-customers", str(tmp_path / "none.csv"))
    assert r.returncode == 2
    assert query(tmp_path / "data" / "actionflow.db", "SELECT count(*) FROM person") == [(0,)]
