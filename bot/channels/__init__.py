"""The channel registry: every sub-package that exports a ``SPEC`` is a platform.

Discovery instead of a hand-kept list, so a new platform is one new folder; the service, ``doctor``
and the start-up check ("enabled but not built") all read ``registry()``.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from bot.channels.base import ChannelSpec


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
