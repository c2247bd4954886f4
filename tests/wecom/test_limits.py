"""WeCom's documented limits, on both sides: the fake refuses what the real API refuses (with its
errcodes), and our channel stays inside the limits or recovers the way the platform expects."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.channels.wecom import WecomChannel
from bot.channels.wecom.client import WecomError
from bot.channels.wecom.oauth import userid_from_code
from cards.model import Button, Card, Fact
from handlers.event import Event, EventKind, Media
from tests.wecom.conftest import REP_USERID
from tests.wecom.fake_server import AMR, FakeWecom
from tests.wecom.test_client import msg

OK_CARD = {"card_type": "button_interaction", "task_id": "t1", "main_title": {"title": "标题"},
           "button_list": [{"text": "确认", "key": "c|confirm"}]}


def send(**over: Any) -> dict[str, Any]:
    body = {"touser": REP_USERID, "agentid": 1000002, "msgtype": "text", "text": {"content": "你好"}}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("body", "errcode"), [
    (send(touser=None), 82001),
    (send(msgtype=None), 40008),
    (send(msgtype="telegram"), 40008),
    (send(text={"content": ""}), 44004),
    (send(text={"content": "长" * 700}), 45002),  # 2100 bytes
    (send(msgtype="template_card", text=None, template_card={**OK_CARD, "card_type": None}), 40058),
    (send(msgtype="template_card", text=None, template_card={**OK_CARD, "task_id": None}), 40058),
    (send(msgtype="template_card", text=None, template_card={**OK_CARD, "button_list": OK_CARD["button_list"] * 7}),
     40058),
    (send(msgtype="template_card", text=None, template_card={**OK_CARD, "main_title": {"title": "长" * 37}}), 40058),
    (send(msgtype="template_card", text=None,
          template_card={**OK_CARD, "button_list": [{"text": "十一个字的按钮文字啊啊", "key": "c|x"}]}), 40058),
    (send(duplicate_check_interval=0), 40058),
    (send(duplicate_check_interval=14401), 40058),
])
async def test_fake_refuses_what_wecom_refuses(fake: FakeWecom, fake_server: TestServer, body: dict[str, Any],
                                               errcode: int) -> None:
    async with aiohttp.ClientSession() as http:
        token = (await (await http.get(fake_server.make_url("/cgi-bin/gettoken"),
                                       params={"corpid": fake.corp_id, "corpsecret": fake.secret})).json())["access_token"]
        r = await http.post(fake_server.make_url("/cgi-bin/message/send"), params={"access_token": token}, json=body)
        assert (await r.json())["errcode"] == errcode
        bad = await http.post(fake_server.make_url("/cgi-bin/message/send"), params={"access_token": token},
                              data=b"{not json", headers={"Content-Type": "application/json"})
        assert bad.status == 200 and (await bad.json())["errcode"] == 47001  # an errcode, never a 500
    assert fake.delivered == []


def long_digest() -> Card:
    return Card(kind="digest", title="📊 今日团队简报", lines=[f"第{i}行：张伟 拜访瑞丰机械，跟进产线改造方案" for i in range(80)])


async def test_appchat_markdown_is_split_at_2048_bytes(channel: WecomChannel, fake: FakeWecom) -> None:
    await channel.deliver(msg({"card": long_digest().to_dict()}, recipient="@appchat"))
    sizes = [len(m["markdown"]["content"].encode()) for m in fake.appchat]
    assert len(sizes) > 1 and max(sizes) <= 2048  # the fake refuses (45002) anything longer
    await channel.deliver(msg({"card": long_digest().to_dict()}, key="robot1", recipient="@robot"))
    assert max(len(m["markdown"]["content"].encode()) for m in fake.webhook) <= 4096 < sum(sizes)


async def test_unknown_appchat_is_refused(channel: WecomChannel, fake: FakeWecom) -> None:
    fake.chats.clear()
    with pytest.raises(Exception, match="86003"):
        await channel.deliver(msg({"text": "简报"}, recipient="@appchat"))


async def test_token_expires_by_time_and_is_refetched(channel: WecomChannel, fake: FakeWecom) -> None:
    await channel.deliver(msg({"text": "一"}, key="a1"))
    fake.clock = lambda: 7201 + _now()  # two hours later
    await channel.deliver(msg({"text": "二"}, key="a2"))
    assert len(fake.calls("gettoken")) == 2 and [m["text"]["content"] for m in fake.delivered] == ["一", "二"]


async def test_response_code_older_than_72_hours_falls_back_to_a_new_card(channel: WecomChannel,
                                                                          fake: FakeWecom) -> None:
    card = Card(kind="must_do", title="今日3件必做", facts=[Fact("1", "拜访瑞丰")],
                buttons=[Button("done:1", "完成")], card_id="cid7")
    d = await channel.deliver(msg({"card": card.to_dict()}, key="m7"))
    fake.clock = lambda: 72 * 3600 + 1 + _now()
    done = Card(kind="must_do", title="今日3件必做 ✅", card_id="cid7")
    u = await channel.update_card(msg({"card": done.to_dict()}, key="upd:cid7:v2"), d.refs)
    assert fake.updates == [] and len(fake.delivered) == 2 and u.message_id  # refused (60140): sent afresh


async def test_media_expires_after_three_days(channel: WecomChannel, fake: FakeWecom) -> None:
    fake.add_media("m3", AMR, "audio/amr", "3.amr")
    fake.clock = lambda: 3 * 86400 + 1 + _now()
    ev = Event(platform="wecom", event_id="msg:3", kind=EventKind.voice, sender=REP_USERID,
               sent_at=_dt(), media=Media(ref="m3", name="voice.amr"))
    got = await channel.prepare(ev)
    assert got.media is not None and got.media.path is None and "40007" in got.extra["download_error"]


async def test_oauth_code_expires_after_five_minutes(channel: WecomChannel, fake: FakeWecom) -> None:
    fake.add_oauth_code("OLD", "zhangwei")
    fake.clock = lambda: 301 + _now()
    with pytest.raises(WecomError, match="40029"):
        await userid_from_code(channel.client, "OLD")


def _now() -> float:
    import time

    return time.time()


def _dt() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_dropdown_texts_fit_16_characters_and_stay_distinct() -> None:
    from cards.render_wecom import OPTION_TEXT_MAX, option_texts

    names = ["佳禾优选超市连锁(湖南)有限公司", "佳禾优选超市连锁(湖北)有限公司", "无锡东方精密机械有限公司新区分厂",
             "无锡东方精密机械有限公司老区分厂", "恒远化工", "江苏恒远化工有限公司"]
    texts = option_texts([("客户", n) for n in names])
    assert all(len(t) <= OPTION_TEXT_MAX for t in texts), texts
    assert len(set(texts)) == len(texts), texts  # never two options that read the same
    assert texts[4] == "客户：恒远化工"  # short names are left alone


async def test_select_pressed_without_opening_the_dropdown_chooses_nothing(wclient: Any, wservice: Any,
                                                                           fake: FakeWecom, callbacks: Any,
                                                                           clock: Any) -> None:
    from cards.actions import NOTHING_CHOSEN
    from cards.render_wecom import PICK_QUESTION
    from handlers.dispatch import CHOOSE_FIRST
    from tests.wecom.test_e2e import cards_sent, post, rep_records

    inner = callbacks.text(REP_USERID, "恒远那边今天又聊了聊", msg_id=7301234567890000001,
                           created=int(clock.now().timestamp()))
    assert (await post(wclient, callbacks, inner, clock)).status == 200

    async def card_arrived() -> bool:
        return bool(cards_sent(fake))

    from tests.conftest import eventually

    await eventually(card_arrived)
    [sent] = cards_sent(fake)
    tc = sent["template_card"]
    assert tc["button_selection"]["selected_id"] == NOTHING_CHOSEN  # the customer is undecided
    [before] = await rep_records(wservice)
    press = callbacks.card_event(REP_USERID, f"{tc['button_list'][0]['key']}", tc["task_id"], fake.press_code(),
                                 created=int(clock.now().timestamp()) + 3, selected={PICK_QUESTION: [NOTHING_CHOSEN]})
    assert (await post(wclient, callbacks, press, clock, nonce="n9")).status == 200
    await wservice.inbox.drain()

    async def told() -> bool:
        return any(m.get("text", {}).get("content") == CHOOSE_FIRST for m in fake.delivered)

    await eventually(told)
    [after] = await rep_records(wservice)
    assert (after.customer_id, after.type, after.status) == (before.customer_id, before.type, before.status)


async def test_card_links_open_a_page_the_service_serves(wclient: Any, fake: FakeWecom, callbacks: Any,
                                                         clock: Any) -> None:
    """A WeCom-only deployment serves no emulator at "/": the card's link must lead to a page that exists."""
    from urllib.parse import urlsplit

    from tests.conftest import eventually
    from tests.wecom.test_e2e import cards_sent, post

    inner = callbacks.text(REP_USERID, "今天拜访了瑞丰机械张总，下周三再去", msg_id=7301234567890000002,
                           created=int(clock.now().timestamp()))
    assert (await post(wclient, callbacks, inner, clock)).status == 200

    async def card_arrived() -> bool:
        return bool(cards_sent(fake))

    await eventually(card_arrived)
    url = cards_sent(fake)[0]["template_card"]["card_action"]["url"]
    path = urlsplit(url).path
    assert path not in ("", "/")
    page = await wclient.get(path)
    assert page.status == 200 and "企业微信" in await page.text()


def test_the_unsure_card_reaches_every_action_type_on_wecom() -> None:
    """WeCom shows one dropdown of ten: the unsure card keeps its customers and dates there and offers
    「改类型」, whose card lists all ten types; nothing on either card chooses silently."""
    from datetime import date

    from cards.confirmation import TYPE_LABELS, ConfirmationView, build_confirmation
    from cards.render_wecom import render_template_card

    def offered(tc: dict[str, Any]) -> set[str]:
        keys = {b["key"].split("|", 1)[1] for b in tc["button_list"]}
        return keys | {o["id"] for o in tc.get("button_selection", {}).get("option_list", [])}

    base = dict(record_id=1, text="恒远那边今天又聊了聊", action_type="visit", customer_name=None, next_touch=None,
                candidates=[(f"D00{n}", f"客户{n}") for n in range(1, 7)], low_confidence=True, today=date(2026, 11, 24))
    ask = render_template_card(build_confirmation(ConfirmationView(mode="ask", **base)), task_id="t", link_url="u")
    assert "edit:type" in offered(ask) and {f"customer:D00{n}" for n in range(1, 7)} <= offered(ask)
    types = render_template_card(build_confirmation(ConfirmationView(mode="type", **base)), task_id="t", link_url="u")
    assert {f"type:{t}" for t in TYPE_LABELS} <= offered(types)
