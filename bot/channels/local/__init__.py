"""The local channel: the web chat emulator served at ``/`` (a real channel whose platform is our transcript)."""

from __future__ import annotations

from bot.channels.base import Channel, ChannelDeps, ChannelSpec
from bot.channels.local.channel import LocalChannel
from bot.guard import WebGuard


def build(deps: ChannelDeps) -> Channel:
    local = deps.cfg.channels.local
    return LocalChannel(deps.db, deps.clock, local.media_dir, local.max_upload_bytes,
                        deps.guard or WebGuard.from_config(deps.cfg))


SPEC = ChannelSpec(name="local", label="本地模拟器", section="local", build=build)

__all__ = ["SPEC", "LocalChannel"]
