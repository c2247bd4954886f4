"""The ``chat`` fixture: every scenario in this folder runs once per platform.

Platforms are found, not listed: the emulator, plus every ``tests/<platform>/chat.py`` with an
``open_chat`` (see tests/harness.py). A new platform's fake makes every scenario run on it unchanged.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import tests
from handlers.clock import FixedClock
from tests.harness import Chat, open_local

Opener = Callable[..., Awaitable[Chat]]


def _platforms() -> dict[str, Opener]:
    found: dict[str, Opener] = {"local": open_local}
    for info in sorted(pkgutil.iter_modules(tests.__path__), key=lambda m: m.name):
        if info.ispkg and importlib.util.find_spec(f"tests.{info.name}.chat") is not None:
            found[info.name] = importlib.import_module(f"tests.{info.name}.chat").open_chat
    return found


PLATFORMS = _platforms()


@pytest.fixture(params=list(PLATFORMS))
async def chat(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, aiohttp_client: Any,
               aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> Chat:
    return await PLATFORMS[request.param](tmp_path, clock, aiohttp_client, aiohttp_server, monkeypatch)
