"""When every rep who could take a lead has handed it back, the supervisor gets it to choose, and the
hand-back reason typed for 其他 is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from handlers.clock import FixedClock
from storage.models import Lead, Person
from tests.harness import open_local


async def test_everyone_handed_it_back_so_the_supervisor_chooses(tmp_path: Path, clock: FixedClock,
                                                                 aiohttp_client: Any, aiohttp_server: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    chat = await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    async with chat.service.db.write() as s:  # only 张伟 and 李娜 still work here
        await s.execute(update(Person).where(Person.role == "rep", Person.name.not_in(["张伟", "李娜"]))
                        .values(active=False))
    await chat.say("王芳", "新线索 无锡新锐数控有限公司 李总 13900001111")
    card = await chat.should_send("张伟", card="新线索：无锡新锐数控有限公司")
    await chat.press("张伟", card, "return:other", "")  # 其他 needs words
    await chat.should_send("张伟", card="新线索", where=lambda c: "需要写一句原因" in c.text)
    await chat.press("张伟", card, "return:other", "客户在我老婆公司，回避")
    second = await chat.should_send("李娜", card="新线索：无锡新锐数控有限公司")
    await chat.press("李娜", second, "return:busy")
    board = await chat.should_send("王芳", card="线索待分配：无锡新锐数控有限公司")
    assert "张伟：客户在我老婆公司，回避" in board.text and "李娜：手上线索太多" in board.text
    await chat.press("王芳", board, f"reassign:{chat.person('张伟').id}")
    await chat.should_send("张伟", card="新线索：无锡新锐数控有限公司", where=lambda c: c.ref != card.ref)
    async with chat.service.db.session() as s:
        [lead] = (await s.execute(select(Lead))).scalars().all()
    assert lead.owner_id == chat.person("张伟").id and lead.assigned_by == chat.person("王芳").id
    assert [r["reason"] for r in lead.returned] == ["other", "busy"]
