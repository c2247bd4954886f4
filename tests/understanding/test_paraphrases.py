"""Messages written independently of the dev set (new wording, same contract) as regression cases."""

from __future__ import annotations

import pytest

from .conftest import Tagger

WED = "2026-12-09 16:00"  # Wednesday
WED_EVENING = "2026-12-09 19:30"
FRI = "2026-11-27 18:00"  # Friday

CASES = [
    # (now, text, expected fields)
    (WED, "跟瑞丰机械张总通了电话,他说下礼拜三过来我们公司看样机",
     {"action_type": "call", "customer_id": "D001", "next_touch": "2026-12-16", "contact": "张总"}),
    (WED, "晨曦光伏 腾讯会议跟他们技术部过了一遍参数", {"action_type": "call", "customer_id": "D010"}),
    (WED, "豫香园 重新报价了,降了2个点", {"action_type": "quote", "customer_id": "D015"}),
    (WED, "鸿达模具 客户打款了,15万", {"action_type": "payment", "budget": None}),
    (WED, "楚天物业 刘总觉得价格太高,要求降价10%,我说可以再申请一下", {"action_type": "objection"}),
    (WED, "今天去了一趟彩云之家,跟运营经理赵经理对了新店的陈列方案",
     {"action_type": "visit", "customer_id": "D020", "contact": "赵经理", "contact_role": "运营经理"}),
    (WED, "明德学校 采购部的王经理说预算不超过80万,下个月3号开标",
     {"customer_id": "D018", "budget": 800_000, "next_touch": "2027-01-03"}),
    (WED, "仁爱医院 陪同技术去设备科做了现场勘察", {"action_type": "site_survey", "customer_id": "D019"}),
    (WED, "小橡树 陈园长对交付时间有顾虑,我解释了分批交付,她说考虑一下,周五答复",
     {"action_type": "objection", "next_touch": "2026-12-11", "contact": "陈园长"}),
    (WED, "蜀通 把修改后的报价发给他们了", {"action_type": "quote", "customer_id": "D007"}),
    (WED, "金泰冷链 钱工说冷库温度要求-25度,后天上午过去测量一下",
     {"action_type": "other", "next_touch": "2026-12-11", "contact": "钱工", "contact_role": "工程师"}),
    (WED, "恒远彩印 老周说他们老板出差了,下下周一再约", {"next_touch": "2026-12-21", "customer_id": "D012"}),
    (WED, "鲁康中医 今天把合同送过去了,等他们盖章", {"action_type": "contract", "customer_id": "D016"}),
    (WED_EVENING, "周一去瑞丰机械拜访了张总,他说月底前给答复", {"action_type": "visit", "next_touch": None}),
    (WED_EVENING, "昨天跟蜀通打了电话,约了周五见面", {"action_type": "call", "next_touch": "2026-12-11"}),
    (WED_EVENING, "彩云之家 赵经理说希望我们12月25号前发货,我答应23号发",
     {"expected_date": "2026-12-25", "promised_date": "2026-12-23", "next_touch": "2026-12-23"}),
    (WED_EVENING, "楚天物业 周三上午去做了门禁演示,刘总很满意,让我们周五前报价",
     {"action_type": "presentation", "expected_date": "2026-12-11", "next_touch": "2026-12-11"}),
    (WED_EVENING, "仁爱医院 见了设备科李科长,他说耗材的预算大概30万,下周二上会",
     {"action_type": "visit", "budget": 300_000, "next_touch": "2026-12-15", "contact": "李科长"}),
    (WED_EVENING, "小橡树 发邮件给园长确认了开学季的订单,她说今晚回复",
     {"action_type": "message", "next_touch": "2026-12-09"}),
    (WED_EVENING, "今天跑了三家客户,瑞丰机械、蜀通、雅居坊,都挺顺利", {"action_type": "visit", "customer_id": None}),
    (WED_EVENING, "佳禾优选 今天原计划巡店,临时取消了,改到周五",
     {"action_type": "other", "next_touch": "2026-12-11"}),
    (WED_EVENING, "恒远 电话里李姐说这周五前把货款打过来",
     {"action_type": "call", "customer_id": None, "customer_candidates": ["D002", "D012"]}),
    (FRI, "嗯,今天那个,去了鸿达模具,就是说厂长带我们看了一下车间,嗯,预算大概五十万吧,那个下周二我再带技术过去",
     {"action_type": "visit", "customer_id": "D017", "budget": 500_000, "next_touch": "2026-12-01"}),
    (FRI, "Visit 雅居坊 today, met the boss, budget around 30w, follow up next Monday",
     {"action_type": "visit", "customer_id": "D008", "budget": 300_000, "next_touch": "2026-11-30"}),
    (FRI, "鲁康医院 报价sent,等feedback", {"action_type": "quote", "next_touch": None}),
    (FRI, "今天陪领导去了趟金泰冷链,吃了顿饭,对方总经理也在",
     {"action_type": "visit", "customer_id": "D009", "contact": None}),
    (FRI, "海韵酒店 老马发来邮件说预算削减到20万,让我们重新出方案,下周三前",
     {"action_type": "message", "budget": 200_000, "next_touch": "2026-12-02"}),
    (FRI, "金泰汽配的陈总和金泰冷链的钱总一起吃了饭", {"action_type": "visit", "customer_id": None}),
]


@pytest.mark.parametrize(("now", "text", "expected"), CASES, ids=[c[1][:12] for c in CASES])
def test_paraphrase(tag: Tagger, now: str, text: str, expected: dict) -> None:
    got = tag(text, now).to_contract()
    assert {k: got[k] for k in expected} == expected
