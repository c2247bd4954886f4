"""The emulator shows a radar inside its card: the card's HTML holds an <img> naming that transcript row,
which serves the PNG; a text message's row or an unknown id serves nothing, and no path is ever taken from
the request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from handlers.clock import FixedClock
from tests.harness import LocalChat, open_local


async def test_a_sent_chart_is_served_by_its_row_and_nothing_else(tmp_path: Path, clock: FixedClock,
                                                                  aiohttp_client: Any, aiohttp_server: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    chat = await open_local(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    assert isinstance(chat, LocalChat)
    await chat.say("张伟", "我的雷达")
    await chat.should_send("张伟", card="过程健康雷达 · 张伟")
    await chat.say("张伟", "我的提成")  # a card without a picture
    await chat.should_send("张伟", card="提成估算")
    r = await chat.client.get("/local/api/history", params={"person": str(chat.person("张伟").id)})
    shown = await r.json()
    [radar] = [m for m in shown if "过程健康雷达" in m.get("html", "")]
    assert not [m for m in shown if m.get("image")]  # no separate image message: the picture is in the card
    src = re.search(r'<img class="card-image" src="([^"]+)"', radar["html"])
    assert src and src.group(1) == f"/local/api/image/{radar['id']}"
    png = await chat.client.get(src.group(1))
    assert png.status == 200 and (await png.read()).startswith(b"\x89PNG")
    plain = next(m for m in shown if "提成估算" in m.get("html", ""))
    assert "<img" not in plain["html"]
    assert (await chat.client.get(f"/local/api/image/{plain['id']}")).status == 404
    assert (await chat.client.get("/local/api/image/999999")).status == 404
    assert (await chat.client.get("/local/api/image/..%2F..%2Fetc%2Fpasswd")).status == 400
