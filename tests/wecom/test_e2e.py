"""End to end through the real Service: wechatpy-signed callbacks in, the fake WeCom API out."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.service import Service
from cards.render_wecom import PICK_QUESTION
from handlers.clock import FixedClock
from storage.models import ActionRecord, Card, InboxEvent, Person, RecordStatus
from tests.conftest import eventually
from tests.wecom.conftest import REP_USERID
from tests.wecom.fake_server import AMR, Callbacks, FakeWecom

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def post(client: TestClient, callbacks: Callbacks, inner: str, clock: FixedClock, nonce: str = "n1") -> Any:
    params, body = callbacks.sign(inner, int(clock.now().timestamp()), nonce)
    return await client.post("/wecom/callback", params=params, data=body, headers={"Content-Type": "text/xml"})


def cards_sent(fake: FakeWecom) -> list[dict[str, Any]]:
    return [b for b in fake.delivered if b["msgtype"] == "template_card"]


def texts_sent(fake: FakeWecom) -> list[str]:
    return [b["text"]["content"] for b in fake.delivered if b["msgtype"] == "text"]


async def rep_records(service: Service) -> list[ActionRecord]:
    async with service.db.session() as s:
        rep = (await s.execute(select(Person).where(Person.name == "张伟"))).scalar_one()
        return list((await s.execute(select(ActionRecord).where(
            ActionRecord.rep_id == rep.id, ActionRecord.source_event_id.is_not(None)))).scalars())


def key_of(card: dict[str, Any], action: str) -> str:
    [key] = [b["key"] for b in card["button_list"] if b["key"].split("|", 1)[1] == action]
    return key


async def send_text_and_get_card(wclient: TestClient, wservice: Service, fake: FakeWecom, callbacks: Callbacks,
                                 clock: FixedClock) -> dict[str, Any]:
    inner = callbacks.text(REP_USERID, TEXT, msg_id=7301234567890123456, created=int(clock.now().timestamp()))
    for _ in range(3):  # WeCom retries when it thinks we were slow: same MsgId each time
        r = await post(wclient, callbacks, inner, clock)
        assert r.status == 200 and await r.text() == ""
    await eventually(lambda: _async(cards_sent(fake)))
    return cards_sent(fake)[0]


async def _async(v: Any) -> Any:
    return v


async def test_text_becomes_record_card_press_updates(wclient: TestClient, wservice: Service, fake: FakeWecom,
                                                      callbacks: Callbacks, clock: FixedClock) -> None:
    sent = await send_text_and_get_card(wclient, wservice, fake, callbacks, clock)
    card = sent["template_card"]
    assert sent["touser"] == REP_USERID and sent["agentid"] == fake.agent_id and sent["enable_duplicate_check"] == 1
    assert card["card_type"] == "button_interaction" and card["main_title"]["title"] == "📝 动作记录待确认"
    facts = {h["keyname"]: h["value"] for h in card["horizontal_content_list"]}
    assert facts["客户"].startswith("无锡瑞丰") and facts["动作"] == "拜访"
    [rec] = await rep_records(wservice)
    assert rec.status == RecordStatus.draft

    code = fake.press_code()
    press = callbacks.card_event(REP_USERID, key_of(card, "confirm"), card["task_id"], code,
                                 created=int(clock.now().timestamp()) + 5)
    for _ in range(3):
        assert (await post(wclient, callbacks, press, clock, nonce="n2")).status == 200
    await eventually(lambda: _async(fake.updates))
    await wservice.inbox.drain()
    [upd] = fake.updates
    assert upd["response_code"] == code and upd["userids"] == [REP_USERID]
    assert upd["template_card"]["main_title"]["title"] == "✅ 已记录"
    [rec] = await rep_records(wservice)
    assert rec.status == RecordStatus.confirmed
    assert len(cards_sent(fake)) == 1 and texts_sent(fake) == []  # one card, updated in place, nothing else
    async with wservice.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 2


async def test_dropdown_pick_and_expired_code_sends_fresh_card(wclient: TestClient, wservice: Service,
                                                               fake: FakeWecom, callbacks: Callbacks,
                                                               clock: FixedClock) -> None:
    card = (await send_text_and_get_card(wclient, wservice, fake, callbacks, clock))["template_card"]
    t0 = int(clock.now().timestamp())
    await post(wclient, callbacks, callbacks.card_event(REP_USERID, key_of(card, "edit:type"), card["task_id"],
                                                        fake.press_code(), t0 + 1), clock)
    await eventually(lambda: _async(fake.updates))
    picker = fake.updates[0]["template_card"]
    assert len(picker["button_selection"]["option_list"]) == 10  # 10 action types > 6 buttons → dropdown
    pick_key = key_of(picker, PICK_QUESTION)
    # the press carries a code WeCom no longer accepts (used/expired): the update falls back to a fresh card
    await post(wclient, callbacks, callbacks.card_event(REP_USERID, pick_key, card["task_id"], "rc-stale", t0 + 2,
                                                        selected={PICK_QUESTION: ["type:call"]}), clock)
    await eventually(lambda: _async(len(cards_sent(fake)) == 2))
    await wservice.inbox.drain()
    [rec] = await rep_records(wservice)
    assert rec.type.value == "call"
    fresh = cards_sent(fake)[1]["template_card"]
    assert fresh["task_id"] != card["task_id"]
    assert {h["keyname"]: h["value"] for h in fresh["horizontal_content_list"]}["动作"] == "电话"
    async with wservice.db.session() as s:
        row = (await s.execute(select(Card))).scalars().all()[-1]
    assert row.refs["task_id"] == fresh["task_id"] and row.refs["reply_token"].startswith("rc-send-")


async def test_voice_is_downloaded_after_ack_and_kept_as_evidence(wclient: TestClient, wservice: Service,
                                                                  fake: FakeWecom, callbacks: Callbacks,
                                                                  clock: FixedClock) -> None:
    await send_text_and_get_card(wclient, wservice, fake, callbacks, clock)
    fake.add_media("voice-media-1", AMR, "audio/amr", "voice.amr")
    inner = callbacks.media(REP_USERID, "voice", "voice-media-1", 7301234567890999999,
                            int(clock.now().timestamp()) + 3, "<Format><![CDATA[amr]]></Format>")
    assert (await post(wclient, callbacks, inner, clock)).status == 200
    await eventually(lambda: _async(any("凭证" in t for t in texts_sent(fake))))
    [rec] = await rep_records(wservice)
    [ev] = rec.evidence
    assert ev["kind"] == "voice" and ev["mime"] == "audio/amr"
    with open(ev["path"], "rb") as f:
        assert f.read() == AMR


async def test_unknown_member_is_told_and_system_events_stay_silent(wclient: TestClient, wservice: Service,
                                                                    fake: FakeWecom, callbacks: Callbacks,
                                                                    clock: FixedClock) -> None:
    t = int(clock.now().timestamp())
    await post(wclient, callbacks, callbacks.text("stranger", "你好", 1, t), clock)
    contact = callbacks.event("sys", "change_contact", t, "<ChangeType><![CDATA[update_user]]></ChangeType>"
                              f"<UserID><![CDATA[{REP_USERID}]]></UserID><NewUserID><![CDATA[zw2]]></NewUserID>")
    await post(wclient, callbacks, contact, clock)
    await post(wclient, callbacks, callbacks.event(REP_USERID, "LOCATION", t,
                                                   "<Latitude>31.2</Latitude><Longitude>121.4</Longitude>"), clock)
    await eventually(lambda: _async(texts_sent(fake)))
    await wservice.inbox.drain()
    assert [b["touser"] for b in fake.delivered] == ["stranger"] and "组织名录" in texts_sent(fake)[0]
    # the member's userid changed in the contacts: messages from the new id reach the same person
    await post(wclient, callbacks, callbacks.text("zw2", TEXT, 2, t + 1), clock)
    await eventually(lambda: _async(cards_sent(fake)))
    assert cards_sent(fake)[0]["touser"] == "zw2"
