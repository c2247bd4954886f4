"""WeCom (企业微信) self-built app channel: callbacks, template cards, media, groups, OAuth."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelDeps, ChannelSpec
from bot.channels.wecom.channel import WecomChannel, WecomCredentials, credentials_from_env
from bot.channels.wecom.doctor import check_wecom


def build(deps: ChannelDeps) -> Channel:
    from bot.chart_links import ChartLinks  # it imports the pages, which import this package

    cfg = deps.cfg
    section = cfg.channels.wecom
    return WecomChannel(section, credentials_from_env(section), deps.clock, db=deps.db,
                        public_url=cfg.server.public_url, source=cfg.org.name, tz=cfg.org.tz,
                        picture=ChartLinks(cfg, deps.clock.now).picture)


SPEC = ChannelSpec(name="wecom", label="企业微信", section="wecom", build=build, doctor=check_wecom)

__all__ = ["SPEC", "WecomChannel", "WecomCredentials", "credentials_from_env"]
