"""The confirmation card a rep gets after each message: the parsed record and one-tap fixes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from cards.model import Button, Card, Color, Fact, Input, Style

TYPE_LABELS: dict[str, str] = {
    "visit": "拜访",
    "call": "电话",
    "message": "消息",
    "site_survey": "现场勘测",
    "presentation": "方案演示",
    "quote": "报价",
    "objection": "异议处理",
    "contract": "合同",
    "payment": "回款",
    "other": "其他",
}
WEEKDAYS = "一二三四五六日"


def fmt_date(d: date | None) -> str:
    return f"{d.isoformat()}（周{WEEKDAYS[d.weekday()]}）" if d else "未定"


def fmt_money(v: int | None) -> str:
    if v is None:
        return ""
    return f"{v / 10000:g}万元" if v >= 10000 else f"{v}元"


# The amounts and dates a rep can correct from the card (next touch has its own button): field → (label, kind).
EDITABLE: dict[str, tuple[str, str]] = {
    "budget": ("客户预算", "money"),
    "quote_amount": ("报价", "money"),
    "payment_amount": ("回款", "money"),
    "contract_amount": ("合同金额", "money"),
    "expected_date": ("客户期望", "date"),
    "promised_date": ("我方承诺", "date"),
}
VALUE_MODES = ("date", *(f"field:{f}" for f in EDITABLE))  # modes in which a reply message is taken as the value


def _short(value: int | date | None) -> str:
    """A field's value short enough for a WeCom button or dropdown option (10–16 characters)."""
    if value is None:
        return "未填"
    if isinstance(value, date):
        return f"{value.month}月{value.day}日"
    return fmt_money(value)


@dataclass
class ConfirmationView:
    """Everything the card shows; built by the capture handler from the record and its customer."""

    record_id: int
    text: str
    action_type: str
    customer_name: str | None
    next_touch: date | None
    status: str = "draft"  # draft | confirmed
    # summary | ask (low confidence: every picker at once) | type | customer | date | fields | field:<name>
    mode: str = "summary"
    contact: str | None = None
    budget: int | None = None
    quote_amount: int | None = None
    payment_amount: int | None = None
    contract_amount: int | None = None
    expected_date: date | None = None
    promised_date: date | None = None
    needs: list[str] = field(default_factory=list)
    candidates: list[tuple[str, str]] = field(default_factory=list)  # (customer id, name)
    autofill: list[Fact] = field(default_factory=list)  # customer history: needs, quote range, open checks
    low_confidence: bool = False
    problem: str = ""  # why the last press was refused, shown in the card
    today: date | None = None  # for quick-date buttons (platforms without a date picker use only these)


def _pick(selected: bool) -> Style:
    return "primary" if selected else "default"


def quick_dates(today: date | None) -> list[tuple[str, date]]:
    """明天（周三）/ 后天（周四）/ 下周一: one tap instead of a date picker. Each says its weekday, and a
    day that falls on a weekend gives way to the next workday (a rep does not plan customer touches then)."""
    if today is None:
        return []
    out: list[tuple[str, date]] = []
    for word, days in (("明天", 1), ("后天", 2)):
        day = today + timedelta(days=days)
        if day.weekday() < 5:
            out.append((f"{word}（周{WEEKDAYS[day.weekday()]}）", day))
    next_monday = today + timedelta(days=7 - today.weekday())
    if all(d != next_monday for _, d in out):
        out.append(("下周一", next_monday))
    day = max(d for _, d in out)
    while len(out) < 3:  # a weekend took a slot: offer the next workdays of next week instead
        day += timedelta(days=1)
        if day.weekday() < 5:
            out.append((f"下周{WEEKDAYS[day.weekday()]}", day))
    return out


def build_confirmation(v: ConfirmationView) -> Card:
    facts = [
        Fact("客户", v.customer_name or "未识别"),
        Fact("动作", TYPE_LABELS.get(v.action_type, v.action_type)),
        Fact("下次跟进", fmt_date(v.next_touch)),
    ]
    if v.contact:
        facts.append(Fact("联系人", v.contact))
    if v.budget is not None:
        facts.append(Fact("客户预算", fmt_money(v.budget)))
    if v.quote_amount is not None:
        facts.append(Fact("报价", fmt_money(v.quote_amount)))
    if v.payment_amount:
        facts.append(Fact("回款", fmt_money(v.payment_amount)))
    if v.contract_amount:
        facts.append(Fact("合同金额", fmt_money(v.contract_amount)))
    if v.expected_date:
        facts.append(Fact("客户期望", fmt_date(v.expected_date)))
    if v.promised_date:
        facts.append(Fact("我方承诺", fmt_date(v.promised_date)))
    if v.needs:
        facts.append(Fact("需求", "、".join(v.needs)))
    facts.extend(v.autofill)
    lines = [f"原话：{v.text[:200]}"]

    if v.status == "confirmed":
        # another role must answer (售前/实施/法务/财务): the tasks capability proposes who
        return Card(kind="confirmation", title="✅ 已记录", color="green", facts=facts, lines=lines,
                    buttons=[Button("collab", "需要协同")], note=f"记录 #{v.record_id} 已确认")

    buttons: list[Button]
    inputs: list[Input] = []
    subtitle = "请确认，或一键修改"
    if v.mode == "ask":
        subtitle = "没有完全看懂，请点选正确的内容后确认"
        buttons = [Button(f"customer:{cid}", name, _pick(name == v.customer_name), "customer")
                   for cid, name in v.candidates]
        buttons += [Button(f"type:{t}", label, _pick(t == v.action_type), "type") for t, label in TYPE_LABELS.items()]
        buttons += [Button(f"next_touch:{d.isoformat()}", label, _pick(d == v.next_touch), "date")
                    for label, d in quick_dates(v.today)]
        inputs = [Input("next_touch", "date", "其他日期", "next_touch", v.next_touch.isoformat() if v.next_touch else "")]
        # all ten types one tap away, also where a platform's card cannot show every picker at once (WeCom)
        buttons.append(Button("edit:type", "改类型"))
        buttons.append(Button("edit:fields", "改金额/日期"))
        buttons.append(Button("confirm", "确认", "primary"))
    elif v.mode == "type":
        subtitle = "选择动作类型"
        buttons = [Button(f"type:{t}", label) for t, label in TYPE_LABELS.items()]
        buttons.append(Button("back", "返回"))
    elif v.mode == "customer":
        subtitle = "选择客户" if v.candidates else "没有候选客户，请在消息里写客户全称"
        buttons = [Button(f"customer:{cid}", name) for cid, name in v.candidates]
        buttons.append(Button("back", "返回"))
    elif v.mode == "date":
        subtitle = "选择下次跟进日期"
        inputs = [Input("next_touch", "date", "下次跟进", "next_touch",
                        v.next_touch.isoformat() if v.next_touch else "")]
        buttons = [Button(f"next_touch:{d.isoformat()}", label) for label, d in quick_dates(v.today)]
        buttons += [Button("next_touch:none", "不设日期"), Button("back", "返回")]
        subtitle += "（也可以直接回复日期，如 1月20号、下周三）"
    elif v.mode == "fields":
        subtitle = "选择要修改的金额或日期"
        buttons = [Button(f"field:{name}", f"{label} {_short(getattr(v, name))}")
                   for name, (label, _) in EDITABLE.items()]
        buttons.append(Button("back", "返回"))
    elif v.mode.startswith("field:") and v.mode[6:] in EDITABLE:
        name = v.mode[6:]
        label, kind = EDITABLE[name]
        current = getattr(v, name)
        if kind == "date":
            subtitle = f"修改{label}日期：点选，或直接回复日期（如 1月20号、下周三）"
            buttons = [Button(f"set:{name}:{d.isoformat()}", text) for text, d in quick_dates(v.today)]
            inputs = [Input(name, "date", label, f"set:{name}", current.isoformat() if current else "")]
        else:
            subtitle = f"修改{label}：直接回复金额（如 35万、80w、120000）"
            inputs = [Input(name, "text", f"{label}金额", f"set:{name}", str(current) if current is not None else "")]
            buttons = []
        buttons += [Button(f"set:{name}:none", "清除"), Button("back", "返回")]
    else:
        buttons = [
            Button("confirm", "确认", "primary"),
            Button("edit:type", "改类型"),
            Button("edit:customer", "改客户"),
            Button("edit:date", "改下次跟进"),
            Button("edit:fields", "改金额/日期"),
        ]
        if v.low_confidence:
            subtitle = "没有完全看懂，请核对后确认"
    note = v.problem
    color: Color = "yellow" if (v.low_confidence or v.problem) else "blue"
    return Card(kind="confirmation", title="📝 动作记录待确认", color=color, subtitle=subtitle,
                facts=facts, lines=lines, buttons=buttons, inputs=inputs, note=note)
