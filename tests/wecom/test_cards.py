"""Neutral Card → template_card: limits respected for every card kind; button keys round-trip."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cards.actions import NOTHING_CHOSEN
from cards.confirmation import TYPE_LABELS, ConfirmationView, build_confirmation
from cards.model import Button, Card, Fact, Input
from cards.render_wecom import (
    PICK_QUESTION,
    button_key,
    parse_button_key,
    render_markdown,
    render_template_card,
)

TODAY = date(2026, 11, 24)
URL = "https://bot.example.com"


def render(card: Card) -> dict[str, Any]:
    card.card_id = card.card_id or "AbCdEfGhIjKlMnOp"
    return render_template_card(card, task_id="af-task-1", link_url=URL, today=TODAY)


def check_limits(tc: dict[str, Any]) -> None:
    """The documented limits (DOC-SEND 模板卡片)."""
    assert tc["card_type"] in ("text_notice", "button_interaction")
    assert len(tc["main_title"]["title"]) <= 36 and len(tc["main_title"].get("desc", "")) <= 44
    assert len(tc.get("sub_title_text", "")) <= 160
    assert len(tc.get("horizontal_content_list", [])) <= 6
    for h in tc.get("horizontal_content_list", []):
        assert len(h["keyname"]) <= 5 and len(h["value"]) <= 30
    assert tc["card_action"]["url"] == URL
    if tc["card_type"] == "button_interaction":
        assert tc["task_id"] == "af-task-1" and 1 <= len(tc["button_list"]) <= 6
        for b in tc["button_list"]:
            assert len(b["text"]) <= 10 and len(b["key"].encode()) <= 1024 and b["style"] in (1, 2, 3, 4)
        keys = [b["key"] for b in tc["button_list"]]
        assert len(keys) == len(set(keys))
        sel = tc.get("button_selection")
        if sel:
            assert 1 <= len(sel["option_list"]) <= 10
            assert all(len(o["id"].encode()) <= 128 for o in sel["option_list"])
    json.dumps(tc, ensure_ascii=False)


def view(**kw: Any) -> ConfirmationView:
    base: dict[str, Any] = dict(record_id=7, text="今天拜访了瑞丰机械张总，下周三再去", action_type="visit",
                                customer_name="无锡瑞丰精密机械有限公司", next_touch=date(2026, 12, 2), today=TODAY,
                                candidates=[("D002", "恒远化工"), ("D012", "恒远电子")])
    base.update(kw)
    return ConfirmationView(**base)


def test_confirmation_summary() -> None:
    tc = render(build_confirmation(view()))
    check_limits(tc)
    assert [b["key"].split("|", 1)[1] for b in tc["button_list"]] == ["confirm", "edit:type", "edit:customer",
                                                                      "edit:date", "edit:fields"]
    assert tc["button_list"][0]["style"] == 1
    assert {h["keyname"]: h["value"] for h in tc["horizontal_content_list"]}["动作"] == "拜访"


def test_confirmation_type_picker_uses_the_dropdown() -> None:
    tc = render(build_confirmation(view(mode="type")))
    check_limits(tc)
    sel = tc["button_selection"]
    assert sel["question_key"] == PICK_QUESTION and len(sel["option_list"]) == 10
    # nothing is chosen yet: the preselected option is a placeholder, so "选定" unopened chooses nothing
    assert sel["option_list"][0] == {"id": NOTHING_CHOSEN, "text": "请选择…"} and sel["selected_id"] == NOTHING_CHOSEN
    assert sel["option_list"][2] == {"id": "type:call", "text": "电话"}
    keys = [b["key"].split("|", 1)[1] for b in tc["button_list"]]
    assert keys[0] == PICK_QUESTION and keys[-1] == "back"
    offered = {o["id"] for o in sel["option_list"]} | set(keys)
    assert {f"type:{t}" for t in TYPE_LABELS} <= offered  # all ten types, the one that did not fit as a button


def test_confirmation_ask_mode_prefers_undecided_groups() -> None:
    tc = render(build_confirmation(view(mode="ask", customer_name=None, low_confidence=True)))
    check_limits(tc)
    ids = [o["id"] for o in tc["button_selection"]["option_list"]]
    assert "customer:D002" in ids and "customer:D012" in ids  # the customer is what is missing
    assert any(o["text"].startswith("客户：") for o in tc["button_selection"]["option_list"])
    keys = [b["key"].split("|", 1)[1] for b in tc["button_list"]]
    assert keys[0] == PICK_QUESTION and keys[-1] == "confirm"
    assert tc["button_selection"]["selected_id"] == NOTHING_CHOSEN


def test_confirmation_date_mode_needs_no_picker() -> None:
    tc = render(build_confirmation(view(mode="date")))
    check_limits(tc)
    actions = [b["key"].split("|", 1)[1] for b in tc["button_list"]]
    assert actions == ["next_touch:2026-11-25", "next_touch:2026-11-26", "next_touch:2026-11-30",
                       "next_touch:none", "back"]


def test_confirmed_card_offers_only_the_collaboration_button() -> None:
    tc = render(build_confirmation(view(status="confirmed")))
    check_limits(tc)
    assert tc["card_type"] == "button_interaction"
    assert [b["text"] for b in tc["button_list"]] == ["需要协同"]


def test_a_card_with_nothing_to_press_is_a_notice() -> None:
    tc = render(Card(kind="info", title="已记录", lines=["记录 #1 已确认"]))
    check_limits(tc)
    assert tc["card_type"] == "text_notice" and "button_list" not in tc and "task_id" not in tc


def test_date_input_becomes_quick_date_buttons() -> None:
    card = Card(kind="approval", title="合同审批", inputs=[Input("due", "date", "截止日期", "set_due", "2026-11-25"),
                                                           Input("why", "text", "原因", "reason")],
                buttons=[Button("approve", "同意", "primary")])
    tc = render(card)
    check_limits(tc)
    keys = [b["key"] for b in tc["button_list"]]
    assert keys[1:] == ["AbCdEfGhIjKlMnOp|set_due|2026-11-25", "AbCdEfGhIjKlMnOp|set_due|2026-11-26",
                        "AbCdEfGhIjKlMnOp|set_due|2026-11-30"]
    assert tc["button_list"][1]["style"] == 1  # the current value is highlighted
    assert parse_button_key(keys[1]) == ("AbCdEfGhIjKlMnOp", "set_due", "2026-11-25")


LONG = "非常长的客户名称" * 10


@pytest.mark.parametrize("card", [
    Card(kind="must_do", title="☀️ 今日3件必做", subtitle="按逾期、久未跟进、清单排序，选满3件",
         lines=[f"{i}. 回访{LONG}" for i in range(8)],
         buttons=[Button(f"pick:{i}", f"选第{i}件") for i in range(8)] + [Button("done", "就这些", "primary")]),
    Card(kind="checklist", title="方案报价 检查清单", facts=[Fact(f"检查{i}", "未完成") for i in range(9)],
         buttons=[Button(f"check:{i}", f"完成{i}") for i in range(5)]),
    Card(kind="warning", title="🔴 红灯预警：瑞丰机械 72 小时无更新", color="red", note="请今天内处理" * 30,
         buttons=[Button("ack", "我来处理", "primary"), Button("reassign", "改派", "danger")]),
    Card(kind="reason", title="未完成原因", buttons=[Button(f"reason:{r}", r, group="reason") for r in
                                                    ("客户临时变更", "资料未齐", "权限不足", "其他")]),
    Card(kind="verify", title="待核实：定位距客户 1.2 公里", color="yellow",
         buttons=[Button("verify:ok", "电话复核通过", "primary"), Button("verify:reject", "驳回", "danger")]),
    Card(kind="digest", title="📊 今日团队简报" + LONG, facts=[Fact("必做完成率", "83%"), Fact(LONG, LONG)]),
])
def test_every_kind_renders_within_limits(card: Card) -> None:
    tc = render(card)
    check_limits(tc)
    assert render_markdown(card).startswith(f"**{card.title}**")


@given(card_id=st.text(alphabet="abcXYZ019_-", min_size=1, max_size=22),
       action=st.text(min_size=1, max_size=64).filter(lambda a: "|" not in a),
       value=st.text(max_size=200))
def test_button_key_round_trip(card_id: str, action: str, value: str) -> None:
    assert parse_button_key(button_key(card_id, action, value)) == (card_id, action, value)


def test_foreign_keys_are_rejected() -> None:
    for key in ("", "no-separator", "|confirm", "cid|", "x" * 2000):
        assert parse_button_key(key) is None
