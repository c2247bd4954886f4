"""Stream callback data → the neutral Event.

Robot messages (topic ``/v1.0/im/bot/messages/get``) are read from the raw dict rather than through the
SDK's ``ChatbotMessage``: it parses only text, picture and richText and raises ``KeyError`` when a
``text`` message comes without ``text`` (quota-exceeded messages carry no content). Card presses
(``/v1.0/card/instances/callback``) carry our button key in the template's callback params; its
nesting depends on the template, so the usual places are probed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from cards.render_dingtalk import parse_button_key
from handlers.event import CardAction, Event, EventKind, Media

PLATFORM = "dingtalk"
MAX_TEXT = 20000
QUOTA_EXCEEDED = 20001  # the Webhook/Stream monthly quota is used up: messages arrive without content


def sender_of(data: dict[str, Any]) -> str:
    """The org userId (staffId) people are linked by; an external user has none, only an encrypted id."""
    staff = str(data.get("senderStaffId") or data.get("userId") or "")
    if staff:
        return staff[:200]
    other = str(data.get("senderId") or "")
    return f"ext:{other[:190]}" if other else ""


def _sent_at(ms: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, UTC)


def _content(data: dict[str, Any]) -> dict[str, Any]:
    c = data.get("content")
    if isinstance(c, str):  # some payloads carry content JSON-encoded
        try:
            c = json.loads(c)
        except ValueError:
            return {}
    return c if isinstance(c, dict) else {}


def message_event(data: dict[str, Any], frame_id: str | None) -> Event:
    """One robot message → Event; the dedupe key is ``msgId`` (the frame's messageId when absent)."""
    msg_id = str(data.get("msgId") or "") or f"frame:{frame_id or ''}"
    msg_type = str(data.get("msgtype") or "")
    content = _content(data)
    extra: dict[str, Any] = {
        "msg_type": msg_type[:32], "conversation_type": "group" if str(data.get("conversationType")) == "2" else "single",
        "conversation_id": str(data.get("conversationId") or "")[:200], "frame_id": str(frame_id or "")[:100]}
    if data.get("conversationTitle"):
        extra["conversation_title"] = str(data["conversationTitle"])[:100]
    kind, text, media = EventKind.other, "", None
    code = str(content.get("downloadCode") or "")[:500]
    if msg_type == "text":
        body = data.get("text")
        if isinstance(body, dict):  # absent when the quota is used up (errorCode 20001)
            kind, text = EventKind.text, str(body.get("content", "")).strip()
    elif msg_type == "richText":
        raw_items = content.get("richText")
        items: list[Any] = raw_items if isinstance(raw_items, list) else []
        text = "".join(str(i.get("text", "")) for i in items if isinstance(i, dict)).strip()
        pictures = [str(i.get("downloadCode"))[:500] for i in items if isinstance(i, dict) and i.get("downloadCode")]
        kind = EventKind.text if text else (EventKind.image if pictures else EventKind.other)
        if pictures:
            extra["pictures"] = pictures[:9]
            if kind == EventKind.image:
                media = Media(ref=pictures[0], name="photo.jpg", mime="image/jpeg")
    elif msg_type == "picture" and code:
        kind, media = EventKind.image, Media(ref=code, name="photo.jpg", mime="image/jpeg")
    elif msg_type == "audio" and code:
        # DingTalk's own transcript is the message; the file is kept as evidence (container not documented)
        kind, text = EventKind.voice, str(content.get("recognition") or "").strip()
        media = Media(ref=code, name="voice", mime="")
        if content.get("duration") is not None:
            extra["duration"] = str(content.get("duration"))[:20]
    elif msg_type == "file" and code:
        kind, media = EventKind.file, Media(ref=code, name=str(content.get("fileName") or "file")[:100])
    elif msg_type == "video" and code:
        ext = "".join(c for c in str(content.get("videoType") or "mp4")[:8] if c.isalnum()) or "mp4"
        kind, media = EventKind.file, Media(ref=code, name=f"video.{ext}", mime=f"video/{ext}")
    error = data.get("errorCode")
    if error is not None:
        extra["error_code"] = str(error)[:20]
        if str(error) == str(QUOTA_EXCEEDED):  # nothing to read and nothing we could answer with
            extra["system"] = True
    sender = sender_of(data)
    if not sender:  # nobody to attribute it to or answer: kept in the inbox, never dispatched
        extra["system"] = True
    return Event(platform=PLATFORM, event_id=f"msg:{msg_id[:190]}", kind=kind, sender=sender,
                 sent_at=_sent_at(data.get("createAt")), text=text[:MAX_TEXT], media=media, extra=extra)


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def press_params(data: dict[str, Any]) -> dict[str, Any]:
    """The pressed button's callback params, wherever the template put them."""
    content = _json(data.get("content"))
    for holder in (content.get("cardPrivateData"), content.get("userPrivateData"), content):
        params = _json(holder).get("params") if holder is not None else None
        if isinstance(params, dict) and params:
            return params
    for key in ("actionData", "params"):
        if isinstance(content.get(key), dict):
            return dict(content[key])
    return {}


def card_event(data: dict[str, Any], frame_id: str | None, received_at: datetime) -> Event:
    """One card press → Event (dedupe key: the frame's messageId, which a redelivery keeps)."""
    params = press_params(data)
    parsed = parse_button_key(str(params.get("key") or ""))
    action: CardAction | None = None
    if parsed is not None:
        card_id, name, value = parsed
        picked = params.get("value")  # a template control that sends its own value (e.g. a date picker)
        try:
            action = CardAction(card_id=card_id, action=name, value=value or str(picked or ""))
        except ValidationError:
            action = None
    out_track = str(data.get("outTrackId") or "")[:64]
    digest = hashlib.sha256(json.dumps([out_track, sender_of(data), params], sort_keys=True).encode()).hexdigest()
    event_id = f"card:{frame_id}" if frame_id else f"card:{digest[:48]}"
    return Event(platform=PLATFORM, event_id=event_id[:200], kind=EventKind.card_action if action else EventKind.other,
                 sender=sender_of(data), sent_at=received_at, action=action,
                 extra={"out_track_id": out_track, "space_type": str(data.get("spaceType") or "")[:20],
                        **({} if action else {"system": True})})  # not ours: kept, never answered
