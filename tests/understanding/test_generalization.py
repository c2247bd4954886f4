"""Fresh wording for each kind of miss seen on independently written messages.

None of these sentences is in the dev set: they check that the rules cover a *kind* of phrasing
(a visit said as 跑了一趟, a pushback during a call, 5w as a budget …), not one text.
"""

from __future__ import annotations

import pytest

from .conftest import Tagger

TUE_AM = "2026-11-24 10:00"  # Tuesday morning: 下午/晚上 are still ahead on the clock
TUE_PM = "2026-11-24 18:30"
WED = "2026-12-09 16:00"  # Wednesday
YEAR_END = "2026-12-30 10:00"  # Wednesday, two days before the new year


def check(tag: Tagger, now: str, text: str, expected: dict) -> None:
    got = tag(text, now).to_contract()
    assert {k: got[k] for k in expected} == expected, got


# 1. Visits said without 拜访, and parts of today that are when it happened, not a plan.
VISITS = [
    (TUE_PM, "下午去瑞丰机械见了张总,聊了聊扩线",
     {"action_type": "visit", "customer_id": "D001", "next_touch": None, "contact": "张总"}),
    (TUE_AM, "下午去蜀通见了王经理,把线路过了一遍",
     {"action_type": "visit", "customer_id": "D007", "next_touch": None, "contact": "王经理"}),
    (TUE_AM, "下午去晨曦光伏见了采购孙经理,下周四我带技术过去",
     {"action_type": "visit", "customer_id": "D010", "next_touch": "2026-12-03", "contact": "孙经理"}),
    (TUE_AM, "晚上和楚天物业刘总吃了顿饭,下周四我带工程师过去",
     {"action_type": "visit", "customer_id": "D014", "next_touch": "2026-12-03", "contact": "刘总"}),
    (TUE_PM, "到金泰汽配总部跟陈总碰了个面,下周四我带技术过去",
     {"action_type": "visit", "customer_id": "D003", "next_touch": "2026-12-03", "contact": "陈总"}),
    (TUE_PM, "今天往鸿达模具跑了一趟,厂长带着看了车间",
     {"action_type": "visit", "customer_id": "D017", "next_touch": None}),
    (TUE_PM, "去了趟雅居坊工厂,看了他们新上的喷涂线", {"action_type": "visit", "customer_id": "D008"}),
    (TUE_PM, "在蜀通那边坐了一下午,跟物流经理把流程捋了一遍",
     {"action_type": "visit", "customer_id": "D007", "next_touch": None}),
    (TUE_AM, "上午在豫香园待了两个小时,跟采购聊了包材的事", {"action_type": "visit", "customer_id": "D015"}),
    (TUE_PM, "瑞丰机械 去车间走了一圈,张总不在", {"action_type": "visit", "customer_id": "D001"}),
    (TUE_PM, "中午跟恒远化工李姐一起吃的饭", {"action_type": "visit", "customer_id": "D002", "contact": "李姐"}),
    (TUE_PM, "海韵酒店 老马请我去他办公室坐了坐,聊到客房改造",
     {"action_type": "visit", "customer_id": "D011", "contact": "老马"}),
    (TUE_PM, "跟仁爱医院李科长碰了一下,他说下周二上会",
     {"action_type": "visit", "customer_id": "D019", "next_touch": "2026-12-01", "contact": "李科长"}),
    (TUE_AM, "晚上陪恒远彩印老周喝了点酒,关系拉近了不少", {"action_type": "visit", "customer_id": "D012"}),
    (TUE_PM, "恒远化工 设备部刘主任带我看了车间", {"action_type": "visit", "contact": "刘主任"}),
    (TUE_PM, "今天去益安医药仓库转了转,郑经理带着看了冷链箱", {"action_type": "visit", "customer_id": "D013"}),
    (TUE_AM, "昨天下午去瑞丰机械见了张总,下周四再去", {"action_type": "visit", "next_touch": "2026-12-03"}),
    (TUE_AM, "傍晚去瑞丰机械跟张总碰了个面,明天下午再过去", {"action_type": "visit", "next_touch": "2026-11-25"}),
    # still planned: nothing happened yet
    (TUE_AM, "下午去瑞丰机械找张总", {"action_type": "other", "next_touch": "2026-11-24"}),
    (TUE_AM, "明天去瑞丰机械,估计他们会压价", {"action_type": "other", "next_touch": "2026-11-25"}),
]

# 2. A pushback during a call or visit is an objection (objection > visit > call).
OBJECTIONS = [
    (TUE_PM, "给恒远化工李姐打了电话,她说价格还得再压一压,竞品报得比我们低15%,我说我们质保多两年",
     {"action_type": "objection", "customer_id": "D002", "contact": "李姐"}),
    (TUE_PM, "打了电话给蜀通,对方说运价还要再降一降,我说油价在涨", {"action_type": "objection"}),
    (TUE_PM, "电话里豫香园采购嫌我们包材贵,我给他算了损耗", {"action_type": "objection"}),
    (TUE_PM, "跟楚天物业刘总通了电话,他觉得施工周期太长,我解释了分段进场",
     {"action_type": "objection", "contact": "刘总"}),
    (TUE_PM, "晨曦光伏 视频沟通,他们说我们的组件参数不符合招标要求,我解释了新版本已经满足",
     {"action_type": "objection", "customer_id": "D010"}),
    (TUE_PM, "去了趟雅居坊,老板拿我们跟别家比,说别家便宜一成,我讲了板材的差别",
     {"action_type": "objection", "customer_id": "D008"}),
    (TUE_PM, "鸿达模具厂长来电,问交货能不能提前两周,我说排产很满,尽量协调",
     {"action_type": "objection", "customer_id": "D017"}),
    (TUE_PM, "拜访了小橡树陈园长,她说隔壁供应商给的账期更长,我答应申请一下",
     {"action_type": "objection", "customer_id": "D006", "contact": "陈园长"}),
    (TUE_PM, "金泰冷链 电话沟通,钱总说到货时间要再提前一周,不然赶不上旺季,我说回去协调",
     {"action_type": "objection", "customer_id": "D009"}),
    (TUE_PM, "恒远化工 李姐微信说别人家的催化剂便宜两成,我回了寿命数据", {"action_type": "objection"}),
    (TUE_PM, "鲁康医院 电话里赵科长说设备参数达不到科室要求,我解释了可以加配件", {"action_type": "objection"}),
    (TUE_PM, "彩云之家 赵经理说我们的价签和别家比没什么优势,我约了下周演示", {"action_type": "objection"}),
    (TUE_PM, "明德学校 电话,孙老师说价格比去年高了不少,我说今年加了维保", {"action_type": "objection"}),
    # comparisons in our favour, or no pushback at all, stay the touch
    (TUE_PM, "晨曦光伏 电话沟通,我们比竞品便宜不少,对方挺满意", {"action_type": "call"}),
    (TUE_PM, "瑞丰机械 拜访了张总,报价比上次低了5%,他挺满意", {"action_type": "visit"}),
    (TUE_PM, "瑞丰机械 电话里张总说发货提前了,很满意", {"action_type": "call"}),
    (TUE_PM, "瑞丰机械 拜访了张总,我们得提前备货", {"action_type": "visit"}),
    (TUE_PM, "瑞丰机械 如果他们嫌贵就申请特价", {"action_type": "other"}),
]

# 3. Money: w/W/万, hedged amounts, a budget in the clause after 预算; quotes and payments are not budgets.
MONEY = [
    (TUE_PM, "瑞丰机械 张总电话,预算有限,大概5w", {"action_type": "call", "budget": 50_000}),
    (TUE_PM, "蜀通 王经理说这块大概5W能做", {"budget": 50_000}),
    (TUE_PM, "雅居坊 老板说预算5万", {"budget": 50_000}),
    (TUE_PM, "鸿达模具 厂长说预算的话,30万左右", {"budget": 300_000}),
    (TUE_PM, "明德学校 孙老师说预算二十万以内", {"budget": 200_000}),
    (TUE_PM, "仁爱医院 李科长说二期预算一百五十万", {"budget": 1_500_000}),
    (TUE_PM, "金泰冷链 钱总说新库的投入300万上下", {"budget": 3_000_000}),
    (TUE_PM, "楚天物业 刘总说经费大概8万,控制在这个数", {"budget": 80_000}),
    (TUE_PM, "海韵酒店 老马说这期控制在20万以内", {"budget": 200_000}),
    (TUE_PM, "晨曦光伏 Jason说预算大概80w", {"budget": 800_000}),
    (TUE_PM, "晨曦光伏 客户说手里大概有个20来万", {"budget": 200_000}),
    (TUE_PM, "晨曦光伏 报价40万,客户预算只有35万", {"budget": 350_000}),
    (TUE_PM, "楚天物业 刘总说差不多5万,再多就批不下来", {"budget": 50_000}),
    (TUE_PM, "益安医药 报价单已发,总价46.8万,郑经理说他们大概40万左右", {"action_type": "quote", "budget": 400_000}),
    (TUE_PM, "雅居坊 尾款到了,12万,下个月还有大概30万", {"action_type": "payment", "budget": None}),
    (TUE_PM, "豫香园 报价单已发,总价46.8万", {"action_type": "quote", "budget": None}),
    (TUE_PM, "豫香园 报价单已发,46.8万", {"action_type": "quote", "budget": None}),
    (TUE_PM, "瑞丰机械 回款到了,大概5w", {"action_type": "payment", "budget": None}),
    (TUE_PM, "瑞丰机械 张总说竞品便宜5万左右", {"budget": None}),
    (TUE_PM, "瑞丰机械 张总说这批大概要5万件", {"budget": None}),
    (TUE_PM, "瑞丰机械 预算批下来了,报价20万", {"budget": None}),
]

# 4. A contract sent for signing counts as contract; one not yet signed does not.
CONTRACTS = [
    (TUE_PM, "晨曦光伏 合同已寄出等对方盖章", {"action_type": "contract", "customer_id": "D010"}),
    (TUE_PM, "蜀通 合同发过去了,让他们走流程", {"action_type": "contract", "customer_id": "D007"}),
    (TUE_PM, "雅居坊 合同寄出", {"action_type": "contract", "customer_id": "D008"}),
    (TUE_PM, "鸿达模具 把合同快递过去了,他们走盖章流程", {"action_type": "contract"}),
    (TUE_PM, "仁爱医院 合同已邮寄,等对方签字盖章寄回", {"action_type": "contract"}),
    (TUE_PM, "豫香园 今天寄了两份合同给他们财务", {"action_type": "contract"}),
    (TUE_PM, "晨曦光伏 双方已签字盖章", {"action_type": "contract"}),
    (TUE_PM, "金泰汽配 技术协议盖好章寄回来了", {"action_type": "contract"}),
    (TUE_PM, "明德学校 合同定稿后已发给对方走用印流程", {"action_type": "contract"}),
    (TUE_PM, "楚天物业 电话沟通,合同还没签,下周再催", {"action_type": "call"}),
    (TUE_PM, "楚天物业 明天寄合同", {"action_type": "other", "next_touch": "2026-11-25"}),
]

# 5. Roles come out whole; a department before a titled name goes into the role.
CONTACTS = [
    (TUE_PM, "今天去恒远化工见了采购总监", {"contact": None, "contact_role": "采购总监"}),
    (TUE_PM, "恒远化工 财务总监来电问发票", {"contact": None, "contact_role": "财务总监"}),
    (TUE_PM, "晨曦光伏 技术总监嫌我们组件效率低", {"contact_role": "技术总监"}),
    (TUE_PM, "明德学校 见了信息中心主任,聊了机房改造", {"contact_role": "信息中心主任"}),
    (TUE_PM, "仁爱医院 设备科主任来电", {"contact_role": "设备科主任"}),
    (TUE_PM, "鲁康医院 采购部赵经理来电问交期", {"contact": "赵经理"}),
    (TUE_PM, "恒远化工 技术部负责人王工来电", {"contact": "王工", "contact_role": "技术部负责人"}),
    (TUE_PM, "蜀通 跟运营总监王总吃了个饭", {"contact": "王总", "contact_role": "运营总监"}),
    (TUE_PM, "瑞丰机械 采购总监李总说预算有限,大概5w",
     {"contact": "李总", "contact_role": "采购总监", "budget": 50_000}),
]

# 6. Media, other touches, payments and dates.
BROADER = [
    (TUE_PM, "跟瑞丰机械张总视频沟通了一下新产线参数", {"action_type": "call"}),
    (TUE_PM, "和蜀通王经理语音通话半小时,确认了线路", {"action_type": "call"}),
    (TUE_PM, "瑞丰机械 跟张总语音聊了一下", {"action_type": "call"}),
    (TUE_PM, "瑞丰机械 张总视频连线,看了样机", {"action_type": "call"}),
    (TUE_PM, "晨曦光伏 今天上门,把样品给他们看了", {"action_type": "visit"}),
    (TUE_PM, "佳禾优选 下午巡了两家店", {"action_type": "visit"}),
    (TUE_PM, "给鸿达模具厂长发了封邮件,附上方案", {"action_type": "message"}),
    (TUE_PM, "给小橡树园长发短信提醒了开放日", {"action_type": "message"}),
    (TUE_PM, "在明德学校给老师们做了培训和demo", {"action_type": "presentation"}),
    (TUE_PM, "去海韵酒店给工程部演示了客控系统", {"action_type": "presentation"}),
    (TUE_PM, "仁爱医院 今天去量了手术室尺寸", {"action_type": "site_survey"}),
    (TUE_PM, "金泰冷链 冷库现场测量完毕", {"action_type": "site_survey"}),
    (TUE_PM, "瑞丰机械 微信上跟张总沟通了交期", {"action_type": "message"}),
    (TUE_PM, "瑞丰机械 钉钉上跟张总确认了数量", {"action_type": "message"}),
    (TUE_PM, "瑞丰机械 带师傅上门测量了厂房", {"action_type": "site_survey"}),
    (TUE_PM, "瑞丰机械 远程演示了一遍,张总挺满意", {"action_type": "presentation"}),
    (TUE_PM, "鸿达模具 回款30万", {"action_type": "payment", "budget": None}),
    (TUE_PM, "豫香园 20万已到账", {"action_type": "payment", "budget": None}),
    (TUE_PM, "雅居坊的货款到了,15万", {"action_type": "payment", "budget": None}),
    (TUE_PM, "瑞丰机械 今天收到货款20万", {"action_type": "payment", "budget": None}),
    (TUE_PM, "瑞丰机械 张总说货款月底前打过来", {"action_type": "other", "budget": None}),
    (TUE_PM, "瑞丰机械 张总说钱下周到账", {"action_type": "other"}),
    (TUE_PM, "瑞丰机械 电话催款,张总说下周一打款", {"action_type": "call", "next_touch": "2026-11-30"}),
    (TUE_AM, "蜀通 王经理说下下周再约", {"next_touch": None}),
    (TUE_AM, "瑞丰机械 张总说12/15前给答复", {"next_touch": "2026-12-15"}),
    (TUE_AM, "瑞丰机械 张总电话,要求12/15前交货", {"next_touch": "2026-12-15", "expected_date": "2026-12-15"}),
    (YEAR_END, "瑞丰机械 张总电话,1月6号过来看样机", {"action_type": "call", "next_touch": "2027-01-06"}),
    (YEAR_END, "鸿达模具 去了趟厂里,约了1月8号演示", {"action_type": "visit", "next_touch": "2027-01-08"}),
    (YEAR_END, "瑞丰机械 见了张总,下周二再过去", {"action_type": "visit", "next_touch": "2027-01-05"}),
    (WED, "彩云之家 微信上赵经理说下下周一来公司", {"action_type": "message", "next_touch": "2026-12-21"}),
]

CASES = [
    *(("visit", *c) for c in VISITS),
    *(("objection", *c) for c in OBJECTIONS),
    *(("money", *c) for c in MONEY),
    *(("contract", *c) for c in CONTRACTS),
    *(("contact", *c) for c in CONTACTS),
    *(("broader", *c) for c in BROADER),
]


@pytest.mark.parametrize(("kind", "now", "text", "expected"), CASES, ids=[f"{c[0]}-{c[2][:14]}" for c in CASES])
def test_generalization(tag: Tagger, kind: str, now: str, text: str, expected: dict) -> None:
    check(tag, now, text, expected)


def test_first_char_prefilter_hides_no_cue_on_fresh_wording() -> None:
    """The cue prefilter (CUE_FIRST_CHARS) must not hide a cue in any of the sentences above."""
    import re

    from handlers.understanding.action_type import _CUE_PATTERNS, CUE_FIRST_CHARS
    from handlers.understanding.text import normalize

    texts = [normalize(c[2]) for c in CASES]
    for action, pattern in _CUE_PATTERNS.items():
        bare = re.compile(pattern)
        fast = re.compile(f"(?=[{CUE_FIRST_CHARS[action]}])(?:{pattern})")
        for text in texts:
            assert [m.span() for m in bare.finditer(text)] == [m.span() for m in fast.finditer(text)], (action, text)
