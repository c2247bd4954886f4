"""The decrypted-XML parser: properties over arbitrary content, and event ids that do not collide."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.wecom.crypto import CallbackRefused
from bot.channels.wecom.inbound import event_id, parse_callback
from handlers.event import EventKind

XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")


def text_xml(user: str, content: str, msg_id: int = 1) -> str:
    return (f"<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1</AgentID></xml>")


@settings(max_examples=200)
@given(content=st.text(XML_CHARS, max_size=600).filter(lambda t: "]]>" not in t),
       user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=64),
       msg_id=st.integers(min_value=1, max_value=2**63 - 1))
def test_text_round_trip(content: str, user: str, msg_id: int) -> None:
    _, ev = parse_callback(text_xml(user, content, msg_id))
    assert ev.kind == EventKind.text and ev.text == content.strip() and ev.sender == user
    assert ev.event_id == f"msg:{msg_id}"


@settings(max_examples=300)
@given(st.binary(max_size=400) | st.text(max_size=400))
def test_garbage_is_refused_or_parsed_never_crashes(doc: bytes | str) -> None:
    try:
        parse_callback(doc if isinstance(doc, str) else doc.decode("latin-1"))
    except CallbackRefused:
        pass


def test_event_ids_distinguish_same_second_events() -> None:
    base = {"FromUserName": "u", "CreateTime": "1700000000", "MsgType": "event"}
    ids = {
        event_id({**base, "Event": "enter_agent"}),
        event_id({**base, "Event": "LOCATION"}),
        event_id({**base, "Event": "template_card_event", "EventKey": "c|confirm", "TaskId": "t", "ResponseCode": "r1"}),
        event_id({**base, "Event": "template_card_event", "EventKey": "c|confirm", "TaskId": "t", "ResponseCode": "r2"}),
        event_id({**base, "Event": "change_contact", "ChangeType": "update_user", "UserID": "a"}),
        event_id({**base, "Event": "change_contact", "ChangeType": "update_user", "UserID": "b"}),
    }
    assert len(ids) == 6 and all(len(i) <= 200 for i in ids)
    same = {**base, "Event": "click", "EventKey": "menu"}
    assert event_id(same) == event_id(dict(same))


def test_out_of_range_location_becomes_other() -> None:
    xml = ("<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>location</MsgType>"
           "<Location_X>123</Location_X><Location_Y>500</Location_Y><MsgId>9</MsgId></xml>")
    _, ev = parse_callback(xml)
    assert ev.kind == EventKind.other and ev.location is None


def test_oversized_card_values_degrade_to_other() -> None:
    key = "cid|" + "a" * 100  # an action longer than the neutral model allows
    xml = ("<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
           f"<Event>template_card_event</Event><EventKey><![CDATA[{key}]]></EventKey><TaskId>t</TaskId>"
           "<ResponseCode>r</ResponseCode></xml>")
    _, ev = parse_callback(xml)
    assert ev.kind == EventKind.other and ev.action is None
