"""Lead cards: the rep's card (接受 / 退回 with a reason) and the supervisor's card (改派 to another rep)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card, Color, Fact, Input

REP_KIND = "lead"
SUPERVISOR_KIND = "lead_dispatch"
RETURN_REASONS = {"area": "不在我的区域", "busy": "手上线索太多", "known": "已是别人的客户"}


def return_label(code: str, note: str | None = None) -> str:
    return note if code == "other" and note else RETURN_REASONS.get(code, "其他")


@dataclass
class LeadView:
    company: str
    source: str
    contact: str = ""
    phone: str = ""
    region: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""
    matched_stage: str = ""  # an existing customer's stage; empty for a new customer
    owner_name: str = ""
    assigned_at: str = ""  # local "MM-DD HH:MM"
    deadline: str = ""  # local "HH:MM": first contact due
    why: str = ""  # why the rules chose this rep
    status: str = "assigned"  # assigned | accepted | returned | moved | unassigned
    moved_to: str = ""  # the rep it went to after a hand-back or re-assignment
    returned: list[str] = field(default_factory=list)  # "张伟：不在我的区域"
    choices: list[tuple[int, str]] = field(default_factory=list)  # (person id, name) the supervisor may pick
    problem: str = ""


def _facts(v: LeadView) -> list[Fact]:
    facts = [Fact("客户", v.company + (f"（已有客户·{v.matched_stage}）" if v.matched_stage else "（新客户）"))]
    facts += [Fact(label, value) for label, value in (("联系人", v.contact), ("电话", v.phone), ("地区", v.region),
                                                      ("标签", "、".join(v.tags)), ("来源", v.source),
                                                      ("备注", v.note)) if value]
    return facts


def build_lead_card(v: LeadView) -> Card:
    """What the assigned rep sees: accept, or hand it back with a reason (a typed note for 其他)."""
    facts = _facts(v) + [Fact("分配时间", v.assigned_at)] + ([Fact("首次联系", f"{v.deadline}前")] if v.deadline else [])
    if v.status == "accepted":
        return Card(kind=REP_KIND, title=f"✅ 已接受线索：{v.company}", color="green", facts=facts,
                    note=f"请在{v.deadline}前首次联系客户，联系后发一条跟进记录即可" if v.deadline else "")
    if v.status in ("returned", "moved"):
        what = "已退回" if v.status == "returned" else "已改派"
        to = f"，现由{v.moved_to}跟进" if v.moved_to else ""
        return Card(kind=REP_KIND, title=f"↩ 线索{what}：{v.company}{to}", color="grey", facts=facts,
                    note="这张卡片不再需要操作")
    buttons = [Button("accept", "接受", "primary")]
    buttons += [Button(f"return:{code}", f"退回：{label}", "default", "return") for code, label in RETURN_REASONS.items()]
    inputs = [Input("note", "text", "其他退回原因（请简述）", "return:other")]
    return Card(kind=REP_KIND, title=f"🆕 新线索：{v.company}", color="blue", subtitle=v.why, facts=facts,
                buttons=buttons, inputs=inputs,
                note=v.problem or (f"请在{v.deadline}前首次联系；超时将提醒主管" if v.deadline else ""))


def build_dispatch_card(v: LeadView) -> Card:
    """What the supervisor sees: who has the lead and why, and a button per rep to re-assign it."""
    facts = _facts(v)
    if v.owner_name:
        state = {"accepted": "已接受", "assigned": "待接受"}.get(v.status, "")
        facts.append(Fact("负责人", f"{v.owner_name}（{state}）" if state else v.owner_name))
        facts.append(Fact("分配时间", v.assigned_at))
    lines = [f"退回：{r}" for r in v.returned]
    if v.why:
        lines.insert(0, f"分配依据：{v.why}")
    buttons = [Button(f"reassign:{pid}", f"改派给{name}", "default", "reassign") for pid, name in v.choices]
    color: Color
    if v.owner_name:
        title, color = f"📌 线索已分配：{v.company} → {v.owner_name}", "blue"
    else:
        title, color = f"⚠️ 线索待分配：{v.company}", "yellow"
    note = v.problem or ("可改派给其他销售；改派后首次联系时限重新计算" if buttons else "")
    return Card(kind=SUPERVISOR_KIND, title=title, color=color, facts=facts, lines=lines, buttons=buttons,
                note=note)
