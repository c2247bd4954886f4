"""The emulator shows a radar the bot sent as a picture: the history names an image URL for that transcript row,
which serves the PNG; a text message's row or an unknown id serves nothing."""

from __future__ import annotations

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
    r = await chat.client.get("/local/api/history", params={"person": str(chat.person("张伟").id)})
    shown = await r.json()
    [image] = [m for m in shown if m.get("image")]
    assert image["text"].startswith("🖼 process-")
    png = await chat.client.get(image["image"])
    assert png.status == 200 and (await png.read()).startswith(b"\x89PNG")
    text_row = next(m for m in shown if m["direction"] == "out" and not m.get("image"))
    assert (await chat.client.get(f"/local/api/image/{text_row['id']}")).status == 404
    assert (await chat.client.get("/local/api/image/999999")).status == 404
    assert (await chat.client.get("/local/api/image/..%2F..%2Fetc%2Fpasswd")).status == 400
