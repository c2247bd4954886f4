"""Which touch the rep did: cue words per action type, clause tense, and precedence.

The contract counts only touches that happened ("明天发报价" after a visit is a visit), so each cue
is read in the tense of its clause: a clause is planned when it has a future date or a planning
word (约, 准备, 答应 …), done when it has 了/已/刚 or a past date, and otherwise inherits the tense
of the clause before it ("下周一恒远化工, 下周二蜀通, 都是例行拜访" stays planned). A later part of
today with a done verb is when it happened ("下午去瑞丰见了张总" sent at 10:00 is done), and a
customer's pushback said with 要/得/再 ("价格还得再压一压") still happened once the touch did.
A promise word starts a clause of its own (text.split_clauses), so "电话里跟Jason承诺月底前寄样品"
is a call that happened with a planned delivery after it; a month-day only just past ("12月3号下的单"
on 12-30) plans nothing unless its clause has a planning word.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .dates import DateMention
from .text import Clause

PRECEDENCE: tuple[str, ...] = (
    "contract", "payment", "quote", "presentation", "site_survey", "objection", "visit", "call", "message",
)
ACTION_TYPES: tuple[str, ...] = (*PRECEDENCE, "other")
QUICK_TAGS: dict[str, str] = {"📞": "call", "☎": "call", "🧭": "site_survey", "📊": "presentation"}

_W = r"[^,.;!?:。\n]"  # a character inside the same clause
_NW = r"[^,.;!?:。\n没未不别]"  # ... that is not a negation (合同还没签, 钱还没到账)
# What a walkthrough is about (讲了系统架构, PPT过了一遍) and the places a survey looks at.
_PRES_OBJ = r"(?:方案|架构|系统|平台|功能|(?i:ppt)|解决方案|效果图|设计图)"
_NOT_ISSUE = r"(?!的?(?:问题|故障|毛病|报错|情况|(?i:bug)))"
_SURVEY_PLACE = r"(?:屋顶|楼顶|房顶|机房|配电房|配电室|配电间|弱电间|强电间|设备间|场地|安装位置|点位|管道|管线|走线)"
_CUE_PATTERNS: dict[str, str] = {
    "contract": (
        rf"合同{_NW}{{0,12}}?(?:签|盖|寄|发过去|发给|发出|发送|发了|送过去|送去|送到|交给|递交|提交|用印|走签字|走盖章"
        r"|快递|邮寄|发到|给(?:他们|对方|客户)|过去了)"
        # "合同 法务改完了 今天快递过去了": the physical send verbs reach further
        rf"|合同{_NW}{{9,20}}?(?:快递|邮寄|寄)(?:了|出|过去|给)"
        rf"|合同{_NW}{{0,4}}?(?i:sign)"
        rf"|(?:寄|快递|邮寄|发|送|递|交)(?:了|出|过去|给了?){_W}{{0,6}}?合同"
        rf"|(?:签了|签订了?|签署了?|签完|签好)(?:{_W}{{0,6}}?)(?:合同|协议|订单)"
        rf"|签约(?!时间|日期|的时间|的日期|仪式)|签单|(?:协议|订单){_NW}{{0,4}}?(?:签(?!字)|盖)"
        r"|(?:已|都)签字|签字了|(?:已|都)?盖(?:了|好|完)章|盖章了|已盖章|已用印|用印了"
        r"|(?i:contract\s+(?:was\s+|is\s+)?signed|signed\s+(?:the\s+)?contract)"
        # the customer's purchase order arrived (PO下来了, 收到PO, 拿了PO) or the tender was won: the deal is made
        rf"|(?<![A-Za-z])(?i:po)(?![A-Za-z]){_NW}{{0,8}}?(?:下来|到了|已经?下|正式|发过来|收到|下了)"
        rf"|(?:收到|拿到?|接到)了?{_W}{{0,10}}?(?<![A-Za-z])(?i:po)(?![A-Za-z])|(?i:confirm)了?(?i:po)"
        r"|(?<![A-Za-z])(?i:po\s+(?:received|arrived|came\s+in|is\s+in)|sent\s+(?:the\s+)?contract|contract\s+(?:was\s+)?sent)"
        r"|中标(?:了|通知)|(?<![A-Za-z])(?i:deal\s+closed|signed)(?![A-Za-z])"
    ),
    "payment": (
        rf"(?:款|钱|费|定金|订金|(?i:payment)){_NW}{{0,12}}?(?:到账|到了|已到|收到|结清|入账|已付|付了|付清|打过来了|转过来了|已经?转了?(?!账)|转了(?!账))"
        rf"|转了{_W}{{0,4}}?(?:定金|订金|首付|尾款|货款|款|钱)"
        r"|(?<=已)转账|(?<=已经)转账|(?<=刚)转账|转账了|转了账"
        rf"|到账(?!没|了没|了吗|吗)|收到{_W}{{0,6}}?(?:款|钱|转账|汇款|定金|订金)|(?:转账|汇款)(?:已到|到了|收到了)|已回款|回款(?:了|到|已)|结清"
        r"|已打款|打款了|打了款|已付款|付款了|付了款|款已付|已经付了"
        r"|(?:回款|收款|到账)\s?[\d一二三四五六七八九十两](?:[\d.]*|[一二三四五六七八九十两百千]*)\s?(?:万|千|元|块|[wWkK])"
        r"|(?i:payment\s+(?:was\s+)?received|received\s+(?:the\s+)?payment)"
    ),
    "quote": (
        rf"(?<!竞品)(?<!别家)(?<!同行)(?<!对手)(?<!友商)报价单?{_W}{{0,8}}?"
        r"(?:已|以)?(?:发|调整|调了|改|更新|修改|下调|上调|提交|递交|寄|降|(?i:sent|revised?|updated?))"
        rf"|(?:发|给|递|提交|寄|出)了{_W}{{0,6}}?报价|已经?(?:发|给|把){_W}{{0,6}}?报价"
        rf"|报了价|报过价|报的价|(?:报|给)了?(?:个|一个)价|报了一下(?={_W}{{0,8}}?[\d一二三四五六七八九十两])"
        rf"|报价单?{_NW}{{9,24}}?(?:已发|已经发|发了|发过去了|(?i:sent))|附(?:上|带|了)了?{_W}{{0,12}}?(?:报价|(?i:quot(?:e|ation)))|(?:讲|说|谈|给)了?(?:一下|下)?{_W}{{0,8}}?(?:价格|价钱)(?=[,，\s]?(?:整体|总价|总共|一共|合计)?\s?[\d一二三四五六七八九十两])|按{_W}{{0,12}}?报的|(?:重新|已经?|刚)报(?:了个?)?价|报价了"
        rf"|(?i:quot(?:e|ation)){_W}{{0,20}}?(?:sent|send|revis|发|email|邮件|已)"
    ),
    "presentation": (
        # a demo video or account sent over is a message, not a demo
        r"演示(?!视频|录像|文档|资料|材料|链接|账号|环境)|(?i:demo)(?!\s?(?:视频|录像|video|链接|link|账号))"
        r"|讲解|讲(?:了|解了|了讲)?(?:一下|下|一遍)?方案|方案(?:汇报|介绍|宣讲|演讲|展示)|路演|宣讲"
        r"|(?i:presentation|presented|pitch(?:ed)?|walk(?:ed)?\s?through)|产品介绍|介绍了?(?:产品|方案|系统|平台)"
        # walking through a solution: 讲了系统架构, 过了一遍方案, 汇报了方案, 展示了效果, PPT过了一遍
        # (not the customer telling us about their system's problems: 跟我讲了他们系统的问题)
        rf"|(?<!跟我|给我|向我|对我|和我)讲(?:了|解了|了讲)?(?:一下|下|一遍)?{_W}{{0,8}}?{_PRES_OBJ}{_NOT_ISSUE}"
        rf"|过了?(?:一遍|一下|下){_W}{{0,6}}?{_PRES_OBJ}|汇报了?(?:一下|下)?{_W}{{0,6}}?{_PRES_OBJ}"
        rf"|展示了?(?:一下|下)?{_W}{{0,8}}?(?:{_PRES_OBJ}|效果|案例|样机|功能)|(?:产品|系统|功能)展示"
        rf"|{_PRES_OBJ}{_NOT_ISSUE}{_W}{{0,10}}?(?<!跟我|给我|向我|对我|和我)(?:讲了|讲解了|演示了|介绍了|过了)(?:讲|一遍|一下|下)"
        rf"|{_PRES_OBJ}{_NOT_ISSUE}{_W}{{0,8}}?(?<!跟我|给我|向我|对我|和我)讲(?:完|好)了?"
    ),
    "site_survey": (
        r"(?:勘测|勘察|勘查|查勘|踏勘|测量|丈量|实测|量尺寸|量房|现场测)(?!的)"
        r"|(?<![A-Za-z])(?i:site\s?survey(?:ed)?|surveyed|measured)(?![A-Za-z])"
        r"|(?<![检监预猜推评观])测了|(?<![商数质重考衡批产销容流音])量(?:了|过|一下)"
        # looking the site over: 现场看了, 看了现场, 实地看了看, 现场确认了点位
        r"|现场(?:查看|察看|核实|确认|核对|摸底|拍|看(?:了|过|看)(?!样|产品|演示|(?i:demo)))"
        r"|(?:看|查看|察看|摸)了?(?:一下|下|一遍|一圈|看)?(?:他们的?|客户的?)?现场"
        r"|实地(?:看|查看|察看|考察|勘|测|量|走|踩)"
        rf"|看了?(?:一下|下|一遍|一圈|看)?(?:他们的?|客户的?|新的?)?{_SURVEY_PLACE}"
        # site photos: 拍了现场照片, 冷库外墙和地面都拍了照
        rf"|拍了?(?:些|几张|一些|点)?现场|(?:{_SURVEY_PLACE}|车间|厂房|仓库|库房|冷库|门店|店面|门头|外墙|地面|工地)"
        rf"{_W}{{0,6}}?拍了?(?:些|几张|一些|点)?(?:照|相|视频)"
    ),
    "objection": (
        r"嫌|太贵|偏贵|贵了|有点贵|比较贵|(?<=觉得)贵|(?<=认为)贵|(?<=感觉)贵|(?<=说)贵|(?<=有点)贵|(?<=有些)贵|(?<=还是)贵|(?<=比较)贵|压价|砍价|杀价|异议|不满|投诉|抱怨|担心|顾虑|疑虑|质疑"
        r"|太(?:长|慢|赶|高|短|少|差|小|低|晚|久|复杂|麻烦|死板)|犹豫|不认可|不接受|不太(?:认可|接受|满意|同意|放心)|接受不了|不能接受|不符合|不满足|达不到"
        r"|不划算|没(?:有|什么|啥)?优势|不占优势|比价|货比三家"
        # price pushback: the customer wants it cheaper (价格还得再压一压, 能不能再便宜点)
        r"|压一压|压一下|再压|往下压|压低|砍一刀|降一降|让(?:点|一点)利"
        r"|(?:再|能|要|想|希望|给个?)(?:便宜|降|优惠|让)(?:点|些|一点|一些)"
        r"|(?:能不能|能否|可不可以|可否)(?:再)?(?:降|便宜|优惠|少|打折|提前|缩短)"
        rf"|(?:价格|价钱|单价|总价|费用|运费|价位|(?i:price)){_W}{{0,6}}?(?:偏高|高了|太高|有点高|有些高|还是高|下不来|没竞争力|不(?:太)?(?:合适|好接受)|(?i:high|too\s+much))"
        # delivery-time pushback (交期太长, 到货时间要提前两周)
        rf"|(?:交期|交货|工期|到货|交付|货期|周期|供货){_W}{{0,8}}?(?:太久|长了|慢了|晚了|赶不上|来不及|等不了|赶不及|(?:要|得|想)(?:再)?提前|缩短|压缩)"
        r"|(?:要求|希望|必须)(?:再)?(?:提前|缩短|压缩)"
        # competitor comparisons (竞品报得比我们低15%, 别家便宜一成)
        rf"|比(?!较|如|例|赛|方){_W}{{0,12}}?(?:贵|晚|慢|高|涨)"
        rf"|比(?:我们|咱们?|我司|你们){_W}{{0,8}}?(?:低|便宜|快|少|短|优惠|好)"
        rf"|(?<!比)(?:(?<![A-Za-z])(?i:competitors?)|竞品|别家|别人家|同行|对手|其他家|友商|隔壁|其他供应商|别的供应商|另一家|另外一家"
        r"|其他厂家|别的厂家|其他品牌|别的品牌)"
        rf"{_W}{{0,12}}?(?:便宜|低|快|承诺|送|优惠|报|给的|给了|给到|能给|给[\d一二三四五六七八九十两几半]|能做|做到|提供|开出|只收|只要|才)"
        # we fall short: 效率不如华为, 比不上进口的
        r"|(?<![倒还要])不如(?!先|就|直接|这样|等|让|干脆|改|我们先)|比不上|没法比"
    ),
    "visit": (
        r"拜访|拜会|走访|到访|登门|上门|巡店|巡了|吃了?(?:个|顿)?饭|饭局|喝了?茶|(?<![意听看遇])见了|见到|见面"
        r"|碰面|碰了?个?[面头]|当面|(?:走|转|逛)了一?圈|坐了(?:坐|一?会|一下|一?(?:上午|下午|晚上|天|整天)|半天)"
        r"|(?:待|呆)了(?:一|半|大|几|两|整)|吃的(?:饭|午饭|晚饭)|喝了?(?:点|杯|顿|几杯|两杯)?(?:酒|咖啡)|带(?:我|我们)(?:看|参观|转|逛|去)|吃了?(?:个|顿|餐)?(?:午饭|晚饭|便饭|工作餐)|面谈|面聊|参观|陪同|来访|接待|(?<![发寄传递送转过])去了|(?<![发寄传递送转])过去了|去过"
        # just left the customer (刚从瑞丰机械出来); the customer came to us (来我们公司, 验厂)
        # handing things over in person (年货送到了, 材料送过去了) and on-site acceptance (验收通过, 签了验收单)
        r"|(?<![发寄快邮])送(?:到|过去|去|来)了|亲自送|当面交|验收(?:通过|完|了|顺利)|签了验收单|签收了?"
        rf"|从{_W}{{1,12}}?出来|来(?:了)?(?:我们|咱们|我司)(?:公司|厂|这边)|来厂里|验厂|(?<![我回])来了?(?:公司|展厅|工厂|厂里)(?=看|参观|坐|谈|聊|了|验|考察)"
        r"|(?<![A-Za-z])(?i:visited|met|meet|visit|on-?site\s+visit|kick-?off)(?![A-Za-z])|跑了(?:一?趟|一圈|[\d一二三四五六七八九十两几]+家)|来了一?趟|到了(?:现场|他们|客户|店|园|厂|公司)|培训了?(?:导购|店员|员工|销售|他们)|培训(?:做完|结束|完)了?|备案"
    ),
    "call": (
        r"电话|来电|电联|致电|通话|打给|视频(?:会议|通话|沟通|会|连线|聊|电话|了|过)|语音(?:通话|电话|聊|沟通|会议|连线|了|过)"
        r"|(?:打|开|通)了?(?:个|一个)?(?:视频|语音)|腾讯会议|线上会议|远程会议|在线会议"
        r"|(?i:zoom)|回电|(?<![A-Za-z])(?i:called|phone\s+call)(?![A-Za-z])"
        r"|(?<![A-Za-z])(?i:calls?)(?![A-Za-z])"
    ),
    "message": (
        r"微信|短信|邮件|(?i:e-?mail(?:ed)?)|(?<![A-Za-z])(?i:send|sent)(?![A-Za-z])|(?<![A-Za-z])(?i:wechat(?:ed)?)(?![A-Za-z])|邮箱|钉钉|飞书|企微|留言|发了?消息|私信|(?<![A-Za-z])QQ(?![A-Za-z])"
        rf"|发了{_W}{{0,8}}?(?:资料|文件|图片|照片|链接|截图|介绍|图|方案|PPT|文档|视频|样册|彩页|说明书|手册|问候|祝福|通知|清单)"
    ),
}
# The characters each type's cues can start with: a cheap first check so the regex engine skips
# most positions (the tests assert every cue's first character is listed).
CUE_FIRST_CHARS: dict[str, str] = {
    "contract": "合签协订寄快邮发送递交已都盖用cCsSpP收拿接中dD",
    "payment": "款钱费定订到收已回结打付转汇pPrR",
    "quote": "报发给递提寄出已按重刚讲说谈附qQ",
    "presentation": "演dD讲方路宣pP产介过汇展架系平功解wW效设",
    "site_survey": "勘查踏测丈实量现看察摸拍屋楼房机配弱强设场安点管走车厂仓库冷门店外地工sSmM",
    "objection": "cC嫌太偏贵有比压砍杀异不投抱担顾疑质犹竞别同对其友隔接没货往降让再能要想希给可价单总费运交工到周供另必达pP",
    "visit": "拜走到登上巡吃饭喝见碰当面参陪来接去过跑培备转逛坐待呆带vVmMoOkK从验送亲签",
    "call": "电来致通打开视语腾线远在回zZcCpP",
    "message": "微短邮eEwWsS钉飞企留发私Q",
    "weak_visit": "聊谈沟交对回开碰",
}


def _compile(action: str, pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?=[{CUE_FIRST_CHARS[action]}])(?:{pattern})")


_CUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((t, _compile(t, p)) for t, p in _CUE_PATTERNS.items())
# Talking without a medium suggests meeting in person, but only when nothing clearer was said.
_WEAK_VISIT = _compile(
    "weak_visit", r"聊了|谈了|聊得|谈得|沟通了|交流了|对了(?![,.!?吧])|聊过|谈过|回访(?!电话)|开了(?:个|一个|场)?会|碰了一?下"
)
# 没拜访, 未到账, 不去了 - but not the 别 of 识别/区别 or the 无 of 无锡.
_NEGATED_BEFORE = re.compile(r"(?:没|未|不(?![错少])|(?<![识区特分级类告性个派])别|无(?![锡论]))[^,.;!?。]?$")
# 演示被院方临时取消了, 现场勘测取消了, demo没做成, 两江仁爱cancel了明天的demo
_CANCELLED_AFTER = re.compile(
    r"[^,.;!?。]{0,8}?(?:取消|没(?:做|演示|讲|谈|见|测|量)成|泡汤|黄了|(?i:cancel(?:led)?))")
_CANCELLED_BEFORE = re.compile(r"(?:取消了?|(?i:cancel(?:led)?)了?)[^,.;!?。]{0,8}$")
_SAID = re.compile(r"说|通知|告诉|讲|问|反映|表示")  # what was called off was said in the touch, not the touch
_ZERO_AFTER = re.compile(r"[^,.;!?。]{0,2}?(?:0|零)\s?(?:家|次|个|位)")

_STRONG_PLAN = re.compile(
    r"(?<![大合签节条预制])约(?![\d一二三四五六七八九十两百千万])|预约|准备|打算|争取|将会|将要|回头|改天|下次|下回"
    r"|待会|稍后|晚点|答应|承诺|保证|如果|要是|的话"
    # an invitation to get in touch later (有事电话联系我, 随时找我) is no touch; 有事打电话给我，问了… is one
    r"|(?:有事|随时|有问题|有需要)[^,.;!?。]{0,6}?(?:联系|找)(?:我|我们)"
    r"|等(?:他|她|对方|客户|结果|回复|通知|消息)"
    r"|原计划|原定|本来要|本打算|改到|改期|推迟|延期"
)
_DONE = re.compile(r"了(?!解)|已|刚|接到|完成|完了|完毕|好了|结清|搞定|✅|✔|(?<=[去聊见谈来做])过(?!去|来)")
_WEAK_PLAN_TOKENS = frozenset({"再", "要", "会", "能", "可以", "想", "需要", "将", "得"})
# 得 as a complement ("砍价砍得很凶", "聊得不错") describes what happened; only 得 = must plans.
_DE_COMPLEMENT = re.compile(r"\s?(?:很|挺|非常|太|特别|比较|蛮|相当|超|不错|不太|不好|不行|好|快|慢|多|少|一般|还行|够呛|凶|狠|厉害)")
_PLAN_HEADER = re.compile(r"^\s*(?:下周|明天|明日|今日|今天|本周|这周|周末|下午|晚上)?(?:工作)?(?:计划|安排)\s*:")

PLANNED, DONE = "planned", "done"
_STEP_AHEAD = re.compile(r"回|去|来|给|发|打|再|要|会|能|约")
# Arranging words: what they plan is the meeting, not the call or message that arranged it.
_ARRANGED = re.compile(r"约好|约了|改到|改成|改期|推迟|延期")


def arranged_through(text: str, clause: Clause) -> bool:
    """True when a clause is planned only by arranging words (约好了, 改到 …): a call or message in it
    is how the arrangement was made, so it happened."""
    plans = list(_STRONG_PLAN.finditer(text, clause.start, clause.end))
    return bool(plans) and all(_ARRANGED.match(text, m.start()) for m in plans)


@dataclass(frozen=True, slots=True)
class Cue:
    """An action-type cue word found in the text."""

    type: str
    start: int
    end: int
    weak: bool = False
    quick: bool = False  # an emoji quick tag: counts whatever the tense


def find_cues(text: str) -> list[Cue]:
    """Every action cue that is not negated (没拜访, 拜访0家)."""
    cues: list[Cue] = []
    for action, pattern in _CUES:
        for m in pattern.finditer(text):
            if _negated(text, m.start(), m.end()):
                continue
            cues.append(Cue(action, m.start(), m.end()))
    for m in _WEAK_VISIT.finditer(text):
        if not _negated(text, m.start(), m.end()):
            cues.append(Cue("visit", m.start(), m.end(), weak=True))
    for emoji, action in QUICK_TAGS.items():
        pos = text.find(emoji)
        if pos >= 0:
            cues.append(Cue(action, pos, pos + len(emoji), quick=True))
    return cues


def has_done_marker(text: str) -> bool:
    """True when the text says anything happened (了, 已, 刚 …)."""
    return _DONE.search(text) is not None


def _negated(text: str, start: int, end: int) -> bool:
    if _NEGATED_BEFORE.search(text, max(0, start - 2), start):
        return True
    after = _CANCELLED_AFTER.match(text, end)
    if after and not _SAID.search(after.group(0)):
        return True
    before = _CANCELLED_BEFORE.search(text, max(0, start - 12), start)
    if before and not _SAID.search(before.group(0)):
        return True  # a touch that was called off did not happen; how it was called off may have
    return _ZERO_AFTER.match(text, end) is not None


def _any_in(positions: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_left(positions, start)
    return i < len(positions) and positions[i] < end


def clause_tenses(
    text: str,
    clauses: Sequence[Clause],
    dates: Sequence[DateMention],
    tokens: Sequence[tuple[str, int, int]],
    weak_out: list[bool] | None = None,
    topic_out: list[int | None] | None = None,
) -> list[str]:
    """PLANNED or DONE for each clause (see module docstring).

    ``weak_out``, when given, receives per clause whether it is planned only by a weak word
    (要, 得, 再 …): the customer's "价格还得再压一压" is still a pushback that happened.
    ``topic_out`` receives per clause where a future date that is only the topic of a done act starts
    ("确认了下周三的演示": the 演示 after it is planned), else None.
    """
    if _PLAN_HEADER.match(text):
        if weak_out is not None:
            weak_out.extend([False] * len(clauses))
        if topic_out is not None:
            topic_out.extend([None] * len(clauses))
        return [PLANNED] * len(clauses)
    # One pass per marker kind over the whole text, then a bisect per clause.
    done_at = [m.start() for m in _DONE.finditer(text)]
    plan_at = [m.start() for m in _STRONG_PLAN.finditer(text)]
    weak_at = [
        t[1] for t in tokens if t[0] in _WEAK_PLAN_TOKENS and not (t[0] == "得" and _DE_COMPLEMENT.match(text, t[2]))
    ]
    tenses: list[str] = []
    previous = DONE
    di = 0
    for clause in clauses:
        has_done = _any_in(done_at, clause.start, clause.end)
        has_plan = _any_in(plan_at, clause.start, clause.end)
        has_weak = _any_in(weak_at, clause.start, clause.end)
        future_date = past_date = current = weak = False
        topic: int | None = None
        while di < len(dates) and dates[di].start < clause.start:
            di += 1
        dj = di
        while dj < len(dates) and dates[dj].start < clause.end:
            d = dates[dj]
            if d.past:
                past_date = True
            elif d.rolled and not (has_plan or has_weak):
                pass  # "12月3号下的单" on 12-30: a recent past day, not one next year
            elif d.future and has_done and not has_plan and _any_in(done_at, clause.start, d.start):
                # a date after what was done is its topic ("发了短信提醒周五开标"), not when it happens
                topic = d.start if topic is None else topic
            elif d.future and not ((d.rolled or d.same_day) and has_done):
                # "下午去瑞丰见了张总" sent at 10:00: a done verb beats a later part of today
                future_date = True
            elif d.current and _STEP_AHEAD.search(text, d.end, min(clause.end, d.end + 12)):
                current = True
            elif d.current:
                past_date = True
            dj += 1
        if future_date or has_plan:
            tense = PLANNED
        elif has_done or past_date:
            tense = DONE
        elif current:  # "她说今晚回复" at 19:30: the rest of this evening is still ahead
            tense = PLANNED
        elif has_weak:
            tense = PLANNED
            weak = True
        else:
            tense = previous
        tenses.append(tense)
        if weak_out is not None:
            weak_out.append(weak)
        if topic_out is not None:
            topic_out.append(topic if tense == DONE else None)
        previous = tense
    return tenses


def decide(cues: Iterable[Cue], done_at: Sequence[bool]) -> tuple[str, bool, int]:
    """(action_type, from_strong_cue, number of distinct done types) by contract precedence.

    ``done_at[i]`` says whether the cue at index i sits in a done clause.
    """
    strong: set[str] = set()
    weak: set[str] = set()
    for i, cue in enumerate(cues):
        if not done_at[i] and not cue.quick:
            continue
        (weak if cue.weak else strong).add(cue.type)
    for action in PRECEDENCE:
        if action in strong:
            return action, True, len(strong)
    if "visit" in weak:
        return "visit", False, 1
    return "other", False, 0
