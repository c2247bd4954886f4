"""The contract approval chain (合同审批): a rep asks in chat, each configured step's approver decides in turn.

| card kind        | who presses                      | actions                                              |
|------------------|----------------------------------|------------------------------------------------------|
| contract         | the requester                    | ask to upload the contract file (the next file sent) |
| contract_step    | that step's approver, while it waits | approve, or reject with a reason (input or reply) |
| contract_overdue | nobody (a warning)               | —                                                    |

| job               | when                                      | does                                                   |
|-------------------|-------------------------------------------|--------------------------------------------------------|
| contract_overdue  | workdays, every ``scan_every_min`` 08:00–22:00 | a step past its wait limit → warning to its approver and the requester's supervisor, once |

Approvers are fixed when the request is made (the config may change while it runs) and stored on the
steps; a press is checked against those rows, never against the button. A request waits in ``draft`` until
its contract file arrives, so no approver is asked to judge a contract they cannot see.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.confirmation import fmt_money
from cards.contract import (
    KIND,
    STEP_KIND,
    ApprovalView,
    ContractView,
    StepLine,
    build_approval,
    build_overdue,
    build_request,
    step_line,
)
from cards.model import Card
from handlers.context import Context, NoRoute
from handlers.domain import ContractApproved
from handlers.event import Event
from handlers.people import STALE, refusal, supervisor_chain
from handlers.replies import await_reply, clear
from handlers.rhythm import direct_supervisor, in_chain
from handlers.router import Capability
from handlers.stages import scan_times
from handlers.timeline import find_customer
from handlers.understanding.money import find_money
from scheduler.registry import Timetable, unit_job
from storage import outbox
from storage.models import (
    ApprovalStep,
    ApprovalStepStatus,
    ContractRequest,
    ContractStatus,
    Customer,
    Person,
    Role,
)
from storage.models import Card as CardRow

REASON_MAX = 100
MAX_AMOUNT = 100_000_000_000  # 1000亿: anything above is a typo
FILE_KINDS = ("file", "image")  # a scanned page is a contract file too
OPEN = (ContractStatus.draft, ContractStatus.pending)
START_PATTERN = r"发起(?:合同)?审批(?P<rest>.*)"
MINE_PATTERN = r"(?:我的|查看|查询)?合同审批(?:进度|状态)?|我的审批"
USAGE = "请这样发起：发起合同审批 恒远化工 金额50万（发送后再发合同文件）"
# words around the customer's name and the amount that are neither
_LABELS = re.compile(r"合同总?金?额|合同|总金额|总价|金额|总额|共计|客户|[:：,，。;；]")


@dataclass(frozen=True)
class StepRule:
    name: str
    approvers: tuple[str, ...]  # a person's name, or role:<role>; the first found approves
    wait_hours: float


@dataclass(frozen=True)
class ContractRules:
    steps: tuple[StepRule, ...] = (StepRule("法务初审", ("role:supervisor",), 24),
                                   StepRule("财务信用评估", ("role:manager",), 24),
                                   StepRule("用印", ("role:manager",), 8))
    scan_every_min: int = 15


# ---- reading the request -----------------------------------------------------------------------
def parse_request(rest: str) -> tuple[str, int | None, str]:
    """(customer words, amount in yuan, problem) from what follows 发起合同审批 (amounts of 0 are not money)."""
    money = find_money(rest)
    amounts = {m.amount for m in money}
    name = rest
    for m in reversed(money):
        name = name[:m.start] + " " + name[m.end:]
    words = _LABELS.sub(" ", name).split()
    if not amounts:
        return "", None, "请写明合同金额（带单位，如50万、80000元）。" + USAGE
    if len(amounts) > 1:
        return "", None, "一次只能写一个合同金额。" + USAGE
    amount = amounts.pop()
    if amount > MAX_AMOUNT:
        return "", None, f"合同金额{fmt_money(amount)}不合理，请检查后重发。"
    if not words:
        return "", None, "请写明客户名称。" + USAGE
    if len(words) > 1:
        return "", None, f"看不懂「{'、'.join(words)}」中哪个是客户，请只写一个客户名称。" + USAGE
    return words[0], amount, ""


async def resolve_approver(ctx: Context, spec: str, requester: Person) -> Person | None:
    """A person's name, or ``role:<role>``: the nearest of that role above the requester, else the first one;
    only someone active and reachable on an enabled platform (a card nobody can receive would stall the chain)."""
    if spec.startswith("role:"):
        role = Role(spec[5:])
        above = [p for p in await supervisor_chain(ctx.session, _pid(requester)) if p.role == role]
        q = select(Person).where(col(Person.role) == role)
    else:
        above, q = [], select(Person).where(col(Person.name) == spec)
    rest = (await ctx.session.execute(q.where(col(Person.active).is_(True)).order_by(col(Person.id)))).scalars()
    candidates = [p for p in [*above, *rest] if p.active and p.id != requester.id]
    reachable = await ctx.routes(sorted({_pid(p) for p in candidates})) if candidates else {}
    return next((p for p in candidates if p.id in reachable), None)


async def approvers_for(ctx: Context, rules: ContractRules, requester: Person) -> list[Person] | str:
    """Each step's approver, or why the chain cannot be formed (a step with nobody to approve it)."""
    out: list[Person] = []
    for step in rules.steps:
        found = None
        for spec in step.approvers:
            found = await resolve_approver(ctx, spec, requester)
            if found is not None:
                break
        if found is None:
            return f"审批链的「{step.name}」找不到审批人（配置 contracts.steps），请联系管理员。未发起审批。"
        out.append(found)
    return out


# ---- starting a request ------------------------------------------------------------------------
async def start(ctx: Context, rules: ContractRules, person: Person, rest: str) -> None:
    """Refuse bad input with the reason and change nothing; else a draft request and its card asking for the file."""
    pid = _pid(person)
    words, amount, problem = parse_request(rest.strip())
    customer = await find_customer(ctx, words) if words and not problem else None
    if not problem and customer is None:
        problem = f"没有找到客户「{words}」，请用客户全称或简称。未发起审批。"
    if problem or customer is None or amount is None:
        await ctx.send_text(f"⛔ {problem}", person_id=pid)
        return
    if customer.owner_id != pid and not (customer.owner_id is not None and await in_chain(ctx.session, person, customer.owner_id)):
        await ctx.send_text(f"⛔ {customer.name}不是你或你团队负责的客户，不能为它发起合同审批。", person_id=pid)
        return
    same = (await ctx.session.execute(select(ContractRequest).where(
        col(ContractRequest.customer_id) == customer.id, col(ContractRequest.rep_id) == pid,
        col(ContractRequest.status).in_(OPEN)))).scalars().first()
    if same is not None:
        await ctx.send_text(f"⛔ {customer.name}已有一份进行中的合同审批（#{same.id}），请等它结束后再发起。"
                            "发「我的合同审批」查看进度。", person_id=pid)
        return
    chain = await approvers_for(ctx, rules, person)
    if isinstance(chain, str):
        await ctx.send_text(f"⛔ {chain}", person_id=pid)
        return
    req = ContractRequest(customer_id=customer.id, rep_id=pid, amount=amount, created_at=ctx.now())
    ctx.session.add(req)
    await ctx.session.flush()
    for idx, (rule, approver) in enumerate(zip(rules.steps, chain, strict=True)):
        ctx.session.add(ApprovalStep(request_id=_rid(req), idx=idx, name=rule.name, approver_id=_pid(approver),
                                     wait_hours=rule.wait_hours))
    await ctx.session.flush()
    req.card_id = await ctx.send_card(await request_card(ctx, req, asking_file=True), person_id=pid,
                                      subject={"request_id": req.id})
    ctx.session.add(req)
    row = await ctx.session.get(CardRow, req.card_id)
    assert row is not None
    await await_reply(ctx, row, person, "cattach", FILE_KINDS)


# ---- views -------------------------------------------------------------------------------------
async def steps_of(ctx: Context, request_id: int) -> list[ApprovalStep]:
    q = select(ApprovalStep).where(col(ApprovalStep.request_id) == request_id).order_by(col(ApprovalStep.idx))
    return list((await ctx.session.execute(q)).scalars())


async def view_of(ctx: Context, req: ContractRequest, *, asking_file: bool = False, problem: str = "") -> ContractView:
    steps = await steps_of(ctx, _rid(req))
    names = {p.id: p.name for p in (await ctx.session.execute(select(Person).where(
        col(Person.id).in_({s.approver_id for s in steps} | {req.rep_id})))).scalars()}
    customer = await ctx.session.get(Customer, req.customer_id)
    now = ctx.now()
    lines = []
    for s in steps:
        end = s.decided_at or (now if s.status == ApprovalStepStatus.waiting else None)
        lines.append(StepLine(name=s.name, approver=names.get(s.approver_id, "?"), status=s.status.value,
                              limit_hours=s.wait_hours, waited=end - s.started_at if end and s.started_at else None,
                              overdue=s.status == ApprovalStepStatus.waiting and s.due_at is not None and now >= s.due_at,
                              note=s.note or "", since=_local(ctx, s.started_at)))
    first = steps[0].started_at if steps else None
    total = req.closed_at - first if req.closed_at and first else None
    return ContractView(request_id=_rid(req), customer=customer.name if customer else req.customer_id, amount=req.amount,
                        requester=names.get(req.rep_id, "?"), status=req.status.value, steps=lines,
                        attachment=str(req.attachment.get("name") or ("照片" if req.attachment else "")),
                        created=req.created_at.astimezone(ctx.settings.tz).strftime("%m-%d %H:%M"),
                        reason=req.reason or "", total=total, asking_file=asking_file, problem=problem)


async def request_card(ctx: Context, req: ContractRequest, **kw: Any) -> Card:
    return build_request(await view_of(ctx, req, **kw))


async def approval_card(ctx: Context, req: ContractRequest, step: ApprovalStep, *, asking: bool = False,
                        problem: str = "") -> Card:
    by = await ctx.session.get(Person, step.approver_id)
    return build_approval(ApprovalView(await view_of(ctx, req), step.idx, step.status.value, by.name if by else "",
                                       asking_reason=asking, problem=problem))


async def refresh(ctx: Context, req: ContractRequest, *, skip: str | None = None) -> None:
    """The requester's card and every approver card of this request show the chain as it is now."""
    if req.card_id and req.card_id != skip and (row := await ctx.session.get(CardRow, req.card_id)) is not None:
        await ctx.update_card(row, await request_card(ctx, req))
    for s in await steps_of(ctx, _rid(req)):
        if s.card_id and s.card_id != skip and (row := await ctx.session.get(CardRow, s.card_id)) is not None:
            await ctx.update_card(row, await approval_card(ctx, req, s))


# ---- the chain ---------------------------------------------------------------------------------
async def start_step(ctx: Context, req: ContractRequest, step: ApprovalStep) -> None:
    """The step waits from now; its approver gets the contract file, then the card."""
    step.status, step.started_at = ApprovalStepStatus.waiting, ctx.now()
    step.due_at = ctx.now() + timedelta(hours=step.wait_hours)
    ctx.session.add(step)
    await ctx.session.flush()
    await send_file(ctx, req, step)
    step.card_id = await ctx.send_card(await approval_card(ctx, req, step), person_id=step.approver_id,
                                       subject={"request_id": req.id, "step_id": step.id})
    ctx.session.add(step)


async def send_file(ctx: Context, req: ContractRequest, step: ApprovalStep) -> None:
    a = req.attachment
    path = str(a.get("clean_path") or a.get("path") or "")
    if not path:
        return
    try:
        platform, recipient = await ctx.route(step.approver_id)
    except NoRoute:
        return
    name = str(a.get("name") or f"合同{req.id}")
    body = (outbox.image_body(path, name) if a.get("kind") == "image"
            else outbox.FileBody(file=outbox.MediaFile(path=path, name=name)).model_dump())
    await outbox.enqueue(ctx.session, key=f"contract:{req.id}:file:{step.idx}", platform=platform, recipient=recipient,
                         body=body, now=ctx.now(), person_id=step.approver_id)


async def attach(ctx: Context, req: ContractRequest, presser: Person, raw: str) -> str:
    """The contract file arrived: the first step starts. Returns a problem, or empty."""
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if not isinstance(entry, dict) or entry.get("kind") not in FILE_KINDS:
        return "请发送合同文件（PDF、Word 或照片）"
    req.attachment = {k: entry[k] for k in ("kind", "name", "path", "clean_path", "sha256", "bytes", "mime", "at",
                                            "event_id") if k in entry}
    req.status = ContractStatus.pending
    ctx.session.add(req)
    steps = await steps_of(ctx, _rid(req))
    await start_step(ctx, req, steps[0])
    approver = await ctx.person(steps[0].approver_id)
    await ctx.send_text(f"✅ 合同文件已收到，已提交「{steps[0].name}」（{approver.name}）。每一步的等待时间会显示在审批卡片上。",
                        person_id=_pid(presser))
    return ""


async def decide(ctx: Context, req: ContractRequest, step: ApprovalStep, by: Person, *, ok: bool,
                 note: str | None = None) -> None:
    now = ctx.now()
    step.status = ApprovalStepStatus.approved if ok else ApprovalStepStatus.rejected
    step.decided_at, step.note = now, note
    ctx.session.add(step)
    steps = await steps_of(ctx, _rid(req))
    following = [s for s in steps if s.idx > step.idx]
    fresh: str | None = None  # the next approver's card, just drawn
    if not ok:
        req.status, req.closed_at, req.reason = ContractStatus.rejected, now, note
        await ctx.send_text(f"⛔ 合同审批 #{req.id} 在「{step.name}」被{by.name}驳回：{note}。修改后可重新发起。",
                            person_id=req.rep_id)
    elif following:
        await start_step(ctx, req, following[0])
        fresh = following[0].card_id
    else:
        req.status, req.closed_at = ContractStatus.approved, now
        await ctx.send_text(f"✅ 合同审批 #{req.id} 已全部通过（{'→'.join(s.name for s in steps)}），可以签约了。",
                            person_id=req.rep_id)
    ctx.session.add(req)
    await ctx.session.flush()
    await refresh(ctx, req, skip=fresh)
    if req.status == ContractStatus.approved:
        await ctx.publish(ContractApproved(at=now, request_id=_rid(req), customer_id=req.customer_id,
                                           rep_id=req.rep_id, amount=req.amount))


async def withdraw(ctx: Context, req: ContractRequest, by: Person) -> None:
    """The requester takes an open request back: it ends, the waiting approver is told and their card retires."""
    req.status, req.closed_at, req.reason = ContractStatus.withdrawn, ctx.now(), "申请人撤回"
    ctx.session.add(req)
    if req.card_id and by.awaiting_card_id == req.card_id:  # a file sent next is evidence again, not this contract
        clear(await ctx.session.get(CardRow, req.card_id), by)
        ctx.session.add(by)
    await ctx.session.flush()
    await refresh(ctx, req)
    current = next((s for s in await steps_of(ctx, _rid(req)) if s.status == ApprovalStepStatus.waiting), None)
    if current is not None:
        await ctx.send_text(f"↩️ {by.name}撤回了合同审批 #{req.id}，「{current.name}」无需再审批。", person_id=current.approver_id)
    await ctx.send_text(f"↩️ 合同审批 #{req.id} 已撤回。", person_id=_pid(by))


# ---- presses -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AskFile(CardAction, prefix="cfile"):
    pass


@dataclass(frozen=True)
class AttachFile(CardAction, prefix="cattach"):
    entry: Value


@dataclass(frozen=True)
class Withdraw(CardAction, prefix="cwithdraw"):
    pass


@dataclass(frozen=True)
class Approve(CardAction, prefix="cok"):
    pass


@dataclass(frozen=True)
class RejectAsk(CardAction, prefix="crej_ask"):
    pass


@dataclass(frozen=True)
class Reject(CardAction, prefix="crej"):
    reason: Value


REQUEST_ACTIONS = (AskFile, AttachFile, Withdraw)
STEP_ACTIONS = (Approve, RejectAsk, Reject)


async def on_request(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
    """Only the requester uploads the file (only while the request waits for it) or withdraws an open request."""
    req = await ctx.session.get(ContractRequest, row.subject.get("request_id"))
    if req is None:
        await ctx.send_text(STALE, person_id=_pid(presser))
        return
    if presser.id != req.rep_id:
        await ctx.send_text(refusal("发起这份审批的人"), person_id=_pid(presser))
        return
    if isinstance(action, Withdraw) and req.status in OPEN:
        await withdraw(ctx, req, presser)
        return
    if req.status != ContractStatus.draft:
        await ctx.send_text("这份申请已提交或已结束，未做任何修改。", person_id=_pid(presser))
        await ctx.update_card(row, await request_card(ctx, req))
        return
    match action:
        case AskFile():
            await await_reply(ctx, row, presser, "cattach", FILE_KINDS)
            await ctx.update_card(row, await request_card(ctx, req, asking_file=True))
        case AttachFile(entry=raw):
            problem = await attach(ctx, req, presser, str(raw))
            if problem:
                await ctx.update_card(row, await request_card(ctx, req, problem=problem))
                return
            await ctx.session.flush()
            await ctx.update_card(row, await request_card(ctx, req))


async def on_step(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
    """Only the step's own approver, only while the step waits; anyone else or a decided step changes nothing."""
    step = await ctx.session.get(ApprovalStep, row.subject.get("step_id"))
    req = await ctx.session.get(ContractRequest, step.request_id) if step is not None else None
    if step is None or req is None:
        await ctx.send_text(STALE, person_id=_pid(presser))
        return
    if presser.id != step.approver_id:
        approver = await ctx.person(step.approver_id)
        await ctx.send_text(refusal(f"「{step.name}」的审批人{approver.name}"), person_id=_pid(presser))
        return
    if step.status != ApprovalStepStatus.waiting or req.status != ContractStatus.pending:
        said = "申请人已撤回这份申请" if req.status == ContractStatus.withdrawn else "这一步已经处理过了"
        await ctx.send_text(f"{said}，未做任何修改。", person_id=_pid(presser))
        await ctx.update_card(row, await approval_card(ctx, req, step))
        return
    match action:
        case RejectAsk():
            await await_reply(ctx, row, presser, "crej")
            await ctx.update_card(row, await approval_card(ctx, req, step, asking=True))
        case Reject(reason=raw):
            reason = re.sub(r"\s+", " ", str(raw)).strip()
            problem = "驳回需要写明原因" if not reason else (
                f"原因请控制在{REASON_MAX}字以内" if len(reason) > REASON_MAX else "")
            if problem:
                await ctx.update_card(row, await approval_card(ctx, req, step, problem=problem))
                return
            await decide(ctx, req, step, presser, ok=False, note=reason)
        case Approve():
            await decide(ctx, req, step, presser, ok=True)


# ---- a step waiting too long -------------------------------------------------------------------
async def overdue(ctx: Context) -> list[int]:
    q = select(col(ApprovalStep.id)).join(ContractRequest, col(ContractRequest.id) == col(ApprovalStep.request_id)).where(
        col(ApprovalStep.status) == ApprovalStepStatus.waiting, col(ContractRequest.status) == ContractStatus.pending,
        col(ApprovalStep.due_at) <= ctx.now(), col(ApprovalStep.warned_at).is_(None))
    return [i or 0 for i in (await ctx.session.execute(q.order_by(col(ApprovalStep.id)))).scalars()]


async def warn(ctx: Context, step_id: int) -> int:
    """Once per step: a warning card to its approver and to the requester's supervisor; both cards turn red."""
    step = await ctx.session.get(ApprovalStep, step_id)
    req = await ctx.session.get(ContractRequest, step.request_id) if step is not None else None
    if step is None or req is None or step.status != ApprovalStepStatus.waiting or step.warned_at is not None or \
            req.status != ContractStatus.pending or step.due_at is None or ctx.now() < step.due_at:
        return 0
    step.warned_at = ctx.now()
    ctx.session.add(step)
    await refresh(ctx, req)
    view = await view_of(ctx, req)
    sup = await direct_supervisor(ctx.session, req.rep_id)
    targets = [(step.approver_id, True)] + ([(_pid(sup), False)] if sup is not None and sup.id != step.approver_id else [])
    sent = 0
    for person_id, is_approver in targets:
        try:
            await ctx.send_card(build_overdue(view, step.idx, is_approver), person_id=person_id,
                                subject={"request_id": req.id, "step_id": step.id})
            sent += 1
        except NoRoute:
            continue
    return sent


# ---- 我的合同审批 --------------------------------------------------------------------------------
async def status_text(ctx: Context, person: Person, limit: int = 5) -> str:
    """The person's own requests (newest first, every step's wait) and the steps waiting on them."""
    pid = _pid(person)
    mine = list((await ctx.session.execute(select(ContractRequest).where(col(ContractRequest.rep_id) == pid)
                                           .order_by(col(ContractRequest.id).desc()).limit(limit))).scalars())
    waiting = list((await ctx.session.execute(select(ApprovalStep).join(
        ContractRequest, col(ContractRequest.id) == col(ApprovalStep.request_id)).where(
        col(ApprovalStep.approver_id) == pid, col(ApprovalStep.status) == ApprovalStepStatus.waiting,
        col(ContractRequest.status) == ContractStatus.pending).order_by(col(ApprovalStep.started_at)))).scalars())
    if not mine and not waiting:
        return "你还没有合同审批。" + USAGE
    labels = {"draft": "待上传合同", "pending": "审批中", "approved": "已通过", "rejected": "已驳回", "withdrawn": "已撤回"}
    out: list[str] = []
    if mine:
        out.append("📄 我发起的合同审批：")
        for req in mine:
            v = await view_of(ctx, req)
            out.append(f"#{v.request_id} {v.customer} {fmt_money(v.amount)} · {labels[v.status]}"
                       + (f"（{v.reason}）" if v.status == "rejected" else ""))
            out += [f"  {step_line(n, s, live=True)}" for n, s in enumerate(v.steps, 1)]
    if waiting:
        out.append("🖋️ 等我审批：")
        for s in waiting:
            theirs = await ctx.session.get(ContractRequest, s.request_id)
            if theirs is None:
                continue
            v = await view_of(ctx, theirs)
            line = v.steps[s.idx]
            waited = step_line(s.idx + 1, line, live=True).split(" · ")[-1]
            out.append(f"#{v.request_id} {v.customer} {fmt_money(v.amount)} · {s.name} · {waited}（在审批卡片上处理）")
    return "\n".join(out)


# ---- the capability ----------------------------------------------------------------------------
def capability(rules: ContractRules) -> Capability:
    cap = Capability("contracts")
    cap.card(KIND, *REQUEST_ACTIONS)(on_request)
    cap.card(STEP_KIND, *STEP_ACTIONS)(on_step)

    async def units(ctx: Context) -> list[str]:
        return [f"step:{i}" for i in await overdue(ctx)]

    async def unit(ctx: Context, scope: str) -> int:
        return await warn(ctx, int(scope.partition(":")[2]))

    cap.job(unit_job("contract_overdue", "合同审批超时提醒", f"工作日 08:00–22:00 每{rules.scan_every_min}分钟", units,
                     unit, Timetable(scan_times(rules.scan_every_min), every=timedelta(minutes=rules.scan_every_min))))

    @cap.command("contract_approval", START_PATTERN,
                 "「发起合同审批 客户名 金额50万」 — 再发合同文件，按审批链（" + "→".join(s.name for s in rules.steps) + "）逐级审批",
                 roles={Role.rep, Role.supervisor})
    async def begin(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        await start(ctx, rules, person, m.group("rest"))
        return True

    @cap.command("my_contracts", MINE_PATTERN, "「我的合同审批」 — 我发起的和等我审批的合同，每一步已等待多久",
                 roles={Role.rep, Role.supervisor, Role.manager})
    async def mine(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        await ctx.send_text(await status_text(ctx, person), person_id=_pid(person))
        return True

    return cap


def _local(ctx: Context, at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(ctx.settings.tz)
    return local.strftime("%H:%M" if local.date() == ctx.today() else "%m-%d %H:%M")


def _pid(p: Person) -> int:
    assert p.id is not None
    return p.id


def _rid(r: ContractRequest) -> int:
    assert r.id is not None
    return r.id
