"""Slow understanding after the ack: the optional LLM runs here, outside any write transaction.

Its answer travels to the capture handler inside the event (``extra["understanding"]``), so the
handler's transaction stays short and a crash simply asks again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from handlers.customers import DirectoryCache
from handlers.event import Event, EventKind
from handlers.understanding import LLMSettings, understand_with_llm
from storage.db import Database

UNDERSTANDING_KEY = "understanding"


class LLMUnderstanding:
    """An inbox enricher: text (and transcribed voice) gets the LLM's validated reading."""

    def __init__(self, db: Database, directory: DirectoryCache, settings: LLMSettings, tz: ZoneInfo) -> None:
        self.db = db
        self.directory = directory
        self.settings = settings
        self.tz = tz

    async def __call__(self, event: Event) -> Event:
        if not self.settings.enabled or event.kind not in (EventKind.text, EventKind.voice) or not event.text.strip():
            return event
        async with self.db.session() as s:
            directory = await self.directory.get(s)
        u = await understand_with_llm(event.text, event.sent_at.astimezone(self.tz), directory, self.settings)
        return event.model_copy(update={"extra": {**event.extra, UNDERSTANDING_KEY: u.to_contract()}})
