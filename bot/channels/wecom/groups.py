"""Team pushes to a WeCom group: a self-built app cannot read group messages, but it can push.

Two ways, both optional in config: ``appchat/send`` to a group the app created itself (app visibility must
be the root department), or a group-robot webhook (outbound only, ≤20 messages/min per robot). The
outbox addresses them with the recipients ``@appchat`` and ``@robot``.
"""

from __future__ import annotations

import time

from bot.channels.base import ChannelError
from bot.channels.wecom.client import WecomClient
from bot.ratelimit import IN_FLIGHT_SLACK, RateLimiter

APPCHAT = "@appchat"
ROBOT = "@robot"
GROUP_RECIPIENTS = (APPCHAT, ROBOT)
# markdown content per message: appchat/send takes 2048 bytes (like app messages); only the robot webhook 4096
MARKDOWN_MAX_BYTES = {APPCHAT: 2048, ROBOT: 4096}


class GroupSender:
    def __init__(self, client: WecomClient, *, appchat_id: str, robot_key: str | None, robot_rate_per_min: int) -> None:
        self.client = client
        self.appchat_id = appchat_id
        self._robot_key = robot_key
        self.robot_limiter = RateLimiter([(robot_rate_per_min, 60.0)], slack=IN_FLIGHT_SLACK)

    async def send(self, recipient: str, msgtype: str, content: str) -> str | None:
        """``msgtype`` text or markdown; returns the platform message id when there is one."""
        body = {"msgtype": msgtype, msgtype: {"content": content}}
        if recipient == APPCHAT:
            if not self.appchat_id:
                raise ChannelError("channels.wecom.appchat_id is not configured", retryable=False)
            data = await self.client.appchat_send({"chatid": self.appchat_id, **body, "safe": 0})
            return str(data.get("msgid") or "") or None
        if recipient == ROBOT:
            if not self._robot_key:
                raise ChannelError("group robot webhook key env var is not set", retryable=False)
            wait = self.robot_limiter.reserve(ROBOT, time.monotonic())
            if wait > 0:  # WeCom refuses above 20/min per robot: wait in the outbox instead
                raise ChannelError("group robot: 20 messages/min reached", retryable=True, retry_after=wait)
            await self.client.webhook_send(self._robot_key, body)
            return None
        raise ChannelError(f"unknown group recipient {recipient!r}", retryable=False)
