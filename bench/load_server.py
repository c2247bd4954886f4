"""A server for bench.load, in its own process: ``bare`` (an aiohttp handler that reads the body and answers
200) or ``ours`` (one Service with the WeCom, Feishu and DingTalk HTTP-mode callbacks, on SQLite)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aiohttp import web

PATHS = {"wecom": "/wecom/callback", "feishu": "/feishu/events", "dingtalk": "/dingtalk/callback"}
UNUSED_API = "http://127.0.0.1:9"  # no platform call happens on the ack path; nothing listens here


async def bare(request: web.Request) -> web.Response:
    """The baseline: what any aiohttp service does at least — read the body, answer."""
    await request.read()
    return web.Response(text="")


def credentials() -> dict[str, str]:
    """The platforms' app credentials, from the test fakes (the load generator signs with the same)."""
    from tests.dingtalk.fake_server import FakeDingtalk
    from tests.feishu.conftest import ENCRYPT_KEY, VERIFICATION_TOKEN
    from tests.feishu.fake_server import FakeFeishu
    from tests.wecom.conftest import AES_KEY, TOKEN
    from tests.wecom.fake_server import FakeWecom

    w, f, d = FakeWecom(), FakeFeishu(), FakeDingtalk()
    return {"WECOM_CORP_ID": w.corp_id, "WECOM_AGENT_ID": str(w.agent_id), "WECOM_SECRET": w.secret,
            "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY, "FEISHU_APP_ID": f.app_id, "FEISHU_APP_SECRET": f.app_secret,
            "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN, "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY,
            "DINGTALK_CLIENT_ID": d.client_id, "DINGTALK_CLIENT_SECRET": d.client_secret}


def main(mode: str, port: int, workdir: str) -> None:
    if mode == "bare":
        app = web.Application()
        for path in PATHS.values():
            app.router.add_post(path, bare)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
        return
    from bot.config import config_from_dict
    from bot.service import Service
    from tests.dingtalk.fake_server import FakeDingtalk

    os.environ.update(credentials())
    work = Path(workdir)
    cfg = config_from_dict({
        "database": {"url": f"sqlite+aiosqlite:///{work / 'load.db'}"},
        "channels": {
            "local": {"enabled": False},
            "wecom": {"enabled": True, "api_base": UNUSED_API, "media_dir": str(work / "wecom")},
            "feishu": {"enabled": True, "api_base": UNUSED_API, "media_dir": str(work / "feishu")},
            "dingtalk": {"enabled": True, "stream": False, "http_callback_path": PATHS["dingtalk"],
                         "api_base": UNUSED_API, "oapi_base": UNUSED_API, "card_template_id": FakeDingtalk().template_id,
                         "media_dir": str(work / "dingtalk")},
        },
        "logging": {"level": "WARNING"},
        "schedule": {"enabled": False},  # the ack path alone: no timers competing for the core
    })
    service = Service(cfg, dispatch_workers=0)
    web.run_app(service.app(), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
