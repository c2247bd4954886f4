"""A digest's links are checked against the stored card: a forged customer id is refused as stale, and a
colleague who is not above the reader is refused; neither gets the customer's progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handlers.clock import FixedClock
from handlers.people import STALE
from tests.harness import open_local


async def test_forged_and_foreign_presses_get_nothing(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                                                      aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    await chat.say("王芳", "今日简报")
    card = await chat.should_send("王芳", card="今日简报")
    await chat.press("王芳", card, "open:D020")  # not one of the card's links (the emulator lets us send it)
    await chat.should_send("王芳", text=STALE)
    await chat.press("刘强", card, card.actions("open:")[0])  # the other team's supervisor
    await chat.should_send("刘强", text="⛔")
    await chat.settle()
    assert not [t for who in ("王芳", "刘强") for t in await chat.texts(who) if "最近进展" in t]
    await chat.press("周建国", card, card.actions("open:")[0])  # above 王芳: may open her digest's links
    await chat.should_send("周建国", text="最近进展")
