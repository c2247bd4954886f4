"""Who opened this page inside DingTalk? (the store QR flow): the H5 micro-app login-free code → userId.

The page asks the DingTalk client for a code (``dd.runtime.permission.requestAuthCode({corpId})``); the
server exchanges it at ``topapi/v2/user/getuserinfo`` on the legacy ``oapi`` host, with that host's own
``gettoken`` token in ``?access_token=``. A code is single use and lives 5 minutes, so it is exchanged at
once and never stored.
"""

from __future__ import annotations

import re

from bot.channels.dingtalk.client import DingtalkClient, DingtalkError

CODE = re.compile(r"^[A-Za-z0-9_\-.~]{1,256}$")


async def userid_from_code(client: DingtalkClient, code: str) -> str:
    """The member's userId for a login-free code; DingtalkError for a used, expired or foreign code."""
    if not CODE.match(code):
        raise ValueError("malformed DingTalk auth code")
    data = await client.legacy_call("/topapi/v2/user/getuserinfo", {"code": code})
    result = data.get("result")
    userid = result.get("userid") if isinstance(result, dict) else None
    if not isinstance(userid, str) or not userid:
        raise DingtalkError(None, "getuserinfo answered without userid", retryable=False)
    return userid
