"""「新线索 …」: the fields a supervisor types, in any order, labelled or not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handlers.event import Event, EventKind
from handlers.leads import LeadInput, chat_lead_id, parse_lead_text

REGIONS = ["无锡", "杭州", "320200"]
TAGS = ["机床", "注塑"]


@pytest.mark.parametrize("text, want", [
    ("杭州云帆科技有限公司 联系人王总 13812345678 地区杭州",
     {"company": "杭州云帆科技有限公司", "contact": "王总", "phone": "13812345678", "region": "杭州"}),
    ("无锡新锐数控有限公司，李总，13900001111",  # no labels: the region and the contact are found
     {"company": "无锡新锐数控有限公司", "contact": "李总", "phone": "13900001111", "region": "无锡"}),
    ("公司：杭州云帆客户服务有限公司，联系人：王总电话13812345678，坐标30.27,120.15 标签机床、注塑 备注 下周想看样机",
     {"company": "杭州云帆客户服务有限公司", "contact": "王总", "phone": "13812345678", "lat": 30.27, "lng": 120.15,
      "tags": ["机床", "注塑"], "note": "下周想看样机", "region": "杭州"}),
    ("常州恒达注塑厂 0519-86543210 区域320200",
     {"company": "常州恒达注塑厂", "phone": "0519-86543210", "region": "320200", "tags": ["注塑"]}),
])
def test_fields(text: str, want: dict[str, object]) -> None:
    assert parse_lead_text(text, REGIONS, TAGS) == want
    LeadInput.model_validate({**want, "lead_id": "x"})  # what the parser finds is a valid lead


def test_nothing_usable_is_refused() -> None:
    with pytest.raises(ValueError):
        LeadInput.model_validate({**parse_lead_text("", REGIONS, TAGS), "lead_id": "x"})


def test_chat_lead_ids_are_valid_whatever_the_platform_id() -> None:
    def ev(event_id: str) -> Event:
        return Event(platform="dingtalk", event_id=event_id, kind=EventKind.text, sender="u", sent_at=datetime.now(UTC))

    assert chat_lead_id(ev("msg123")) == "dingtalk:msg123"
    for odd in ("msgAbC+/xyz==", "x" * 150):
        got = chat_lead_id(ev(odd))
        LeadInput.model_validate({"lead_id": got, "company": "某公司"})
        assert got == chat_lead_id(ev(odd)) != chat_lead_id(ev(odd + "1"))
