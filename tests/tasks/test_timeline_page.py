"""The timeline page behind the chat card's link: the whole history for people who work on the customer; a
colleague, another team's supervisor, a stranger, a forged, expired or borrowed link and a foreign Host get a
403 page that says why, and no customer data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import func, select

from bot.timeline_page import page_link
from handlers.clock import FixedClock
from handlers.rhythm import REAL
from storage.models import ActionRecord
from tests.dingtalk.chat import open_chat as open_dingtalk
from tests.feishu.chat import open_chat as open_feishu
from tests.harness import LocalChat, userid
from tests.tasks.test_flow import asked
from tests.wecom.chat import open_chat as open_wecom

RUIFENG = "无锡瑞丰精密机械有限公司"


async def card_link(chat: LocalChat, who: str = "张伟") -> str:
    await chat.say(who, "瑞丰机械 最近进展")
    card = await chat.should_send(who, card=f"{RUIFENG} 最近进展")
    url = card.raw["note"].split("：", 1)[1]
    assert url.startswith("http://127.0.0.1:8080/timeline/D001?t=")
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def real_records(chat: LocalChat, customer_id: str) -> int:
    async with chat.service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(ActionRecord).where(
            ActionRecord.customer_id == customer_id, ActionRecord.status.in_(REAL)))).scalar_one())


async def opened(chat: LocalChat, link: str, who: str | None, **headers: str) -> tuple[int, str]:
    persona = f"&as={chat.person(who).id}" if who else ""
    r = await chat.client.get(link + persona, headers=headers)
    return r.status, await r.text()


async def test_people_who_work_on_the_customer_see_everything(chat: LocalChat) -> None:
    await asked(chat, "瑞丰机械要求API对接", "presales")
    link = await card_link(chat)
    for who in ("张伟", "王芳", "周建国", "林浩然"):  # owner, supervisor, manager, the task's assignee
        status, html = await opened(chat, link, who)
        assert status == 200, who
        assert f"{RUIFENG} · 客户时间线" in html and "请售前林浩然协同：瑞丰机械要求API对接" in html
        assert html.count("<li ") == await real_records(chat, "D001") + 1  # every record and the open task


async def test_everyone_else_is_refused_with_a_reason(chat: LocalChat, clock: FixedClock) -> None:
    link = await card_link(chat)
    for who in ("李娜", "刘强", "陈思远"):  # a colleague, another team's supervisor, presales without a task there
        status, html = await opened(chat, link, who)
        assert status == 403 and "只对负责它的人可见" in html and "拜访" not in html
    status, html = await opened(chat, link, None)  # no identity: outside the apps
    assert status == 403 and "请在企业微信、钉钉或飞书里打开" in html
    status, html = await opened(chat, link, None, **{"Host": "evil.example"})
    assert status == 403
    body, _, mac = link.partition("?t=")[2].partition(".")
    for bad in (link[:-2] + ("AA" if not link.endswith("AA") else "BB"),  # an altered signature
                link.replace("/D001?", "/D002?"),  # D001's link used for another customer
                link.partition("?t=")[0] + "?t=" + body):  # no signature at all
        status, html = await opened(chat, bad, "张伟")
        assert status == 403 and "链接无效或已过期" in html, bad
    clock.set(clock.now() + timedelta(days=7, minutes=1))
    status, html = await opened(chat, link, "张伟")
    assert status == 403 and "链接无效或已过期" in html
    assert mac


APPS = {  # platform → (how to open a deployment of it, its in-app User-Agent, where its OAuth starts)
    "wecom": (open_wecom, "Mozilla/5.0 wxwork/4.1.22 MicroMessenger/7.0.1",
              "https://open.weixin.qq.com/connect/oauth2/authorize"),
    "feishu": (open_feishu, "Mozilla/5.0 Lark/7.20.0 LarkLocale/zh_CN", "https://accounts.feishu.cn/open-apis/authen/v1/"),
    "dingtalk": (open_dingtalk, "Mozilla/5.0 AliApp(DingTalk/7.6.0) DingTalk(7.6.0)", "requestAuthCode"),
}
ADD_CODE = {"wecom": "add_oauth_code", "feishu": "add_oauth_code", "dingtalk": "add_auth_code"}


@pytest.mark.parametrize("app", list(APPS))
async def test_inside_the_app_the_member_is_named_by_oauth(app: str, tmp_path: Path, clock: FixedClock,
                                                           aiohttp_client: Any, aiohttp_server: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment of one app (emulator off): the page goes through the app's own login step (WeCom/Feishu: silent
    OAuth redirect; DingTalk: a page asking its client for a login-free code); the code names the member, once; a
    code of another platform or a persona parameter means nothing there."""
    opener, agent, authorize = APPS[app]
    chat = await opener(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    fake = chat.fake  # type: ignore[attr-defined]
    link = page_link(chat.service.cfg)("D001", clock.now()).removeprefix("http://127.0.0.1:8080")
    r = await chat.client.get(link, headers={"User-Agent": agent}, allow_redirects=False)
    if app == "dingtalk":
        html = await r.text()
        assert r.status == 200 and authorize in html and f'"http://127.0.0.1:8080{link}"' in html
    else:
        assert r.status == 302 and r.headers["Location"].startswith(authorize)
        assert quote(f"http://127.0.0.1:8080{link}", safe="") in r.headers["Location"]
        assert f"state={app}" in r.headers["Location"]
    add_code = getattr(fake, ADD_CODE[app])
    add_code("code-zw", userid(chat.person("张伟")))
    add_code("code-lq", userid(chat.person("刘强")))
    r = await chat.client.get(f"{link}&code=code-zw&state={app}")
    assert r.status == 200 and f"{RUIFENG} · 客户时间线" in await r.text()
    r = await chat.client.get(f"{link}&code=code-zw&state={app}")  # a code is single use
    assert r.status == 403 and "请在企业微信、钉钉或飞书里打开" in await r.text()
    r = await chat.client.get(f"{link}&code=code-lq&state={app}")
    assert r.status == 403 and "只对负责它的人可见" in await r.text()
    other = "feishu" if app == "wecom" else "wecom"
    add_code("code-zw2", userid(chat.person("张伟")))
    r = await chat.client.get(f"{link}&code=code-zw2&state={other}")  # not a platform this deployment runs
    assert r.status == 403 and RUIFENG not in await r.text()
    r = await chat.client.get(f"{link}&as={chat.person('张伟').id}")  # no emulator here: no personas
    assert r.status == 403 and RUIFENG not in await r.text()
