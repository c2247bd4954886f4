"""The callback URL: verification, and every kind of bad request refused with 4xx and no inbox row."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wecom.crypto import signature
from bot.service import Service
from handlers.clock import FixedClock
from storage.models import InboxEvent
from tests.wecom.conftest import AES_KEY, REP_USERID, TOKEN
from tests.wecom.fake_server import Callbacks, FakeWecom

URL = "/wecom/callback"


async def inbox_count(service: Service) -> int:
    async with service.db.session() as s:
        return (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one()


def now_ts(clock: FixedClock) -> int:
    return int(clock.now().timestamp())


async def test_get_verification_answers_echostr(wclient: TestClient, fake: FakeWecom, clock: FixedClock) -> None:
    reply = WeChatCrypto(TOKEN, AES_KEY, fake.corp_id).encrypt_message("1616140317555161061", "nn", str(now_ts(clock)))
    enc = reply.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    sig = signature(TOKEN, str(now_ts(clock)), "nn", enc)
    r = await wclient.get(URL, params={"msg_signature": sig, "timestamp": str(now_ts(clock)), "nonce": "nn",
                                       "echostr": enc})
    assert r.status == 200 and await r.text() == "1616140317555161061"
    assert r.headers["Content-Type"].startswith("text/plain")
    r = await wclient.get(URL, params={"msg_signature": "0" * 40, "timestamp": str(now_ts(clock)), "nonce": "nn",
                                       "echostr": enc})
    assert r.status == 403


async def test_bad_callbacks_are_refused_without_side_effects(wclient: TestClient, wservice: Service,
                                                              fake: FakeWecom, callbacks: Callbacks,
                                                              clock: FixedClock) -> None:
    inner = callbacks.text(REP_USERID, "今天拜访了瑞丰机械", 42, now_ts(clock))
    params, body = callbacks.sign(inner, now_ts(clock))
    other_corp = Callbacks(TOKEN, AES_KEY, "wwSOMEONEELSE", fake.agent_id)
    wrong_agent = Callbacks(TOKEN, AES_KEY, fake.corp_id, 999)
    stale_ts = now_ts(clock) - 301
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><xml><Encrypt>&lol3;</Encrypt></xml>')
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'

    cases: list[tuple[str, dict[str, str], bytes, int]] = [
        ("forged signature", {**params, "msg_signature": "a" * 40}, body, 403),
        ("wrong corp id", *other_corp.sign(other_corp.text(REP_USERID, "x", 43, now_ts(clock)), now_ts(clock)), 403),
        ("other app", *wrong_agent.sign(wrong_agent.text(REP_USERID, "x", 44, now_ts(clock)), now_ts(clock)), 403),
        ("stale timestamp", *callbacks.sign(inner, stale_ts), 403),
        ("future timestamp", *callbacks.sign(inner, now_ts(clock) + 301), 403),
        ("no timestamp", {k: v for k, v in params.items() if k != "timestamp"}, body, 403),
        ("malformed outer XML", params, b"<xml><Encrypt>abc", 400),
        ("not XML", params, b"\x00\xff garbage", 400),
        ("XML bomb", params, bomb, 400),
        ("external entity", params, xxe, 400),
        ("oversized body", params, b"<xml><Encrypt>" + b"A" * 70000 + b"</Encrypt></xml>", 413),
        ("malformed inner XML", *callbacks.sign("<xml><FromUserName>x</From", now_ts(clock)), 400),
        ("inner XML bomb", *callbacks.sign('<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>', now_ts(clock)), 400),
        ("inner without sender", *callbacks.sign("<xml><MsgType>text</MsgType></xml>", now_ts(clock)), 400),
    ]
    for name, p, b, status in cases:
        r = await wclient.post(URL, params=p, data=b, headers={"Content-Type": "text/xml"})
        assert r.status == status, (name, r.status, await r.text())
    assert await inbox_count(wservice) == 0
    assert fake.delivered == []

    r = await wclient.post(URL, params=params, data=body)  # the genuine one still goes through
    assert r.status == 200 and await inbox_count(wservice) == 1


async def test_inbound_kinds(wclient: TestClient, wservice: Service, callbacks: Callbacks, clock: FixedClock) -> None:
    t = now_ts(clock)
    inners = [
        callbacks.media(REP_USERID, "image", "img-1", 100, t, "<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl>"),
        callbacks.media(REP_USERID, "file", "file-1", 101, t, "<FileName><![CDATA[报价单.pdf]]></FileName>"),
        ("<xml>" + callbacks._head(REP_USERID, t, "location") + "<Location_X>31.23</Location_X>"
         "<Location_Y>121.47</Location_Y><Scale>15</Scale><Label><![CDATA[上海市]]></Label><MsgId>102</MsgId></xml>"),
        ("<xml>" + callbacks._head(REP_USERID, t, "link") + "<Title><![CDATA[方案]]></Title>"
         "<Url><![CDATA[http://e.x/1]]></Url><MsgId>103</MsgId></xml>"),
        callbacks.event(REP_USERID, "enter_agent", t, "<EventKey><![CDATA[]]></EventKey>"),
        callbacks.event(REP_USERID, "click", t, "<EventKey><![CDATA[menu_today]]></EventKey>"),
        callbacks.event(REP_USERID, "scancode_waitmsg", t, "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo>"
                        "<ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[store-7]]></ScanResult>"
                        "</ScanCodeInfo>"),
        callbacks.event(REP_USERID, "scancode_push", t, "<EventKey><![CDATA[6]]></EventKey>"),  # same second, other event
        callbacks.card_event(REP_USERID, "cardid|@pick", "task1", "rc1", t,
                             selected={"@pick": ["next_touch|2026-11-25"], "q2": ["o1", "o2"]}),
    ]
    for i, inner in enumerate(inners):
        params, body = callbacks.sign(inner, t, f"n{i}")
        r = await wclient.post(URL, params=params, data=body)
        assert r.status == 200, i
    async with wservice.db.session() as s:
        rows = (await s.execute(select(InboxEvent).order_by(InboxEvent.id))).scalars().all()
    got = [(r.kind, r.payload) for r in rows]
    assert len(got) == len(inners)  # scancode_push and scancode_waitmsg in the same second are two events
    kinds = [k for k, _ in got]
    assert kinds == ["image", "file", "location", "other", "enter", "other", "other", "other", "card_action"]
    assert got[1][1]["media"]["name"] == "报价单.pdf"
    assert got[2][1]["location"] == {"lat": 31.23, "lng": 121.47, "label": "上海市"}
    assert got[6][1]["extra"]["scan"]["result"] == "store-7"
    action = got[8][1]["action"]
    assert action["card_id"] == "cardid" and action["action"] == "next_touch" and action["value"] == "2026-11-25"
    assert got[8][1]["extra"]["selected"]["q2"] == ["o1", "o2"]
