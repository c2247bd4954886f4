"""End to end through the real Service and the fake DingTalk: message → record → card delivered → press →
the same card updated in place; a press by someone else is refused and changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import select

from cards.render_dingtalk import button_key
from storage.models import ActionRecord, RecordStatus
from tests.dingtalk.chat import DingtalkChat
from tests.dingtalk.fake_server import CARD_TOPIC
from tests.harness import userid

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def _records(chat: DingtalkChat) -> list[ActionRecord]:
    async with chat.service.db.session() as s:
        return list((await s.execute(select(ActionRecord).where(
            ActionRecord.rep_id == chat.person("张伟").id, ActionRecord.source_event_id.is_not(None)))).scalars())


async def test_message_card_press_and_in_place_update(dchat: DingtalkChat) -> None:
    fake = dchat.fake
    await dchat.say("张伟", TEXT)
    card = await dchat.should_send("张伟", card="动作记录待确认")
    [sent] = [r.body for r in fake.calls("/v1.0/card/instances/createAndDeliver")]
    assert sent["openSpaceId"] == f"dtv1.card//IM_ROBOT.{userid(dchat.person('张伟'))}"
    assert sent["imRobotOpenDeliverModel"] == {"spaceType": "IM_ROBOT", "robotCode": fake.client_id}
    assert sent["outTrackId"] == card.ref and sent["callbackType"] == "STREAM"
    assert json.loads(sent["cardData"]["cardParamMap"]["facts"])[0]["label"]

    # 李娜 presses 张伟's confirm button (a forwarded card, a shared screen): refused, nothing changes
    key = button_key(card.card_id, "confirm")
    ack = await fake.push(fake.frame(CARD_TOPIC, fake.press(userid(dchat.person("李娜")), card.ref, key)))
    assert ack is not None and ack["code"] == 200
    await dchat.should_send("李娜", text="⛔")
    await dchat.settle()
    assert not fake.card_updates and [r.status for r in await _records(dchat)] == [RecordStatus.draft]

    await dchat.press("张伟", card, "confirm")
    done = await dchat.should_send("张伟", card="已记录")
    assert done.ref == card.ref and not done.offers("confirm")
    [update] = fake.card_updates
    assert update["outTrackId"] == card.ref and update["cardUpdateOptions"] == {"updateCardDataByKey": True}
    assert [r.status for r in await _records(dchat)] == [RecordStatus.confirmed]
    assert len([s for s in fake.shown if s.kind == "card"]) == 1  # one card, updated, never a second one
