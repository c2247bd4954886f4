"""Feishu / Lark (飞书) self-built app channel: events and card callbacks over HTTP, JSON 2.0 cards, media."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelDeps, ChannelSpec
from bot.channels.feishu.channel import FeishuChannel, FeishuCredentials, credentials_from_env
from bot.channels.feishu.doctor import check_feishu


def build(deps: ChannelDeps) -> Channel:
    section = deps.cfg.channels.feishu
    return FeishuChannel(section, credentials_from_env(section), deps.clock, public_url=deps.cfg.server.public_url,
                         db=deps.db)


SPEC = ChannelSpec(name="feishu", label="飞书", section="feishu", build=build, doctor=check_feishu)

__all__ = ["SPEC", "FeishuChannel", "FeishuCredentials", "credentials_from_env"]
