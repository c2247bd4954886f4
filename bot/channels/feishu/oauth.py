"""OAuth for H5 pages opened inside Feishu (the store QR flow): who is this member?

Inside the Feishu client the consent step is skipped and the browser comes back to ``redirect_uri``
with ``code`` (single use, 5 minutes; 20003 when reused). The redirect URL must be listed under
开发配置 → 安全设置 → 重定向 URL. The code is exchanged server-side (``authen/v2/oauth/token``), then
``authen/v1/user_info`` names the person by open_id — the same id our identities use.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.channels.feishu.client import FeishuClient

STATE = re.compile(r"^[A-Za-z0-9_-]{0,128}$")
CODE = re.compile(r"^[A-Za-z0-9_\-.~]{1,512}$")


def authorize_url(accounts_base: str, app_id: str, redirect_uri: str, state: str = "") -> str:
    """``accounts_base``: https://accounts.feishu.cn (Lark: https://accounts.larksuite.com)."""
    if not STATE.match(state):
        raise ValueError("state must be ≤128 letters, digits, - or _")
    return (f"{accounts_base.rstrip('/')}/open-apis/authen/v1/authorize?client_id={quote(app_id, safe='')}"
            f"&response_type=code&redirect_uri={quote(redirect_uri, safe='')}&state={state}")


async def open_id_from_code(client: FeishuClient, code: str) -> str | None:
    """The member's open_id under this app; None when Feishu names nobody."""
    if not CODE.match(code):
        raise ValueError("malformed OAuth code")
    info = await client.user_from_code(code)
    open_id = info.get("open_id")
    return str(open_id) if open_id else None
