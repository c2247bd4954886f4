"""Opening store QR links and walking their pages the way a phone does (forms, redirects), for the store tests."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.store_page import StoreLinkBook
from storage.models import Store, StoreSession, StoreTap, StoreTask

STORE = "长沙旗舰店"
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
PUBLIC = "http://127.0.0.1:8080"


async def qr_path(service: Any, now: datetime, task: str = "门店接待", store: str = STORE) -> str:
    """A freshly issued QR link of the task, as the path its page is served at."""
    async with service.db.write() as s:
        st = (await s.execute(select(Store).where(Store.name == store))).scalar_one()
        t = (await s.execute(select(StoreTask).where(StoreTask.store_id == st.id, StoreTask.name == task))).scalar_one()
        url = await StoreLinkBook(service.cfg).issue(s, t, now)
    assert url.startswith(f"{PUBLIC}/store/q/")
    return url.removeprefix(PUBLIC)


def forms(html: str) -> list[tuple[str, dict[str, str]]]:
    """(action, hidden fields) of every form on the page, in order."""
    out = []
    for m in re.finditer(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S):
        fields = dict(FIELD.findall(m.group(2)))
        button = re.search(r'name="do" value="([^"]+)"', m.group(2))
        fields["do"] = button.group(1) if button else ""
        out.append((m.group(1), fields))
    return out


async def start_session(client: Any, path: str) -> tuple[str, str]:
    """Open the QR page, press 开始接待; (the session page path, the page's HTML)."""
    r = await client.get(path)
    html = await r.text()
    assert r.status == 200, html
    [(action, fields)] = forms(html)
    r = await client.post(action, data=fields, allow_redirects=False)
    assert r.status == 303, await r.text()
    page = r.headers["Location"]
    r = await client.get(page)
    return page, await r.text()


async def press(client: Any, html: str, do: str) -> tuple[int, str]:
    """Press the form button ``do`` (tap, leave, next) on a page and follow its redirect."""
    action, fields = next((a, f) for a, f in forms(html) if f["do"] == do)
    r = await client.post(action, data=fields)
    return r.status, await r.text()


async def taps(service: Any) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(StoreTap))).scalar_one())


async def sessions(service: Any) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(StoreSession))).scalar_one())
