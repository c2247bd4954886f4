"""Live connections of the emulator: person id → open WebSockets."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any

from aiohttp import web


class Hub:
    def __init__(self) -> None:
        self._sockets: dict[int, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, person_id: int, ws: web.WebSocketResponse) -> None:
        self._sockets[person_id].add(ws)

    def remove(self, person_id: int, ws: web.WebSocketResponse) -> None:
        self._sockets[person_id].discard(ws)

    async def publish(self, person_id: int, payload: dict[str, Any]) -> None:
        for ws in list(self._sockets.get(person_id, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json(payload)

    async def close(self) -> None:
        for sockets in self._sockets.values():
            for ws in list(sockets):
                await ws.close()
        self._sockets.clear()
