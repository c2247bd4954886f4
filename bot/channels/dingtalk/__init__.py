"""DingTalk (钉钉) internal-app robot channel: Stream mode, card platform cards with callbacks, media."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelDeps, ChannelSpec
from bot.channels.dingtalk.channel import DingtalkChannel, DingtalkCredentials, credentials_from_env
from bot.channels.dingtalk.doctor import check_dingtalk


def build(deps: ChannelDeps) -> Channel:
    section = deps.cfg.channels.dingtalk
    return DingtalkChannel(section, credentials_from_env(section), deps.clock, tz=deps.cfg.org.tz)


SPEC = ChannelSpec(name="dingtalk", label="钉钉", section="dingtalk", build=build, doctor=check_dingtalk)

__all__ = ["SPEC", "DingtalkChannel", "DingtalkCredentials", "credentials_from_env"]
