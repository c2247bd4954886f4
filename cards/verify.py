"""The verify card (待核实): a supervisor checks a flagged record by phone, then confirms or rejects it."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card, Fact, Input

KIND = "verify"


@dataclass
class VerifyView:
    rep: str
    customer: str
    record_id: int
    text: str
    reasons: list[str]
    due: str  # local "HH:MM" (or "MM-DD HH:MM" when not today)
    status: str = "open"  # open | confirmed | rejected
    by: str = ""
    note: str = ""
    escalated_from: str = ""  # on the copy sent one level up when the supervisor missed the deadline
    overdue: bool = False
    asking_reason: bool = False
    evidence: list[str] = field(default_factory=list)
    problem: str = ""


def build_verify(v: VerifyView) -> Card:
    facts = [Fact("销售", v.rep), Fact("客户", v.customer), Fact("记录", f"#{v.record_id} {v.text}")]
    facts += [Fact("凭证", "；".join(v.evidence))] if v.evidence else []
    lines = [f"⚠️ {r}" for r in v.reasons]
    if v.status != "open":
        ok = v.status == "confirmed"
        facts += [Fact("核实人", v.by)] + ([Fact("驳回原因", v.note)] if v.note else [])
        return Card(kind=KIND, title=f"{'✅ 已核实' if ok else '⛔ 已驳回'}：{v.rep}的记录 #{v.record_id}",
                    color="green" if ok else "grey", facts=facts, lines=lines, note="已归档，可在客户进展中查看")
    facts.append(Fact("核实期限", v.due + ("（已逾期）" if v.overdue else "")))
    if v.escalated_from:
        facts.append(Fact("上报自", f"{v.escalated_from}（未按时核实）"))
    note = "请电话复核后选择；驳回需要写明原因" + ("\n👉 请直接回复一句驳回原因（10分钟内）" if v.asking_reason else "")
    return Card(kind=KIND, title=f"🔍 待核实：{v.rep}的记录 #{v.record_id}", color="red" if v.overdue else "yellow",
                subtitle=f"{len(v.reasons)}项可信度校验未通过", facts=facts, lines=lines,
                buttons=[Button("vok", "核实无误", "primary"), Button("vrej_ask", "驳回（回复原因）", "danger")],
                inputs=[Input("reason", "text", "驳回原因（必填）", "vrej")], note=v.problem or note)
