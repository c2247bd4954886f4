"""OAuth for H5 pages opened inside WeCom (the store QR flow): who is this member?

The redirect domain must equal one of the app's 可信域名 exactly (port included), else WeCom answers
"redirect_uri参数错误" / 50001. A code is single use and lives 5 minutes; exchange it with the same app's
token (``auth/getuserinfo``, not wechatpy's legacy ``user/getuserinfo``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.channels.wecom.client import WecomClient

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
STATE = re.compile(r"^[A-Za-z0-9]{0,128}$")
CODE = re.compile(r"^[A-Za-z0-9_\-.~]{1,512}$")


def authorize_url(corp_id: str, agent_id: int, redirect_uri: str, state: str = "", *,
                  scope: str = "snsapi_base") -> str:
    """Silent (snsapi_base) by default; agentid always included (privateinfo requires it)."""
    if not STATE.match(state):
        raise ValueError("state must be ≤128 letters/digits")
    if scope not in ("snsapi_base", "snsapi_privateinfo"):
        raise ValueError("scope must be snsapi_base or snsapi_privateinfo")
    return (f"{AUTHORIZE}?appid={quote(corp_id, safe='')}&redirect_uri={quote(redirect_uri, safe='')}"
            f"&response_type=code&scope={scope}&state={state}&agentid={agent_id}#wechat_redirect")


async def userid_from_code(client: WecomClient, code: str) -> str | None:
    """The member's userid; None for a non-member (WeCom then answers openid / external_userid)."""
    if not CODE.match(code):
        raise ValueError("malformed OAuth code")
    data = await client.getuserinfo(code)
    userid = data.get("userid") or data.get("UserId")
    return str(userid) if userid else None
