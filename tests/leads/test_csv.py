"""`actionflow import-leads CSV`: validated like a POST, idempotent by lead_id, 查重 against customers; and
the demo's leads that a newcomer sees in the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.capabilities import lead_rules_from
from bot.demo.leads import seed_demo_leads
from bot.leads import LeadBatchError, import_leads, read_leads_csv
from bot.service import Service
from storage.models import Card, Customer, Lead, Person
from tests.foundation.test_crash import query, run

CSV = """lead_id,company,contact,phone,region,lat,lng,tags,note
c-1,无锡新锐数控有限公司,李总,13900001111,无锡,,,机床;数控,展会
c-2,瑞丰精密,王工,,,31.49,120.35,,老客户的新需求
c-3,南通海润纺织有限公司,,0513-81234567,,32.0,120.9,,
"""


def write(tmp_path: Path, text: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def counts(service: Service) -> tuple[int, int, int]:
    async with service.db.session() as s:
        lead, customer, card = [int((await s.execute(select(func.count()).select_from(m))).scalar_one())
                                for m in (Lead, Customer, Card)]
    return lead, customer, card


async def imported(service: Service, path: Path) -> tuple[int, int]:
    async with service.db.write() as s:
        return await import_leads(s, service.context, lead_rules_from(service.cfg), read_leads_csv(path))


async def test_the_same_file_twice_adds_nothing(service: Service, tmp_path: Path) -> None:
    await service.db.migrate()
    path = write(tmp_path, CSV)
    assert await imported(service, path) == (3, 0)
    after_first = await counts(service)
    assert after_first[:2] == (3, 22)  # 瑞丰精密 is an alias of D001: matched, not created
    assert await imported(service, path) == (0, 3)
    assert await counts(service) == after_first
    async with service.db.session() as s:
        leads = {x.source_lead_id: x for x in (await s.execute(select(Lead))).scalars()}
        zhang = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        nantong = (await s.execute(select(Person).where(Person.name == "李娜"))).scalar_one()
    assert leads["c-1"].owner_id == zhang.id and leads["c-1"].tags == ["机床", "数控"]
    assert leads["c-2"].matched and leads["c-2"].customer_id == "D001"
    assert leads["c-3"].owner_id == nantong.id  # no region: the nearest rep (南通)


@pytest.mark.parametrize("text, where", [
    ("lead_id,company\nx-1,好公司\nx-2,\n", "leads.csv:3: invalid company"),
    ("lead_id,company,lat\nx-1,好公司,31.2\n", "leads.csv:2: invalid"),
    ("lead_id,company\nx-1,好公司\nx-1,又一家\n", "already on line 2"),
    ("company\n好公司\n", "missing column(s) lead_id"),
    ("lead_id,company,email\nx-1,好公司,a@b.c\n", "unknown column(s) email"),
])
async def test_a_bad_row_names_its_line_and_nothing_is_imported(service: Service, tmp_path: Path, text: str,
                                                               where: str) -> None:
    await service.db.migrate()
    with pytest.raises(LeadBatchError, match=where.replace("(", r"\(").replace(")", r"\)")):
        read_leads_csv(write(tmp_path, text))
    assert (await counts(service))[0] == 0


async def test_demo_leads_reach_the_reps_and_their_supervisor(service: Service) -> None:
    await service.db.migrate()
    async with service.db.write() as s:
        assert await seed_demo_leads(s, service.context, lead_rules_from(service.cfg)) == 2
    async with service.db.write() as s:
        assert await seed_demo_leads(s, service.context, lead_rules_from(service.cfg)) == 0
    async with service.db.session() as s:
        names = {p.id: p.name for p in (await s.execute(select(Person))).scalars()}
        cards = [(c.kind, names[c.audience_id]) for c in (await s.execute(select(Card).order_by(Card.created_at)))
                 .scalars()]
    assert sorted(cards) == [("lead", "孙浩"), ("lead", "赵敏"), ("lead_dispatch", "刘强"), ("lead_dispatch", "刘强")]


@pytest.mark.slow
def test_import_leads_command(tmp_path: Path) -> None:
    assert run(tmp_path, "-m", "bot.cli", "init").returncode == 0
    assert run(tmp_path, "-m", "bot.cli", "demo").returncode == 0
    write(tmp_path, CSV)
    r = run(tmp_path, "-m", "bot.cli", "import-leads", "leads.csv")
    assert r.returncode == 0 and "leads: 3 new, 0 already imported" in r.stdout, r.stderr
    r = run(tmp_path, "-m", "bot.cli", "import-leads", "leads.csv")
    assert r.returncode == 0 and "leads: 0 new, 3 already imported" in r.stdout
    db = tmp_path / "data" / "actionflow.db"
    # the demo's 2 web-form leads and the file's 3 (the demo's report history is source demo-history)
    assert query(db, "SELECT count(*) FROM lead WHERE source IN ('website', 'csv')") == [(5,)]
    write(tmp_path, "lead_id,company\nx-1,\n", "bad.csv")
    r = run(tmp_path, "-m", "bot.cli", "import-leads", "bad.csv")
    assert r.returncode == 2 and "bad.csv:2: invalid company" in r.stderr
