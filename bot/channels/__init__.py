"""The channel registry: every sub-package that exports a ``SPEC`` is a platform.

Discovery instead of a hand-kept list, so a new platform is one new folder; the service, ``doctor``
and the start-up check ("enabled but not built") all read ``registry()``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import TYPE_CHECKING

from bot.channels.base import ChannelSpec
from bot.config import ConfigError

if TYPE_CHECKING:
    from bot.config import Config


@cache
def registry() -> dict[str, ChannelSpec]:
    """Spec by config section name, for every channel folder in this package."""
    specs: dict[str, ChannelSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "SPEC", None)
        if isinstance(spec, ChannelSpec):
            specs[spec.section] = spec
    return specs


def enabled_specs(cfg: Config) -> dict[str, ChannelSpec]:
    """The spec of every enabled ``channels.<name>``, in config order. An enabled section with no channel
    folder behind it is a ConfigError (for ``serve``, ``jobs`` and ``doctor`` alike), never a silent no-op."""
    specs = registry()
    out: dict[str, ChannelSpec] = {}
    for name in type(cfg.channels).model_fields:
        if not getattr(getattr(cfg.channels, name), "enabled", False):
            continue
        if name not in specs:
            raise ConfigError(f"channels.{name}.enabled: this version has no {name} channel yet; set it to false")
        out[name] = specs[name]
    return out
