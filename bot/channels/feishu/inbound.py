"""A verified Feishu envelope (schema 2.0) → the neutral Event.

Messages are deduplicated by ``message_id`` (Feishu's own advice: the same message may come back
under a new ``event_id``), everything else by ``event_id``; the inbox's unique key makes that hold
across restarts for as long as Feishu retries (up to ~7 h). Card clicks become ``card_action``
events carrying only our opaque card id, action and value; the server decides what they mean.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot.channels.base import CallbackRefused
from cards.render_feishu import parse_press
from handlers.event import CardAction, Event, EventKind, Location, Media

PLATFORM = "feishu"
MAX_TEXT = 20000
MESSAGE = "im.message.receive_v1"
CARD = "card.action.trigger"
ENTER = "im.chat.access_event.bot_p2p_chat_entered_v1"
_MENTION = re.compile(r"@_user_\d+")


def _sent_at(raw: Any) -> datetime:
    """``create_time`` is ms in message events and µs in callbacks: read it by its digit count."""
    try:
        n = int(str(raw))
        return datetime.fromtimestamp(n / (1_000_000 if len(str(n)) >= 16 else 1000), UTC)
    except (ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _content(message: dict[str, Any]) -> dict[str, Any]:
    """``content`` is a JSON string inside the JSON (decoded twice); anything else reads as empty."""
    try:
        c = json.loads(str(message.get("content") or "{}"))
    except (ValueError, RecursionError):
        return {}
    return c if isinstance(c, dict) else {}


def _text(raw: str, mentions: list[Any]) -> str:
    """``@_user_1 今天…`` → the words: leading mentions (the bot, in a group) go, others read ``@name``."""
    names = {str(m.get("key")): str(m.get("name") or "") for m in mentions if isinstance(m, dict)}
    rest = raw.lstrip()
    while (m := _MENTION.match(rest)) is not None:
        rest = rest[m.end():].lstrip()
    return _MENTION.sub(lambda m: f"@{names.get(m.group(0), '')}", rest).strip()


def _post_text(content: dict[str, Any], mentions: list[Any]) -> tuple[str, str | None]:
    """Rich text: the words in reading order, plus the first image (a photo sent with a caption)."""
    raw = content.get("content")
    body: list[Any] = raw if isinstance(raw, list) else []
    words: list[str] = [str(content.get("title") or "")]
    image: str | None = None
    for line in body:
        parts = []
        for el in line if isinstance(line, list) else []:
            if not isinstance(el, dict):
                continue
            if el.get("tag") in ("text", "a", "md"):
                parts.append(str(el.get("text") or ""))
            elif el.get("tag") == "at":
                parts.append(str(el.get("user_id") or ""))
            elif el.get("tag") == "img" and image is None:
                image = str(el.get("image_key") or "") or None
        words.append("".join(parts))
    return _text("\n".join(w for w in words if w), mentions), image


def _message(event: dict[str, Any], base: dict[str, Any]) -> Event:
    message = _dict(event.get("message"))
    kind_raw = str(message.get("message_type") or "")
    content = _content(message)
    raw_mentions = message.get("mentions")
    mentions: list[Any] = raw_mentions if isinstance(raw_mentions, list) else []
    message_id = str(message.get("message_id") or "")[:100]
    extra: dict[str, Any] = {"msg_type": kind_raw[:32], "message_id": message_id,
                             "chat_id": str(message.get("chat_id") or "")[:100],
                             "chat_type": str(message.get("chat_type") or "")[:16]}
    kind, text = EventKind.other, ""
    media: Media | None = None
    location: Location | None = None
    if kind_raw == "text":
        kind, text = EventKind.text, _text(str(content.get("text") or ""), mentions)
    elif kind_raw == "post":
        text, image = _post_text(content, mentions)
        kind = EventKind.text if text else EventKind.other
        if image and not text:
            kind, media = EventKind.image, Media(ref=image, name="photo.jpg", mime="image/jpeg")
        elif image:
            extra["image_key"] = image
    elif kind_raw == "image" and content.get("image_key"):
        kind, media = EventKind.image, Media(ref=str(content["image_key"])[:200], name="photo.jpg", mime="image/jpeg")
    elif kind_raw == "audio" and content.get("file_key"):
        kind, media = EventKind.voice, Media(ref=str(content["file_key"])[:200], name="voice.opus", mime="audio/opus")
        extra["duration_ms"] = content.get("duration") if isinstance(content.get("duration"), int) else None
    elif kind_raw in ("file", "media") and content.get("file_key"):
        name = str(content.get("file_name") or ("video.mp4" if kind_raw == "media" else "file"))[:100]
        kind, media = EventKind.file, Media(ref=str(content["file_key"])[:200], name=name)
    elif kind_raw == "location":
        try:
            location = Location(lat=float(content.get("latitude", "")), lng=float(content.get("longitude", "")),
                                label=str(content.get("name") or "")[:200])
            kind = EventKind.location
        except (TypeError, ValueError, ValidationError):
            location = None
    event_id = f"msg:{message_id}" if message_id else base["event_id"]
    return Event(**{**base, "event_id": event_id}, kind=kind, text=text[:MAX_TEXT], media=media,
                 location=location, extra=extra)


def _press(event: dict[str, Any]) -> CardAction | None:
    action = _dict(event.get("action"))
    found = parse_press(_dict(action.get("value")), option=action.get("option"),
                        input_value=action.get("input_value"))
    if found is None:
        return None
    card_id, name, value = found
    try:
        return CardAction(card_id=card_id, action=name, value=value)
    except ValidationError:
        return None


def to_event(envelope: dict[str, Any]) -> Event:
    """A 2.0 envelope → Event. Unknown event types are stored as ``other`` (system): authentic, kept, unanswered."""
    header = _dict(envelope.get("header"))
    event = _dict(envelope.get("event"))
    event_type = str(header.get("event_type") or "")[:100]
    event_id = str(header.get("event_id") or "")[:150]
    if not event_id:
        raise CallbackRefused("malformed", "header.event_id missing")
    if event_type == CARD:
        operator = _dict(event.get("operator"))
        sender = str(operator.get("open_id") or "")[:200]
        base: dict[str, Any] = {"platform": PLATFORM, "event_id": f"card:{event_id}", "sender": sender,
                                "sent_at": _sent_at(header.get("create_time"))}
        action = _press(event)
        context = _dict(event.get("context"))
        extra = {"event_type": event_type, "message_id": str(context.get("open_message_id") or "")[:100]}
        if action is None:
            return Event(**base, kind=EventKind.other, extra={**extra, "system": True})
        return Event(**base, kind=EventKind.card_action, action=action, extra=extra)
    sender_ids = _dict(_dict(event.get("sender")).get("sender_id")) or _dict(event.get("operator_id"))
    sender = str(sender_ids.get("open_id") or "")[:200]
    base = {"platform": PLATFORM, "event_id": f"evt:{event_id}", "sender": sender,
            "sent_at": _sent_at(_dict(event.get("message")).get("create_time") or header.get("create_time"))}
    if event_type == MESSAGE:
        if not sender:
            raise CallbackRefused("malformed", "message without sender open_id")
        return _message(event, base)
    if event_type == ENTER:
        return Event(**base, kind=EventKind.enter, extra={"event_type": event_type})
    return Event(**base, kind=EventKind.other, extra={"event_type": event_type, "system": True})
