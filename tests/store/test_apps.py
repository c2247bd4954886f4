"""Inside WeCom, Feishu or DingTalk the QR page learns who is scanning from the app itself (no separate login):
WeCom/Feishu through their silent OAuth redirect, DingTalk through a login-free code its client hands the page.
Each against that platform's fake API; codes are single use, a code of a platform not deployed names nobody,
and personas mean nothing without the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from handlers.clock import FixedClock
from tests.dingtalk.chat import open_chat as open_dingtalk
from tests.feishu.chat import open_chat as open_feishu
from tests.harness import userid
from tests.store.walk import PUBLIC, forms, qr_path
from tests.wecom.chat import open_chat as open_wecom

APPS = {  # platform → (opener, its in-app User-Agent, what the first answer holds, how to hand out a code)
    "wecom": (open_wecom, "Mozilla/5.0 wxwork/4.1.22 MicroMessenger/7.0.1",
              "https://open.weixin.qq.com/connect/oauth2/authorize", "add_oauth_code"),
    "feishu": (open_feishu, "Mozilla/5.0 Lark/7.20.0 LarkLocale/zh_CN",
               "https://accounts.feishu.cn/open-apis/authen/v1/authorize", "add_oauth_code"),
    "dingtalk": (open_dingtalk, "Mozilla/5.0 AliApp(DingTalk/7.6.0) DingTalk(7.6.0)",
                 "requestAuthCode", "add_auth_code"),
}


@pytest.mark.parametrize("app", list(APPS))
async def test_the_app_names_who_scans(app: str, tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
                                       aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    opener, agent, first, add_code = APPS[app]
    chat = await opener(tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
    fake = chat.fake  # type: ignore[attr-defined]
    path = await qr_path(chat.service, clock.now())
    r = await chat.client.get(path, headers={"User-Agent": agent}, allow_redirects=False)
    if app == "dingtalk":  # the page asks DingTalk's client for a code, then comes back with it
        html = await r.text()
        assert r.status == 200 and first in html and f'"{PUBLIC}{path}"' in html
    else:
        where = r.headers["Location"]
        assert r.status == 302 and where.startswith(first) and f"state={app}" in where
        assert quote(f"{PUBLIC}{path}", safe="") in where
    getattr(fake, add_code)("code-zl", userid(chat.person("郑丽")))
    getattr(fake, add_code)("code-zw", userid(chat.person("张伟")))
    r = await chat.client.get(f"{path}?code=code-zl&state={app}")
    html = await r.text()
    assert r.status == 200 and "导购：郑丽" in html and forms(html)[0][1]["do"] == "start"
    r = await chat.client.get(f"{path}?code=code-zl&state={app}")  # single use
    assert r.status == 403 and "请在企业微信、钉钉或飞书里打开" in await r.text()
    r = await chat.client.get(f"{path}?code=code-zw&state={app}")  # a rep, not staff of this store
    assert r.status == 403 and "其他门店" in await r.text()
    other = "feishu" if app != "feishu" else "wecom"
    getattr(fake, add_code)("code-zl2", userid(chat.person("郑丽")))
    r = await chat.client.get(f"{path}?code=code-zl2&state={other}")  # a platform this deployment does not run
    assert r.status == 403
    r = await chat.client.get(f"{path}?as={chat.person('郑丽').id}")  # no emulator here: no personas
    assert r.status == 403
