"""`actionflow report NAME`: JSON + PNG on disk for each person the report is for, nothing sent; bad names refused."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.cli import main
from bot.reports_cli import render
from storage.db import Database
from storage.models import Card, OutboxMessage
from tests.conftest import TZ, make_config, seeded

AT = datetime(2026, 11, 24, 18, 30, tzinfo=TZ)


async def test_each_report_is_written_as_json_and_png_and_nothing_is_sent(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    await seeded(cfg, AT)
    out = tmp_path / "out"
    digests = await render(cfg, "digest", AT, out, None)
    assert sorted(p.name for p in digests) == sorted(
        f"digest-{n}-20261124-1830.{ext}" for n in ("周建国", "王芳", "刘强") for ext in ("json", "png"))
    d = json.loads((out / "digest-周建国-20261124-1830.json").read_text(encoding="utf-8"))
    assert d["digest"]["reps"] == 6 and d["card"]["title"] == "今日简报 · 11-24"
    [radar_png] = [p for p in await render(cfg, "radar", AT, out, "张伟") if p.suffix == ".png"]
    with Image.open(radar_png) as im:
        assert im.width >= 500
    kpis = json.loads((await render(cfg, "kpis", AT, out, "王芳"))[0].read_text(encoding="utf-8"))
    assert kpis["kpis"][0]["benchmark"] == {"industry": 18.3, "top": 1.2, "lower": True}
    money = json.loads((await render(cfg, "commission", AT, out, "张伟"))[0].read_text(encoding="utf-8"))
    assert money["commission"]["month"] == "2026-11"
    assert not (out / ".charts").exists()
    db = Database(cfg.database.url)
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(Card))).scalar_one() == 0
    await db.close()


async def test_unknown_report_or_person_is_refused(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    await seeded(cfg, AT)
    with pytest.raises(ValueError, match="no report named 'sales'"):
        await render(cfg, "sales", AT, tmp_path / "o", None)
    with pytest.raises(ValueError, match="no active person named '王小明'"):
        await render(cfg, "radar", AT, tmp_path / "o", "王小明")


def test_the_command_line_names_a_bad_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"org: {{name: t}}\ndatabase: {{url: 'sqlite+aiosqlite:///{tmp_path / 'c.db'}'}}\n", encoding="utf-8")
    assert main(["--config", str(cfg), "report", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "no report named 'nope'" in capsys.readouterr().err
