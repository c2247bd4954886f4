"""Decrypted callback XML → the neutral Event.

We read the XML ourselves (with the hardened parser) instead of wechatpy's ``parse_message``: it returns
``UnknownMessage`` for template_card_event, change_contact and file, which are exactly the ones we need.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from bot.channels.wecom.crypto import CallbackRefused, parse_xml
from cards.render_wecom import PICK_QUESTION, parse_button_key
from handlers.event import CardAction, Event, EventKind, Location, Media

PLATFORM = "wecom"
MAX_TEXT = 20000
# Platform bookkeeping: stored (so nothing is lost) but the dispatcher stays silent about it.
SYSTEM_EVENTS = {"LOCATION", "change_contact", "batch_job_result", "unsubscribe", "open_approval_change",
                 "share_agent_change", "inactive_alert", "close_inactive_agent", "reopen_inactive_agent",
                 "low_active_alert", "low_active", "active_restored", "view", "view_miniprogram",
                 "pic_sysphoto", "pic_photo_or_album", "pic_weixin"}


def xml_fields(root: Element) -> dict[str, Any]:
    """Flat text for leaf elements; nested elements become dicts, repeated names become lists."""
    out: dict[str, Any] = {}
    for child in root:
        value: Any = xml_fields(child) if len(child) else (child.text or "").strip()
        if child.tag in out:
            prev = out[child.tag]
            out[child.tag] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = value
    return out


def _list(v: Any) -> list[Any]:
    if v is None or v == "":
        return []
    return v if isinstance(v, list) else [v]


def selected_items(fields: dict[str, Any]) -> dict[str, list[str]]:
    """``SelectedItems/SelectedItem/{QuestionKey, OptionIds/OptionId*}`` → {question key: [option ids]}."""
    items = fields.get("SelectedItems")
    out: dict[str, list[str]] = {}
    if not isinstance(items, dict):
        return out
    for item in _list(items.get("SelectedItem")):
        if not isinstance(item, dict):
            continue
        ids = item.get("OptionIds")
        options = _list(ids.get("OptionId")) if isinstance(ids, dict) else []
        out[str(item.get("QuestionKey", ""))] = [str(o) for o in options if isinstance(o, str)]
    return out


def event_id(fields: dict[str, Any]) -> str:
    """Messages by MsgId; events by sender, time, event, key and task/response/change fields (bare
    FromUserName+CreateTime collides for two events in the same second)."""
    msg_id = fields.get("MsgId")
    if isinstance(msg_id, str) and msg_id:
        return f"msg:{msg_id[:64]}"
    parts = [fields.get(k, "") for k in ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId",
                                          "ResponseCode", "ChangeType", "UserID", "NewUserID")]
    digest = hashlib.sha256("\x1f".join(p if isinstance(p, str) else repr(p) for p in parts).encode()).hexdigest()
    return f"evt:{digest[:48]}"


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    """A nested XML block as a dict; absent or flattened blocks read as empty."""
    return value if isinstance(value, dict) else {}


def _location(lat: Any, lng: Any, label: Any = "") -> Location | None:
    la, ln = _float(lat), _float(lng)
    if la is None or ln is None:
        return None
    try:
        return Location(lat=la, lng=ln, label=str(label or "")[:200])
    except ValidationError:
        return None


def _card_action(fields: dict[str, Any], selected: dict[str, list[str]]) -> CardAction | None:
    parsed = parse_button_key(str(fields.get("EventKey", "")))
    if parsed is None:
        return None
    card_id, action, value = parsed
    if action == PICK_QUESTION:  # "选定" of a dropdown: the chosen option carries the action
        picked = selected.get(PICK_QUESTION) or []
        inner = parse_button_key(f"{card_id}|{picked[0]}") if picked else None
        if inner is None:
            return None
        _, action, value = inner
    try:
        return CardAction(card_id=card_id, action=action, value=value,
                          reply_token=str(fields.get("ResponseCode") or "") or None)
    except ValidationError:
        return None


def to_event(fields: dict[str, Any]) -> Event:
    """One decrypted callback → Event. Unknown shapes become ``other`` rather than a refusal: the
    payload is authentic, and storing it keeps the inbox a complete record."""
    sender = str(fields.get("FromUserName") or "")[:200]
    try:
        sent_at = datetime.fromtimestamp(int(str(fields.get("CreateTime", "0"))), UTC)
    except (ValueError, OverflowError, OSError):
        sent_at = datetime.fromtimestamp(0, UTC)
    base: dict[str, Any] = {"platform": PLATFORM, "event_id": event_id(fields), "sender": sender, "sent_at": sent_at}
    msg_type = str(fields.get("MsgType", ""))
    extra: dict[str, Any] = {"msg_type": msg_type}
    kind = EventKind.other
    text = ""
    media: Media | None = None
    location: Location | None = None
    action: CardAction | None = None
    media_id = str(fields.get("MediaId") or "")

    if msg_type == "text":
        kind, text = EventKind.text, str(fields.get("Content", ""))
    elif msg_type == "image" and media_id:
        kind, media = EventKind.image, Media(ref=media_id, name="photo.jpg", mime="image/jpeg")
        extra["pic_url"] = str(fields.get("PicUrl", ""))[:500]
    elif msg_type == "voice" and media_id:
        fmt = str(fields.get("Format") or "amr").lower()[:10]
        kind, media = EventKind.voice, Media(ref=media_id, name=f"voice.{fmt}", mime=f"audio/{fmt}")
    elif msg_type in ("file", "video") and media_id:
        name = str(fields.get("FileName") or fields.get("Title") or ("video.mp4" if msg_type == "video" else "file"))
        kind, media = EventKind.file, Media(ref=media_id, name=name[:100])
    elif msg_type == "location":
        location = _location(fields.get("Location_X"), fields.get("Location_Y"), fields.get("Label"))
        kind = EventKind.location if location else EventKind.other
    elif msg_type == "link":
        extra["link"] = {k.lower(): str(fields.get(k, ""))[:500] for k in ("Title", "Description", "Url")}
        text = f"{extra['link']['title']} {extra['link']['url']}".strip()
    elif msg_type == "event":
        kind, text, location, action = _event(fields, extra)

    if kind == EventKind.other and (sender == "sys" or (msg_type == "event" and extra.get("event") in SYSTEM_EVENTS)):
        extra["system"] = True
    return Event(**base, kind=kind, text=text[:MAX_TEXT], media=media, location=location, action=action, extra=extra)

STORE_QR = re.compile(r"^https?://[^\s/]+(/[^\s]*)?/store/q/[A-Za-z0-9_.-]{10,512}$")  # bot/store_page.py



def _event(fields: dict[str, Any], extra: dict[str, Any]) -> tuple[EventKind, str, Location | None, CardAction | None]:
    name = str(fields.get("Event", ""))
    key = str(fields.get("EventKey", ""))
    extra["event"] = name[:64]
    if name in ("enter_agent", "subscribe"):
        return EventKind.enter, "", None, None
    if name == "LOCATION":  # reported automatically on entering the app: kept, never treated as a check-in
        extra["precision"] = str(fields.get("Precision", ""))[:20]
        return EventKind.other, "", _location(fields.get("Latitude"), fields.get("Longitude")), None
    if name == "location_select":  # the member picked a place from the menu: a deliberate share
        info = _dict(fields.get("SendLocationInfo"))
        label = info.get("Label") or info.get("Poiname") or ""
        loc = _location(info.get("Location_X"), info.get("Location_Y"), str(label).strip())
        return (EventKind.location if loc else EventKind.other), "", loc, None
    if name in ("click", "view", "view_miniprogram"):
        extra["menu_key"] = key[:500]
        return EventKind.other, "", None, None
    if name in ("scancode_push", "scancode_waitmsg"):
        info = _dict(fields.get("ScanCodeInfo"))
        extra["scan"] = {"key": key[:500], "type": str(info.get("ScanType", ""))[:20],
                         "result": str(info.get("ScanResult", ""))[:1000]}
        if STORE_QR.match(extra["scan"]["result"]):  # our store task code scanned from chat: the link, as if sent
            return EventKind.text, extra["scan"]["result"], None, None
        return EventKind.other, "", None, None
    if name in ("template_card_event", "template_card_menu_event"):
        selected = selected_items(fields)
        extra.update(task_id=str(fields.get("TaskId", ""))[:128], card_type=str(fields.get("CardType", ""))[:32],
                     selected=selected)
        action = _card_action(fields, selected)
        return (EventKind.card_action if action else EventKind.other), "", None, action
    if name == "change_contact":
        extra["change"] = {k: str(fields.get(k, ""))[:64] for k in ("ChangeType", "UserID", "NewUserID")
                           if isinstance(fields.get(k), str)}
    return EventKind.other, "", None, None


def parse_callback(plaintext: str) -> tuple[dict[str, Any], Event]:
    """Decrypted inner XML → (raw fields, Event); malformed XML is refused."""
    root = parse_xml(plaintext)
    if root.tag != "xml":
        raise CallbackRefused("xml", "root element is not <xml>")
    fields = xml_fields(root)
    if not fields.get("FromUserName") or not fields.get("MsgType"):
        raise CallbackRefused("xml", "FromUserName/MsgType missing")
    return fields, to_event(fields)
