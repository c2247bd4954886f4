"""Round 2 of reading real messages: general rules, each checked on several phrasings written for the
rule (not copied from the labelled sets): no customer invented from an industry phrase, exact full names
win, purchase orders and won tenders are contracts, money arriving is a payment, leaving the customer's
premises or receiving them is a visit."""

from __future__ import annotations

import pytest

from handlers.understanding import Customer, Directory, understand
from tests.understanding.conftest import Tagger, at


@pytest.mark.parametrize("text", [
    "今天拜访了一家做冷链物流的新客户，聊得不错",
    "上午去了精密机械展会，收了一堆名片",
    "跟一个做汽配的老板吃了个饭，说以后有机会合作",
    "电话里聊了一家做医药配送的公司，下周发资料",
    "下午见了一家超市连锁的采购",
])
def test_industry_phrases_alone_name_no_customer(tag: Tagger, text: str) -> None:
    assert tag(text).customer_id is None


def test_an_exact_full_name_wins_over_a_longer_name_that_extends_it() -> None:
    d = Directory([Customer("H2", "无锡东方精密机械有限公司"), Customer("H3", "无锡东方精密机械有限公司新区分厂"),
                   Customer("H4", "杭州西湖茶叶有限公司"), Customer("H5", "杭州西湖茶叶有限公司龙井分公司")])
    now = at("2026-11-24 10:00")
    assert understand("无锡东方精密机械有限公司 电话", now, d).customer_id == "H2"
    assert understand("今天拜访了无锡东方精密机械有限公司新区分厂", now, d).customer_id == "H3"
    assert understand("给杭州西湖茶叶有限公司发了报价单", now, d).customer_id == "H4"
    assert understand("杭州西湖茶叶有限公司龙井分公司 上门拜访", now, d).customer_id == "H5"


@pytest.mark.parametrize("text", [
    "瑞丰机械 PO下来了，三十万",
    "今天收到恒远化工的正式PO",
    "跟金泰汽配陈总吃饭，顺便拿了PO",
    "佳禾优选的PO已经下了，下周排产",
    "蜀通物流 中标了！下周签合同",
    "鲁康医院 收到中标通知",
])
def test_purchase_orders_and_won_tenders_are_contracts(tag: Tagger, text: str) -> None:
    assert tag(text).action_type == "contract"


@pytest.mark.parametrize("text", [
    "恒远化工的货款已经打过来了",
    "瑞丰机械 李姐刚转账了，二十万",
    "金泰汽配的尾款今天到账",
    "佳禾优选 payment 到了，财务确认过",
    "鲁康医院的首付款下午转过来了",
])
def test_money_arriving_is_a_payment(tag: Tagger, text: str) -> None:
    assert tag(text).action_type == "payment"


@pytest.mark.parametrize("text", [
    "刚从瑞丰机械出来，张总对方案挺满意",
    "嗯那个刚从恒远化工那边出来嗯李姐说下个月要补货",
    "金泰汽配的陈总今天来我们公司了，看了样机",
    "佳禾优选采购总监来厂里验厂，整体满意",
    "今天meet了蜀通物流的张经理",
])
def test_being_at_the_customer_or_receiving_them_is_a_visit(tag: Tagger, text: str) -> None:
    assert tag(text).action_type == "visit"


@pytest.mark.parametrize("text", [
    "准备明天去瑞丰机械拿PO",
    "下周一去恒远化工收款",
    "PO还没下来，再等等",
])
def test_planned_or_negated_deals_are_not_deals(tag: Tagger, text: str) -> None:
    assert tag(text).action_type not in ("contract", "payment")


@pytest.mark.parametrize(("name", "floors"), [
    # measured when these rules landed; issue 11's targets (type ≥95%, customer ≥98%) are not met yet
    ("tagging-fresh.jsonl", {"customer_id": 0.99, "action_type": 0.885, "next_touch": 0.80, "payment_amount": 0.9}),
    ("tagging-fresh-b.jsonl", {"customer_id": 0.99, "action_type": 0.885, "next_touch": 0.85, "quote_amount": 0.8}),
])
def test_fresh_sets_written_without_the_rules_do_not_regress(directory: Directory, name: str,
                                                             floors: dict[str, float]) -> None:
    from handlers.understanding.scoring import evaluate
    from tests.understanding.conftest import DATA

    report = evaluate(DATA / name, directory)
    for field_name, floor in floors.items():
        got = report.accuracy(field_name)
        assert got is not None and got >= floor, (field_name, got)


@pytest.mark.parametrize(("text", "field_name", "amount"), [
    ("给蜀通物流做了方案演示，报价35万，下周一回访", "quote_amount", 350_000),
    ("恒远化工 我们报的是96万，他嫌贵", "quote_amount", 960_000),
    ("瑞丰机械 报价调整：原价28万降到25.5万，已发给张总", "quote_amount", 255_000),
    ("收到恒远化工回款20万", "payment_amount", 200_000),
    ("金泰汽配的货款到账了，二十三万五", "payment_amount", 235_000),
    ("佳禾优选 PO到了，136.8万", "contract_amount", 1_368_000),
    ("鲁康医院 合同今天签了，合同金额56万", "contract_amount", 560_000),
])
def test_every_amount_has_its_owner(tag: Tagger, text: str, field_name: str, amount: int) -> None:
    u = tag(text)
    assert getattr(u, field_name) == amount and u.budget is None


def test_a_promised_payment_is_no_payment_amount(tag: Tagger) -> None:
    u = tag("恒远化工说下周付款30万")
    assert u.payment_amount is None and u.action_type != "payment"


@pytest.mark.parametrize("text", [
    "瑞丰机械 张总觉得贵，我解释了一下",
    "恒远化工 李姐说还是有点贵，我把账算给她听了",
    "金泰汽配陈总认为太贵了，我说可以分期",
])
def test_the_customer_finding_it_expensive_is_an_objection(tag: Tagger, text: str) -> None:
    assert tag(text).action_type == "objection"


@pytest.mark.parametrize(("text", "need"), [
    ("瑞丰机械 明天出方案", False),
    ("给恒远化工做了方案演示", False),
    ("金泰汽配 方案讲完了，陈总挺满意", False),
    ("瑞丰机械 张总要一份方案", True),
    ("恒远化工李姐想看看改造方案", True),
])
def test_a_plan_is_a_need_only_when_the_customer_wants_it(tag: Tagger, text: str, need: bool) -> None:
    assert ("方案" in tag(text).needs) is need


@pytest.mark.parametrize(("text", "kind"), [
    ("张总有事打电话给我，问了下交期", "call"),
    ("请假一天，客户那边有事电话联系我", "other"),
    ("今天调休，有问题随时微信找我", "other"),
])
def test_an_invitation_to_get_in_touch_is_no_touch(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text).action_type == kind


@pytest.mark.parametrize(("text", "budget"), [
    ("嗯那个瑞丰机械的张总啊嗯就是说想要那个自动上下料嗯预算三十五个w", 350_000),
    ("恒远化工预算大概八十个w左右", 800_000),
    ("金泰汽配 预算一百二十个万", 1_200_000),
])
def test_spoken_amounts_in_voice_transcripts(tag: Tagger, text: str, budget: int) -> None:
    assert tag(text).budget == budget


@pytest.mark.parametrize(("text", "day"), [
    ("约了瑞丰机械12月1日上午10点见面", "2026-12-01"),
    ("12月1日下午3点去恒远化工拜访", "2026-12-01"),
    ("约了金泰汽配2026-12-03 上午9点开会", "2026-12-03"),
])
def test_a_clock_time_after_a_date_keeps_the_date(tag: Tagger, text: str, day: str) -> None:
    u = tag(text, "2026-11-24 10:00")
    assert u.next_touch is not None and u.next_touch.isoformat() == day


@pytest.mark.parametrize(("text", "kind"), [
    ("给鲁康医院发了短信提醒周五开标", "message"),
    ("打电话跟瑞丰机械确认了下周三的演示", "call"),
    ("微信提醒了恒远化工李姐明天的验收", "message"),
    ("约了瑞丰机械下周三去拜访", "other"),  # 约 plans: nothing happened yet
])
def test_a_date_after_what_was_done_is_its_topic(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text, "2026-11-24 10:00").action_type == kind


@pytest.mark.parametrize(("text", "customer"), [
    ("一家做化工的新客户，不是恒远化工，今天电话聊了聊", None),
    ("嗯那个不是瑞丰那家啊是另外一家做机械的嗯下周去拜访", None),
    ("给一家做汽配的新客户发了资料，是金泰汽配陈总介绍的", None),
    ("今天见了一个做超市的老板，他说认识佳禾优选的采购总监", None),
    ("恒远化工的李姐推荐了瑞丰机械，今天给瑞丰机械张总打了电话", "D001"),
])
def test_denied_referring_and_acquainted_customers_are_not_the_one_touched(tag: Tagger, text: str,
                                                                         customer: str | None) -> None:
    assert tag(text).customer_id == customer


@pytest.mark.parametrize(("text", "kind"), [
    ("瑞丰机械的演示被张总临时取消了，他发微信说改到下周", "message"),
    ("恒远化工 现场勘测取消了，李姐电话里说等节后", "call"),
    ("金泰汽配的demo没做成，投影仪坏了", "other"),
    ("佳禾优选cancel了明天的demo，采购WeChat说下周再约", "message"),
])
def test_a_called_off_touch_did_not_happen_but_how_it_was_called_off_did(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text).action_type == kind


@pytest.mark.parametrize("text", [
    "今天把样品送到了瑞丰机械，张总收下了",
    "恒远化工的验收通过了，李姐签了验收单",
    "亲自把资料送去金泰汽配",
])
def test_handing_over_in_person_and_acceptance_on_site_are_visits(tag: Tagger, text: str) -> None:
    assert tag(text).action_type == "visit"


def test_goods_sent_by_courier_are_no_visit(tag: Tagger) -> None:
    assert tag("瑞丰机械的样品快递寄出了").action_type != "visit"


@pytest.mark.parametrize(("text", "kind"), [
    ("下周二去瑞丰机械量尺寸，今天跟张总电话约好了", "call"),
    ("恒远化工李姐打电话来把验收改到下周三", "call"),
    ("金泰汽配的陈总微信上约了下周四见面", "message"),
    ("准备明天给瑞丰机械打电话约时间", "other"),  # nothing arranged yet
])
def test_the_call_or_message_that_arranged_a_meeting_happened(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text).action_type == kind


@pytest.mark.parametrize(("text", "kind"), [
    ("瑞丰机械 改造方案讲完了，张总说月底前定", "presentation"),
    ("给恒远化工李姐讲好了效果图，她挺满意", "presentation"),
    ("给金泰汽配陈总发了个新年问候", "message"),
    ("给佳禾优选群发了春节放假通知", "message"),
    ("鲁康医院 合同sign好了", "contract"),
    ("three calls today: 瑞丰 和 恒远, just follow up", "call"),
    ("瑞丰机械张总说 price 有点 high，我解释了一下", "objection"),
    ("恒远化工 价格还是有点高，李姐要再考虑", "objection"),
    ("仁爱医院 上午的培训做完了", "visit"),
])
def test_more_ways_reps_say_what_they_did(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text).action_type == kind


@pytest.mark.parametrize(("text", "now", "day"), [
    ("瑞丰机械张总说元旦前要上线", "2026-11-24 10:00", "2026-12-31"),
    ("恒远化工要求国庆前完工", "2027-03-01 10:00", "2027-09-30"),
    ("金泰汽配陈总希望劳动节前到货", "2027-03-01 10:00", "2027-04-30"),
    ("佳禾优选要五一前把物料铺好", "2027-05-10 10:00", "2028-04-30"),  # this year's has passed
])
def test_the_eve_of_a_fixed_date_holiday_is_a_deadline(tag: Tagger, text: str, now: str, day: str) -> None:
    from handlers.understanding.dates import find_dates

    [mention] = [d for d in find_dates(text, at(now)) if d.value is not None]
    assert mention.value is not None and mention.value.isoformat() == day and mention.deadline and mention.future


# ---- round 2, second part: general rules, each on several phrasings written for the rule ----------------
SUN, WED_, FRI_EVE = "2026-11-29 20:00", "2026-11-25 10:00", "2026-12-04 19:00"


@pytest.mark.parametrize(("now", "text", "next_touch"), [
    (SUN, "周一去小橡树幼教拜访园长", "2026-11-30"),  # a plain 周X already past, in a plan: next week's
    (SUN, "海韵大酒店 王总微信说周三之前回复我", "2026-12-02"),
    (SUN, "仁爱医院李科长打电话，让我周五前把方案发过去", "2026-12-04"),
    (FRI_EVE, "瑞丰机械张总说周一上午来电话", "2026-12-07"),
    (FRI_EVE, "金泰冷链 call with Mr. Wang, I'll send the quote Monday", "2026-12-07"),
    (SUN, "嗯今天周日然后就是周一准备去鲁康中医取合同", "2026-11-30"),
    (SUN, "明天周一去鸿达模具，厂长约的上午九点", "2026-11-30"),  # 周一 restates 明天
    (WED_, "本来今天要去瑞丰机械 结果张总出差了 没去成 改到周四", "2026-11-26"),  # the day called off is not
    (WED_, "晨曦光伏的Jason打电话说取消了明天的demo，改到下周四", "2026-12-03"),
    (SUN, "周一上午去佳禾优选巡店，下午去彩云之家", "2026-11-30"),  # that Monday's afternoon
    (WED_, "今天先电话跟蜀通张经理约好了，后天过去", "2026-11-27"),  # today's arranging is not the next touch
])
def test_planned_days_said_late_in_the_week(tag: Tagger, now: str, text: str, next_touch: str) -> None:
    assert str(tag(text, now).next_touch) == next_touch


@pytest.mark.parametrize(("now", "text"), [
    (WED_, "周一去瑞丰机械拜访了张总"),  # a report: this week's Monday, already past
    (WED_, "周二跟恒远化工李姐打了电话"),
])
def test_a_past_weekday_with_a_done_verb_stays_past(tag: Tagger, now: str, text: str) -> None:
    u = tag(text, now)
    assert u.next_touch is None and u.action_type in ("visit", "call")


@pytest.mark.parametrize(("text", "field_name", "day"), [
    ("瑞丰机械张总电话里要求12月15号前交货", "expected_date", "2026-12-15"),
    ("恒远彩印老周打电话来催交期，我承诺12月8号之前发货", "promised_date", "2026-12-08"),
    ("金泰冷链 wechat 聊了一下 they want delivery before 12月20号", "expected_date", "2026-12-20"),
    ("豫香园食品 PO下来了 下周三安排发货", None, None),
])
def test_our_delivery_is_no_next_touch(tag: Tagger, text: str, field_name: str | None, day: str | None) -> None:
    u = tag(text, WED_)
    assert u.next_touch is None
    if field_name:
        assert str(getattr(u, field_name)) == day


def test_going_there_on_the_day_is_a_next_touch(tag: Tagger) -> None:
    assert str(tag("小橡树园长说绘本先试点，我周六把样书送到园里", WED_).next_touch) == "2026-11-28"
    assert str(tag("雅居坊 下周四去展厅安装", WED_).next_touch) == "2026-12-03"


@pytest.mark.parametrize(("text", "promised"), [
    ("海韵酒店老马说要报价，我跟他说下周二之前给他报价", "2026-12-01"),
    ("金泰汽配陈总让我们出个quote我说下周二之前发", "2026-12-01"),
    ("鲁康医院院办打电话来说下周二之前要报价 我答应周一发过去", "2026-11-30"),
])
def test_what_we_said_by_a_day_is_our_promise(tag: Tagger, text: str, promised: str) -> None:
    assert str(tag(text, WED_).promised_date) == promised


@pytest.mark.parametrize(("text", "kind"), [
    ("益安口腔 刘院长 微信 转了 定金 3万", "payment"),
    ("豫香园 陈总微信说钱已经转了 三十六万五", "payment"),
    ("金泰汽配 陈总 电话里报了个价 十八万八", "quote"),
    ("彩云之家总监问多少钱，我当场给了个价九十二万", "quote"),
    ("佳禾优选 电话里跟采购总监讲了春节档的价格，整体一百零八万", "quote"),
    ("给金泰冷链经理发了邮件，附上了二期的报价", "quote"),
    ("雅居坊 PO received, 1,280,000元", "contract"),
    ("豫香园 sent the contract for signing via 顺丰", "contract"),
    ("海韵大酒店 site survey 做完了, measured all 3 floors", "site_survey"),
    ("瑞丰机械 张总 wechat 说 competitor 报价便宜 20%, 我发了对比表给他", "objection"),
    ("瑞丰机械的张总今天来公司看了样机，挺满意", "visit"),
    ("小橡树 合同昨天签的，今天首款就到了，十五万", "payment"),  # yesterday's step is background
    ("鸿达模具 今天先微信跟厂长确认了签约时间", "message"),  # talking of a signing date is no signing
])
def test_more_ways_reps_say_what_happened(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text, WED_).action_type == kind


@pytest.mark.parametrize(("text", "field_name", "amount"), [
    ("瑞丰机械 张总说预算三四十万", "budget", 300_000),
    ("恒远化工 明年大概要采购五六百万", "budget", 5_000_000),
    ("金泰汽配 预算十二三万", "budget", 120_000),
    ("晨曦光伏 王总说预算一百五到两百万之间", "budget", 1_500_000),
    ("明德学校 项目批下来了预算八十来万", "budget", 800_000),
    ("晨曦光伏 三期预算大概一点五个亿", "budget", 150_000_000),
    ("瑞丰机械 今年技改总预算1.2个亿", "budget", 120_000_000),
    ("雅居坊家具 演示完了 老板说三四十万能接受", "budget", 300_000),
    ("佳禾优选 回款到账 1,050,000元", "payment_amount", 1_050_000),
    ("彩云之家 报价 单店两万三 二十家 总共四十六万 已发", "quote_amount", 460_000),
    ("金泰汽配 框架合同签了 金额一点二个亿", "contract_amount", 120_000_000),
])
def test_spoken_ranges_decimals_and_totals(tag: Tagger, text: str, field_name: str, amount: int) -> None:
    assert getattr(tag(text, WED_), field_name) == amount


def test_a_unit_price_is_no_record_amount(tag: Tagger) -> None:
    u = tag("楚天物业 合同签了 一年期 每月3.2万", WED_)
    assert u.action_type == "contract" and u.contract_amount is None and u.budget is None


@pytest.mark.parametrize(("name", "floors"), [
    # measured after issue 11's round-2 rules (fresh-c was written before them; baselines in its README)
    ("tagging-fresh.jsonl", {"action_type": 0.95, "customer_id": 1.0, "next_touch": 0.95, "budget": 0.98,
                             "expected_date": 0.95, "promised_date": 0.9, "quote_amount": 0.93, "payment_amount": 0.95,
                             "contract_amount": 1.0}),
    ("tagging-fresh-b.jsonl", {"action_type": 0.96, "customer_id": 1.0, "next_touch": 0.95, "budget": 0.98,
                               "expected_date": 0.94, "promised_date": 1.0, "quote_amount": 1.0,
                               "payment_amount": 1.0}),
    ("tagging-fresh-c.jsonl", {"action_type": 0.97, "customer_id": 1.0, "next_touch": 0.98, "budget": 0.95,
                               "expected_date": 1.0, "promised_date": 1.0, "quote_amount": 0.91,
                               "payment_amount": 1.0, "contract_amount": 1.0}),
])
def test_held_out_sets_keep_the_round2_figures(directory: Directory, name: str, floors: dict[str, float]) -> None:
    from handlers.understanding.scoring import evaluate
    from tests.understanding.conftest import DATA

    report = evaluate(DATA / name, directory)
    for field_name, floor in floors.items():
        got = report.accuracy(field_name)
        assert got is not None and got >= floor, (field_name, got)


@pytest.mark.parametrize(("text", "kind"), [
    ("益安口腔 刘院长微信问能不能大后天上午来装机，我说可以", "message"),  # what was asked in it is planned, not it
    ("益安医药的郑经理打电话约我周三去金华仓库看一下", "call"),
    ("佳禾优选 采购电话里要新店的报价，我答应这周五之前给到", "call"),
    ("海韵大酒店 老马让我明天上午过去看样板间，刚电话约好", "call"),
    ("给明德外国语的孙老师send了final proposal，他说周一回复我", "message"),
    ("金泰冷链 明天打电话问问进度", "other"),  # a call still planned
    ("恒远化工 准备下午给李姐打电话说一下交期", "other"),
])
def test_a_call_or_message_is_what_happened_when_it_tells_what_was_said(tag: Tagger, text: str, kind: str) -> None:
    assert tag(text, WED_).action_type == kind


@pytest.mark.parametrize("text", [
    "海韵酒业 王总 电话沟通 说春节后再谈",  # a known brand followed by another business word is another company
    "一家叫海韵酒业的经销商来电问代理政策",
    "瑞丰塑胶的老板今天来公司看了样机",
    "金泰五金 陈总电话里问了报价",
])
def test_a_known_brand_in_another_business_is_not_that_customer(tag: Tagger, text: str) -> None:
    assert tag(text, WED_).customer_id is None


@pytest.mark.parametrize(("text", "contact"), [
    ("Yesterday下午去楚天物业做了门禁的demo，刘总很happy", "刘总"),
    ("Had a call with 恒远彩印 老周, 他们老板要看对比", "老周"),
    ("Quick call with 瑞丰精密 张总，他 confirm 了下周来看 demo", "张总"),
    ("Weekend也在work，给明德外国语的孙老师send了final proposal", "孙老师"),
])
def test_an_english_word_opening_the_message_is_no_contact(tag: Tagger, text: str, contact: str) -> None:
    assert tag(text, WED_).contact == contact


@pytest.mark.parametrize(("text", "expected"), [
    ("佳禾优选 报价已发 采购说下周一前给结果", "2026-11-30"),  # their decision by a day
    ("楚天物业做了门禁的demo，刘总说下周二前decide", "2026-12-01"),
    ("蜀通的李总说合同的事下周二之前给我们答复", "2026-12-01"),
    ("蜀通 邮件发来了招标文件，12月25号投标截止", "2026-12-25"),  # a tender closing on a day
    ("金泰汽配 陈总打电话来，说模具的交期要提前到12月3号", "2026-12-03"),
    ("恒远化工李姐微信问我们能不能保证12月10号前到货", "2026-12-10"),
])
def test_the_customers_own_deadlines_are_expected_dates(tag: Tagger, text: str, expected: str) -> None:
    assert str(tag(text, WED_).expected_date) == expected
