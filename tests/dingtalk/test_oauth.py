"""A page opened inside DingTalk learns who opened it: login-free code → userId, once, within 5 minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.channels.dingtalk import DingtalkChannel
from bot.channels.dingtalk.client import DingtalkError
from bot.channels.dingtalk.oauth import userid_from_code
from handlers.clock import FixedClock
from tests.dingtalk.fake_server import FakeDingtalk


async def test_a_code_names_the_member_once(channel: DingtalkChannel, fake: FakeDingtalk) -> None:
    fake.add_auth_code("code-1", "042297")
    assert await userid_from_code(channel.client, "code-1") == "042297"
    with pytest.raises(DingtalkError) as got:
        await userid_from_code(channel.client, "code-1")  # single use
    assert got.value.code == 40078 and not got.value.retryable
    [call, _] = fake.calls("getuserinfo")
    assert call.body == {"code": "code-1"} and call.token  # the app's token, in the query


async def test_an_old_code_and_a_revoked_token(channel: DingtalkChannel, fake: FakeDingtalk, clock: FixedClock) -> None:
    fake.add_auth_code("code-2", "u2")
    clock.set(clock.now() + timedelta(minutes=6))
    with pytest.raises(DingtalkError):
        await userid_from_code(channel.client, "code-2")
    fake.add_auth_code("code-3", "u3")
    fake.revoke_tokens()
    assert await userid_from_code(channel.client, "code-3") == "u3"  # 40014: token refetched once
    with pytest.raises(ValueError):
        await userid_from_code(channel.client, "bad code/../x")
