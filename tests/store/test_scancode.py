"""WeCom: a store task code scanned with the app's scan menu (scancode_waitmsg / scancode_push) starts the same
flow as the link; any other scanned code stays a silent platform event, never a record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.wecom.inbound import parse_callback
from handlers.clock import FixedClock
from handlers.event import EventKind
from storage.models import ActionRecord
from tests.harness import userid
from tests.store.walk import PUBLIC, qr_path
from tests.wecom.chat import open_chat


def scan(result: str, event: str = "scancode_waitmsg") -> str:
    return (f"<EventKey><![CDATA[scan]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
            f"<ScanResult><![CDATA[{result}]]></ScanResult></ScanCodeInfo><AgentID>1</AgentID>")


def test_only_our_task_links_become_text() -> None:
    head = ("<xml><ToUserName><![CDATA[corp]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName>"
            "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>")
    link = "https://bot.example.com/store/q/eyJzIjoiYWJjIn0.c2lnbmF0dXJl"
    for event in ("scancode_waitmsg", "scancode_push"):
        _, e = parse_callback(f"{head}<Event><![CDATA[{event}]]></Event>{scan(link)}</xml>")
        assert e.kind == EventKind.text and e.text == link and e.extra["scan"]["result"] == link
    for other in ("6901234567892", "https://shop.example.com/item/1", "https://x.example/store/q/短", link + " x"):
        _, e = parse_callback(f"{head}<Event><![CDATA[scancode_push]]></Event>{scan(other)}</xml>")
        assert e.kind == EventKind.other and e.text == "", other


async def test_scanning_in_wecom_answers_with_the_page(tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                                                       aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = await open_chat(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    link = PUBLIC + await qr_path(chat.service, clock.now())
    async with chat.service.db.session() as s:
        records = (await s.execute(select(func.count()).select_from(ActionRecord))).scalar_one()
    created = int(clock.now().timestamp())
    await chat._post(chat.callbacks.event(userid(chat.person("冯雪")), "scancode_waitmsg", created, scan(link)))
    await chat.should_send("冯雪", text=f"🔳 长沙旗舰店 · 门店接待\n新顾客进店：打开接待页，从「进店迎宾」开始逐步完成。\n接待页：{link}")
    await chat._post(chat.callbacks.event(userid(chat.person("张伟")), "scancode_waitmsg", created, scan(link)))
    await chat.should_send("张伟", text="只有这家门店的店员和店长可以使用。未做任何修改。")  # a rep: told, not recorded
    await chat._post(chat.callbacks.event(userid(chat.person("冯雪")), "scancode_push", created, scan("6901234567892")))
    async with chat.service.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(ActionRecord))).scalar_one() == records
