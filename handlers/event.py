"""The platform-neutral Event every channel produces and every handler consumes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

TRANSCRIPT_ERROR = "transcript_error"  # extra key: why a voice message has no text (for the rep, in Chinese)
TRANSCRIPT_SOURCE = "transcript_source"  # extra key: who transcribed it ("asr", or the platform's name)
EVIDENCE = "evidence"  # extra key: the stored file (sha256, path, mime, bytes, exif, clean_path)
MEDIA_ERROR = "media_error"  # extra key: why a photo or file was refused (for the rep, in Chinese)


class EventKind(StrEnum):
    text = "text"
    image = "image"
    voice = "voice"
    file = "file"
    location = "location"
    card_action = "card_action"
    enter = "enter"  # the user opened the bot's chat
    other = "other"


class Media(BaseModel):
    """A file the platform holds; ``ref`` is the platform's id (media_id, file_key, download code)."""

    ref: str
    name: str = ""
    mime: str = ""
    path: str | None = None  # set once downloaded into our media store


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    label: str = ""


class CardAction(BaseModel):
    card_id: str = Field(max_length=64)
    action: str = Field(max_length=64)
    value: str = Field("", max_length=500)
    reply_token: str | None = Field(None, max_length=500)  # single-use token some platforms need to update the card in place


class Event(BaseModel):
    platform: str
    event_id: str = Field(max_length=200)
    kind: EventKind
    sender: str = Field(max_length=200)  # the platform's user id
    sent_at: datetime
    text: str = Field("", max_length=20000)
    media: Media | None = None
    location: Location | None = None
    action: CardAction | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
