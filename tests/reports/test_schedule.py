"""When the report jobs are due: the digest on workdays from 18:30 until the 22:00 cut-off, the radars on Fridays
only, each once."""

from __future__ import annotations

from datetime import datetime

from bot.service import Service
from tests.conftest import TZ

MINE = ("daily_digest", "weekly_radar")


async def test_digest_daily_on_workdays_and_radars_on_fridays(service: Service) -> None:
    sched = service.scheduler

    async def due(at: datetime) -> dict[str, str]:
        return {k: v for k, v in (await sched.run_due(at)).items() if k in MINE}

    thursday = datetime(2026, 11, 26, 18, 29, tzinfo=TZ)
    assert await sched.run_due(thursday, only="daily_digest") == {}  # not yet
    assert list(await due(datetime(2026, 11, 26, 18, 31, tzinfo=TZ))) == ["daily_digest"]
    friday = await due(datetime(2026, 11, 27, 21, 0, tzinfo=TZ))  # caught up before the cut-off
    assert "发出 4 张卡片" in friday["daily_digest"] and "处理 6 项" in friday["weekly_radar"]
    again = await due(datetime(2026, 11, 27, 21, 30, tzinfo=TZ))
    assert sorted(again) == sorted(MINE) and all("已运行过" in v for v in again.values()), again
    assert await due(datetime(2026, 11, 27, 22, 1, tzinfo=TZ)) == {}  # past the cut-off
    assert await due(datetime(2026, 11, 28, 18, 31, tzinfo=TZ)) == {}  # Saturday: neither
