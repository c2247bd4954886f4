"""The morning must-do card through WeCom: delivered as a template card, picked via the dropdown, updated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.importers import link_identity
from bot.service import Service
from cards.render_wecom import PICK_QUESTION
from handlers import must_do, rhythm
from handlers.clock import FixedClock
from storage.db import Database
from storage.models import Person
from tests.conftest import eventually, make_config, seeded
from tests.wecom.conftest import REP_USERID
from tests.wecom.fake_server import Callbacks, FakeWecom
from tests.wecom.test_e2e import _async, cards_sent, key_of, post


@pytest.fixture
async def only_wecom(tmp_path: Path, fake_server: TestServer, wecom_env: dict[str, str], clock: FixedClock,
                     aiohttp_client: Any) -> tuple[Service, TestClient, int]:
    """WeCom as the only channel, so scheduled cards route there (as in a real deployment)."""
    cfg = make_config(tmp_path, channels={"local": {"enabled": False}, "wecom": {
        "enabled": True, "api_base": str(fake_server.make_url("")).rstrip("/"), "media_dir": str(tmp_path / "m")}})
    await seeded(cfg, clock.now())
    db = Database(cfg.database.url)
    async with db.session() as s, s.begin():
        rep = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        await link_identity(s, rep, "wecom", REP_USERID)
        rep_id = rep.id
    await db.close()
    service = Service(cfg, clock=clock)
    client = await aiohttp_client(service.app())
    assert rep_id is not None
    return service, client, rep_id


async def test_morning_card_delivered_and_pressed(only_wecom: tuple[Service, TestClient, int], fake: FakeWecom,
                                                  callbacks: Callbacks, clock: FixedClock) -> None:
    service, client, rep_id = only_wecom
    async with service.db.write() as s:
        assert await must_do.send_morning(service.context("test:morning", s), rhythm.Rules(), rep_id) == 1
    service.sender.wake()
    await eventually(lambda: _async(cards_sent(fake)))
    [sent] = cards_sent(fake)
    card = sent["template_card"]
    assert sent["touser"] == REP_USERID and card["card_type"] == "button_interaction"
    assert "必做" in card["main_title"]["title"]
    options = card["button_selection"]["option_list"] if "button_selection" in card else []
    first = options[0]["id"] if options else next(b["key"].split("|", 1)[1] for b in card["button_list"]
                                                  if b["key"].split("|", 1)[1].startswith("pick:"))
    assert first.startswith("pick:")
    key = key_of(card, PICK_QUESTION) if options else key_of(card, first)
    code = fake.press_code()
    press = callbacks.card_event(REP_USERID, key, card["task_id"], code, int(clock.now().timestamp()),
                                 selected={PICK_QUESTION: [first]} if options else None)
    for _ in range(3):
        assert (await post(client, callbacks, press, clock)).status == 200
    await eventually(lambda: _async(fake.updates))
    await service.inbox.drain()
    [upd] = fake.updates
    assert upd["response_code"] == code
    new = upd["template_card"]
    chosen = [o["id"] for o in new.get("button_selection", {}).get("option_list", [])]
    now_off = first.rsplit(":", 1)[0] + ":off"  # the chosen item's button now offers un-choosing it
    assert now_off in chosen or any(b["key"].endswith(now_off) and b["style"] == 1 for b in new["button_list"])
    async with service.db.session() as s:
        item = await s.get(must_do.MustDo, int(first.split(":")[1]))
    assert item is not None and item.chosen
