"""The task roles come in like any other by `import-people`; a person imported as presales is proposed for an
API need, and a role that does not exist is refused naming the roles that do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.importers import ImportError_, import_people
from handlers.clock import FixedClock
from handlers.context import Context, Settings
from handlers.tasks import TaskRules, choose_person
from storage.db import Database
from storage.models import Person, Role


async def test_imported_presales_is_proposed_and_a_bad_role_refused(tmp_path: Path, clock: FixedClock) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await db.migrate()
    people = tmp_path / "people.csv"
    people.write_text("name,role,supervisor,region\n周总,manager,,华东\n许工,presales,周总,华东\n"
                      "白工,presales,周总,华东\n严律师,legal,周总,华东\n", encoding="utf-8")
    async with db.session() as s, s.begin():
        assert (await import_people(s, people)).created == 4
    async with db.session() as s:
        roles = {p.name: p.role for p in (await s.execute(select(Person))).scalars()}
        ctx = Context(session=s, clock=clock, settings=Settings(), key_prefix="t")
        chosen, why = await choose_person(ctx, TaskRules(skills={"白工": ("API对接",)}), "presales", ["API对接"], "")
    assert roles["许工"] == Role.presales and roles["严律师"] == Role.legal
    assert chosen is not None and chosen.name == "白工" and why == "技能「API对接」，在办任务0件"
    bad = tmp_path / "bad.csv"
    bad.write_text("name,role\n钱工,sales_engineer\n", encoding="utf-8")
    async with db.session() as s, s.begin():
        with pytest.raises(ImportError_, match="role must be one of .*presales, delivery, legal, finance"):
            await import_people(s, bad)
    await db.close()
