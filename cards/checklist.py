"""Stage-gate cards: the customer's checklist for its stage, and a supervisor's override request."""

from __future__ import annotations

from dataclasses import dataclass, field

from cards.model import Button, Card, Color, Fact, Input

KIND = "checklist"
GATE_KIND = "gate"
EVIDENCE_LABELS = {"photo": "照片", "voice": "语音", "file": "附件"}
EVIDENCE_ICONS = {"photo": "📷", "voice": "🎤", "file": "📎"}
TITLE_MAX = 12  # a button label: the check's title, clipped


@dataclass
class CheckLine:
    id: int
    title: str
    required: bool
    evidence: str | None  # photo | voice | file | None
    done: bool
    done_note: str = ""  # "12-03 张伟 · 照片" once done


@dataclass
class ChecklistView:
    customer: str
    stage: str
    order: list[str]
    template_label: str = ""  # empty: not chosen yet
    templates: list[tuple[str, str]] = field(default_factory=list)  # (key, label) to choose from
    checks: list[CheckLine] = field(default_factory=list)
    awaiting: int | None = None  # the check whose evidence the bot waits for
    refused: bool = False  # 进入下一阶段 was refused: show what is missing and how to get past
    can_override: bool = False  # the viewer is above the owner: may pass the gate with a reason
    override_asked: bool = False  # the rep asked their supervisor already
    moved_to: str = ""  # the customer left this stage (the card is history)
    problem: str = ""


def _clip(s: str) -> str:
    return s if len(s) <= TITLE_MAX else s[: TITLE_MAX - 1] + "…"


def _path(order: list[str], stage: str) -> str:
    return " → ".join(f"【{s}】" if s == stage else s for s in order)


def missing(checks: list[CheckLine]) -> list[CheckLine]:
    return [c for c in checks if c.required and not c.done]


def _line(n: int, c: CheckLine) -> str:
    need = f"〔需{EVIDENCE_LABELS[c.evidence]}〕" if c.evidence else ""
    tail = f"（{c.done_note}）" if c.done and c.done_note else ("（选填）" if not c.required else "")
    return f"{'✅' if c.done else '⬜'} {n}. {c.title}{need if not c.done else ''}{tail}"


def next_stage(order: list[str], stage: str) -> str | None:
    i = order.index(stage) if stage in order else -1
    return order[i + 1] if 0 <= i < len(order) - 1 else None


def build_checklist(v: ChecklistView) -> Card:
    facts = [Fact("客户", v.customer), Fact("阶段", _path(v.order, v.stage))]
    if v.template_label:
        facts.append(Fact("模板", v.template_label))
    title = f"📋 {v.customer} · {v.stage}检查清单"
    if v.moved_to:
        return Card(kind=KIND, title=title, color="grey", facts=facts,
                    lines=[_line(n, c) for n, c in enumerate(v.checks, 1)], note=f"客户已进入「{v.moved_to}」，这张清单不再操作")
    if not v.template_label:
        return Card(kind=KIND, title=title, color="blue", facts=facts,
                    buttons=[Button(f"tpl:{key}", label, "default", "template") for key, label in v.templates],
                    subtitle="请先为客户选择行业模板（每个客户只选一次），检查项随模板而定", note=v.problem)
    lines = [_line(n, c) for n, c in enumerate(v.checks, 1)]
    buttons = []
    for c in v.checks:
        if c.done:
            continue
        if c.evidence:
            label = f"{EVIDENCE_ICONS[c.evidence]} 发{EVIDENCE_LABELS[c.evidence]}：{_clip(c.title)}"
            buttons.append(Button(f"ask:{c.id}", label, "primary" if v.awaiting == c.id else "default", "check"))
        else:
            buttons.append(Button(f"tick:{c.id}", f"✔ {_clip(c.title)}", "default", "check"))
    upcoming = next_stage(v.order, v.stage)
    inputs: list[Input] = []
    open_required = missing(v.checks)
    note = v.problem
    if upcoming:
        buttons.append(Button("next", f"进入下一阶段：{upcoming}", "primary"))
        if v.refused and open_required:
            names = "；".join(c.title for c in open_required)
            note = (note + "\n" if note else "") + f"⛔ 还不能进入「{upcoming}」，未完成的必填检查：{names}"
            if v.can_override:
                buttons.append(Button("override_ask", "主管放行（回复原因）", "danger"))
                inputs.append(Input("reason", "text", "放行原因（必填）", "override"))
            elif not v.override_asked:
                buttons.append(Button("ask_override", "申请主管放行", "default"))
            else:
                note += "\n已申请主管放行，等待主管处理"
    if v.awaiting is not None:
        waiting = next((c for c in v.checks if c.id == v.awaiting), None)
        if waiting is not None and waiting.evidence:
            note = (note + "\n" if note else "") + (
                f"👉 请直接在聊天里发{EVIDENCE_LABELS[waiting.evidence]}，将记为「{waiting.title}」的凭证（10分钟内）")
    done = sum(c.done for c in v.checks)
    color: Color = "green" if not open_required else ("red" if v.refused else "blue")
    return Card(kind=KIND, title=title, color=color, subtitle=f"已完成 {done}/{len(v.checks)}", facts=facts,
                lines=lines, buttons=buttons, inputs=inputs, note=note)


@dataclass
class GateView:
    rep: str
    customer: str
    stage: str
    upcoming: str
    missing: list[str]
    state: str = "open"  # open | passed | denied | moot
    reason: str = ""
    by: str = ""
    asking_reason: bool = False
    problem: str = ""


def build_gate(v: GateView) -> Card:
    """To the rep's supervisor: let the customer pass the gate with a reason (recorded), or not."""
    facts = [Fact("销售", v.rep), Fact("客户", v.customer), Fact("阶段", f"{v.stage} → {v.upcoming}")]
    lines = [f"⬜ {m}" for m in v.missing]
    if v.state != "open":
        outcomes: dict[str, tuple[str, Color]] = {
            "passed": (f"✅ 已放行：{v.customer}进入「{v.upcoming}」", "green"),
            "denied": (f"⛔ 未放行：{v.customer}留在「{v.stage}」", "grey"),
            "moot": (f"{v.customer}已不在「{v.stage}」", "grey")}
        done = outcomes[v.state]
        extra = [Fact("放行原因", v.reason)] if v.reason else []
        return Card(kind=GATE_KIND, title=done[0], color=done[1], facts=facts + extra + ([Fact("处理人", v.by)] if v.by else []),
                    lines=lines)
    note = "放行需要写明原因，原因会记录在案" + ("\n👉 请直接回复一句放行原因（10分钟内）" if v.asking_reason else "")
    return Card(kind=GATE_KIND, title=f"🚧 {v.rep}申请放行：{v.customer}", color="yellow",
                subtitle=f"「{v.stage}」还有{len(v.missing)}项必填检查未完成", facts=facts, lines=lines,
                buttons=[Button("override_ask", "放行（回复原因）", "danger"), Button("deny", "不放行", "default")],
                inputs=[Input("reason", "text", "放行原因（必填）", "override")], note=v.problem or note)
