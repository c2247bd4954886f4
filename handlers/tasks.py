"""Cross-role tasks (跨角色协同): a record that needs 售前 / 实施 / 法务 / 财务 becomes a task bound to its customer.

| card kind     | who presses                         | actions                                              |
|---------------|-------------------------------------|------------------------------------------------------|
| task_proposal | the record's rep                    | ask a proposed role's person, show every role, skip  |
| task          | the task's assignee, while it is open | accept; done with a note (input or reply) or a file/photo |
| task_copy     | nobody (the requester, the delivery lead) | —                                              |
| task_overdue  | nobody (a warning)                  | —                                                    |

| job          | when                                          | does                                                 |
|--------------|-----------------------------------------------|------------------------------------------------------|
| task_overdue | workdays, every ``scan_every_min`` 08:00–22:00 | an open task past ``due_at`` → warning to the assignee, the requester and the delivery lead, once |

The proposal comes from the understanding layer (``find_collab``: technical, contract or payment words) when
a record is confirmed, or for every role when the rep presses 「需要协同」 on the record's card. The person is
the role's active people with the most matching skill tags (``tasks.skills``), then the fewest open tasks.
A task keeps the customer's stage at the time it was asked; ``done_at - created_at`` is the closure time the
cross-role KPI reports. Who may press is read from the task row, never from the button.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from cards.actions import CardAction, Value
from cards.task import (
    KIND,
    PROPOSAL_KIND,
    Proposal,
    ProposalView,
    TaskView,
    build_copy,
    build_overdue,
    build_proposal,
    build_task,
)
from handlers.context import Context, NoRoute
from handlers.domain import CollabRequested, CrossRoleTaskDone, RecordConfirmed
from handlers.event import Event
from handlers.people import STALE, refusal
from handlers.replies import TEXT, await_reply
from handlers.router import Capability
from handlers.stages import scan_times
from handlers.understanding.collab import ROLE_LABELS, find_collab
from scheduler.registry import Timetable, unit_job
from storage.models import ActionRecord, Customer, Person, RecordStatus, Role, Task, TaskStatus
from storage.models import Card as CardRow
from storage.upsert import insert_ignore

TASK_ROLES: tuple[str, ...] = (Role.presales.value, Role.delivery.value, Role.legal.value, Role.finance.value)
OPEN = (TaskStatus.open, TaskStatus.accepted)
NOTE_MAX = 200
RESULT_KINDS = (TEXT, "file", "image")
MINE_PATTERN = r"(?:我的|查看)?协同任务|我的任务"


@dataclass(frozen=True)
class TaskRules:
    """``tasks`` from the config."""

    skills: dict[str, tuple[str, ...]] = field(default_factory=dict)
    due_hours: float = 24.0
    scan_every_min: int = 15
    delivery_lead: str = ""


# ---- who takes it ------------------------------------------------------------------------------
async def open_loads(ctx: Context, person_ids: list[int]) -> dict[int, int]:
    """Each person's open tasks (not yet done): the load that breaks ties."""
    rows = (await ctx.session.execute(
        select(col(Task.assignee_id), func.count()).where(col(Task.assignee_id).in_(person_ids),
                                                          col(Task.status).in_(OPEN))
        .group_by(col(Task.assignee_id)))).all()
    loads = dict.fromkeys(person_ids, 0)
    loads.update({int(pid): int(n) for pid, n in rows})
    return loads


async def choose_person(ctx: Context, rules: TaskRules, role: str, needs: list[str], text: str,
                        ) -> tuple[Person | None, str]:
    """The role's active people with the most skill tags matching the needs (or named in the text), then the
    fewest open tasks, then the earliest; returns the person and why, for the card."""
    people = list((await ctx.session.execute(select(Person).where(
        col(Person.role) == Role(role), col(Person.active).is_(True)).order_by(col(Person.id)))).scalars())
    if not people:
        return None, ""

    def hits(p: Person) -> list[str]:
        return [t for t in rules.skills.get(p.name, ()) if t in needs or t in text]

    best = max(len(hits(p)) for p in people)
    pool = [p for p in people if len(hits(p)) == best]
    loads = await open_loads(ctx, [_pid(p) for p in pool])
    chosen = min(pool, key=lambda p: (loads[_pid(p)], _pid(p)))
    why = [f"技能「{'、'.join(hits(chosen))}」"] if best else []
    why.append(f"在办任务{loads[_pid(chosen)]}件")
    return chosen, "，".join(why)


async def delivery_lead(ctx: Context, rules: TaskRules) -> Person | None:
    """The configured 实施负责人, else the delivery person whose own supervisor is not in delivery."""
    if rules.delivery_lead:
        p = (await ctx.session.execute(select(Person).where(col(Person.name) == rules.delivery_lead,
                                                            col(Person.active).is_(True)))).scalars().first()
        return p
    delivery = list((await ctx.session.execute(select(Person).where(
        col(Person.role) == Role.delivery, col(Person.active).is_(True)).order_by(col(Person.id)))).scalars())
    ids = {p.id for p in delivery}
    return next((p for p in delivery if p.supervisor_id not in ids), None)


# ---- the proposal --------------------------------------------------------------------------------
def _grouped(text: str) -> dict[str, tuple[list[str], str]]:
    """Role → (the needs it answers, the clause that asked first), each need under its usual role."""
    out: dict[str, tuple[list[str], str]] = {}
    for n in find_collab(text):
        needs, clause = out.setdefault(n.roles[0], ([], n.clause))
        needs.append(n.need)
    return out


async def propose(ctx: Context, rules: TaskRules, record: ActionRecord, all_roles: bool) -> str | None:
    """Send the rep a proposal card for this record (detected roles first; every role when asked)."""
    if record.customer_id is None or record.id is None:
        return None
    grouped = _grouped(record.text)
    roles = list(grouped) + ([r for r in TASK_ROLES if r not in grouped] if all_roles else [])
    if not roles:
        return None
    subject: dict[str, Any] = {"record_id": record.id, "people": {}, "needs": {}, "titles": {}}
    for role in roles:
        needs, clause = grouped.get(role, ([], ""))
        person, why = await choose_person(ctx, rules, role, needs, record.text)
        subject["people"][role] = {"id": person.id, "why": why} if person else None
        subject["needs"][role] = needs
        subject["titles"][role] = clause or record.text[:60]
    card = await proposal_card(ctx, record, subject, {"all": all_roles})
    try:
        return await ctx.send_card(card, person_id=record.rep_id, subject=subject, view={"all": all_roles})
    except NoRoute:
        return None


async def proposal_card(ctx: Context, record: ActionRecord, subject: dict[str, Any], view: dict[str, Any],
                        problem: str = "") -> Any:
    customer = await ctx.session.get(Customer, record.customer_id)
    asked = {t.role: t.assignee_id for t in (await ctx.session.execute(
        select(Task).where(col(Task.record_id) == record.id))).scalars()}
    proposals = []
    for role, who in subject["people"].items():
        name = (await ctx.person(int(who["id"]))).name if who else ""
        done = (await ctx.person(asked[role])).name if role in asked else ""
        proposals.append(Proposal(role, ROLE_LABELS[role], name, who["why"] if who else "",
                                  list(subject["needs"].get(role, [])), asked=done))
    return build_proposal(ProposalView(customer.name if customer else "", customer.stage if customer else "",
                                       record.text, proposals, all_roles=bool(view.get("all")),
                                       skipped=bool(view.get("skipped")), problem=problem))


@dataclass(frozen=True)
class Ask(CardAction, prefix="ask"):
    role: str


@dataclass(frozen=True)
class AllRoles(CardAction, prefix="roles"):
    pass


@dataclass(frozen=True)
class Skip(CardAction, prefix="skip"):
    pass


PROPOSAL_ACTIONS = (Ask, AllRoles, Skip)


def on_proposal(rules: TaskRules) -> Any:
    async def handle(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
        """Only the record's rep; a role asked before is not asked again."""
        record = await ctx.session.get(ActionRecord, row.subject.get("record_id"))
        if record is None or record.customer_id is None:
            await ctx.send_text(STALE, person_id=_pid(presser))
            return
        if presser.id != record.rep_id:
            rep = await ctx.person(record.rep_id)
            await ctx.send_text(refusal(f"{rep.name}本人"), person_id=_pid(presser))
            return
        view, subject = dict(row.view), dict(row.subject)
        match action:
            case Skip():
                view["skipped"] = True
            case AllRoles():
                view["all"] = True
                people, needs, titles = dict(subject["people"]), dict(subject["needs"]), dict(subject["titles"])
                for role in TASK_ROLES:
                    if role not in people:
                        person, why = await choose_person(ctx, rules, role, [], record.text)
                        people[role] = {"id": person.id, "why": why} if person else None
                        needs[role], titles[role] = [], record.text[:60]
                subject = {**subject, "people": people, "needs": needs, "titles": titles}
            case Ask(role=role):
                who = subject["people"].get(role)
                if role not in TASK_ROLES or not who:
                    await ctx.send_text(STALE, person_id=_pid(presser))
                    return
                person = await ctx.session.get(Person, int(who["id"]))
                if person is None or not person.active or person.role != Role(role):  # changed since: ask again
                    person, _ = await choose_person(ctx, rules, role, list(subject["needs"].get(role, [])),
                                                    record.text)
                if person is None:
                    await ctx.update_card(row, await proposal_card(ctx, record, subject, view,
                                                                   f"{ROLE_LABELS[role]}暂无可分配的人"))
                    return
                created = await create_task(ctx, rules, record, role, person, needs=list(subject["needs"].get(role, [])),
                                            title=str(subject["titles"].get(role) or record.text[:60]))
                if not created:
                    await ctx.send_text(f"已经请过{ROLE_LABELS[role]}协同，未重复发起。", person_id=_pid(presser))
        row.view, row.subject = view, subject
        await ctx.update_card(row, await proposal_card(ctx, record, subject, view))

    return handle


async def create_task(ctx: Context, rules: TaskRules, record: ActionRecord, role: str, assignee: Person, *,
                      needs: list[str], title: str) -> Task | None:
    """One task per (record, role): None when it exists already (nothing changes)."""
    customer = await ctx.session.get(Customer, record.customer_id)
    assert customer is not None
    now = ctx.now()
    inserted = await insert_ignore(ctx.session, Task, {
        "customer_id": customer.id, "stage": customer.stage, "role": role, "title": title[:100],
        "need": "、".join(needs) or f"{ROLE_LABELS[role]}支持", "record_id": record.id, "assignee_id": _pid(assignee),
        "requested_by": record.rep_id, "status": TaskStatus.open, "created_at": now,
        "due_at": now + timedelta(hours=rules.due_hours), "attachment": {}, "copies": {},
    })
    if not inserted:
        return None
    task = (await ctx.session.execute(select(Task).where(col(Task.record_id) == record.id,
                                                         col(Task.role) == role))).scalar_one()
    view = await view_of(ctx, task)
    try:
        task.card_id = await ctx.send_card(build_task(view), person_id=task.assignee_id, subject={"task_id": task.id})
    except NoRoute:
        task.card_id = None
    copies: dict[str, str] = {}
    lead = await delivery_lead(ctx, rules)
    for pid in dict.fromkeys([task.requested_by] + ([_pid(lead)] if lead else [])):
        if pid == task.assignee_id:
            continue
        try:
            copies[str(pid)] = await ctx.send_card(build_copy(view), person_id=pid, subject={"task_id": task.id})
        except NoRoute:
            continue
    task.copies = copies
    ctx.session.add(task)
    await ctx.session.flush()
    return task


# ---- the assignee's card -------------------------------------------------------------------------
@dataclass(frozen=True)
class Accept(CardAction, prefix="taccept"):
    pass


@dataclass(frozen=True)
class DoneAsk(CardAction, prefix="tdone_ask"):
    pass


@dataclass(frozen=True)
class Done(CardAction, prefix="tdone"):
    """The result: a typed note, or (as a reply) a file/photo's evidence entry as JSON."""

    result: Value


TASK_ACTIONS = (Accept, DoneAsk, Done)


async def on_task(ctx: Context, row: CardRow, presser: Person, action: CardAction) -> None:
    """Only the task's assignee, only while it is open; anyone else or a closed task changes nothing."""
    task = await ctx.session.get(Task, row.subject.get("task_id"))
    if task is None:
        await ctx.send_text(STALE, person_id=_pid(presser))
        return
    if presser.id != task.assignee_id:
        assignee = await ctx.person(task.assignee_id)
        await ctx.send_text(refusal(f"任务负责人{assignee.name}"), person_id=_pid(presser))
        return
    if task.status not in OPEN:
        await ctx.send_text("这个任务已经完成或取消，未做任何修改。", person_id=_pid(presser))
        return
    match action:
        case Accept():
            if task.status != TaskStatus.open:
                await ctx.send_text("已经接受过了。", person_id=_pid(presser))
                return
            task.status, task.accepted_at = TaskStatus.accepted, ctx.now()
        case DoneAsk():
            await await_reply(ctx, row, presser, "tdone", RESULT_KINDS)
            await ctx.update_card(row, build_task(await view_of(ctx, task, asking=True)))
            return
        case Done(result=raw):
            note, attachment = _result(str(raw))
            if not note and not attachment:
                problem = f"请写一句完成说明（{NOTE_MAX}字以内），或发送文件/照片作为附件"
                await ctx.update_card(row, build_task(await view_of(ctx, task, problem=problem)))
                return
            await close(ctx, task, note, attachment)
    ctx.session.add(task)
    await ctx.session.flush()
    await refresh(ctx, task)


def _result(raw: str) -> tuple[str | None, dict[str, Any]]:
    """(note, attachment): a file/photo entry becomes the attachment; text is the note when short enough."""
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and entry.get("kind") in ("file", "image"):
            keep = ("kind", "name", "path", "clean_path", "sha256", "bytes", "mime", "at", "event_id")
            return None, {k: entry[k] for k in keep if k in entry}
    note = re.sub(r"\s+", " ", raw)
    return (note if 0 < len(note) <= NOTE_MAX else None), {}


async def close(ctx: Context, task: Task, note: str | None, attachment: dict[str, Any]) -> None:
    now = ctx.now()
    task.status, task.done_at = TaskStatus.done, now
    task.accepted_at = task.accepted_at or now
    task.note, task.attachment = note, attachment
    ctx.session.add(task)
    await ctx.session.flush()
    assignee = await ctx.person(task.assignee_id)
    what = note or f"附件「{attachment.get('name') or '照片'}」"
    customer = await ctx.session.get(Customer, task.customer_id)
    await ctx.send_text(f"✅ {assignee.name}完成了协同任务「{task.title}」（{customer.name if customer else ''}）：{what}",
                        person_id=task.requested_by)
    await ctx.publish(CrossRoleTaskDone(at=now, task_id=_tid(task), customer_id=task.customer_id, role=task.role,
                                        assignee_id=task.assignee_id, hours=closure_hours(task) or 0.0))


async def refresh(ctx: Context, task: Task) -> None:
    """The assignee's card and every copy show the task's state now."""
    view = await view_of(ctx, task)
    if task.card_id and (row := await ctx.session.get(CardRow, task.card_id)) is not None:
        await ctx.update_card(row, build_task(view))
    for card_id in task.copies.values():
        if (row := await ctx.session.get(CardRow, card_id)) is not None:
            await ctx.update_card(row, build_copy(view))


def _local(ctx: Context, at: datetime | None) -> str:
    return at.astimezone(ctx.settings.tz).strftime("%m-%d %H:%M") if at else ""


def fmt_hours(hours: float) -> str:
    return f"{hours:.1f}小时" if hours < 48 else f"{hours / 24:.1f}天"


async def view_of(ctx: Context, task: Task, *, asking: bool = False, problem: str = "") -> TaskView:
    customer = await ctx.session.get(Customer, task.customer_id)
    hours = closure_hours(task)
    return TaskView(
        task_id=_tid(task), customer=customer.name if customer else task.customer_id, stage=task.stage,
        role_label=ROLE_LABELS.get(task.role, task.role), title=task.title, need=task.need,
        assignee=(await ctx.person(task.assignee_id)).name, requester=(await ctx.person(task.requested_by)).name,
        status=task.status.value, created=_local(ctx, task.created_at), due=_local(ctx, task.due_at),
        overdue=task.status in OPEN and task.due_at is not None and ctx.now() >= task.due_at,
        accepted=_local(ctx, task.accepted_at), done=_local(ctx, task.done_at),
        took=fmt_hours(hours) if hours is not None else "", note=task.note or "",
        attachment=str(task.attachment.get("name") or ("照片" if task.attachment else "")), asking=asking,
        problem=problem)


# ---- KPI ---------------------------------------------------------------------------------------
def closure_hours(task: Task) -> float | None:
    """Asked → done, in hours (None while open): what the cross-role KPI averages."""
    if task.done_at is None:
        return None
    return (task.done_at - task.created_at).total_seconds() / 3600


@dataclass(frozen=True)
class CrossRoleKpi:
    done: int
    avg_closure_days: float | None
    open: int
    overdue: int


async def cross_role_kpi(ctx: Context, since: datetime, until: datetime) -> CrossRoleKpi:
    """Tasks closed in [since, until): how many and their average closure time; tasks open at ``until``."""
    done = list((await ctx.session.execute(select(Task).where(
        col(Task.status) == TaskStatus.done, col(Task.done_at) >= since, col(Task.done_at) < until))).scalars())
    open_ = list((await ctx.session.execute(select(Task).where(col(Task.status).in_(OPEN)))).scalars())
    hours = [h for t in done if (h := closure_hours(t)) is not None]
    return CrossRoleKpi(done=len(done), avg_closure_days=sum(hours) / len(hours) / 24 if hours else None,
                        open=len(open_), overdue=sum(1 for t in open_ if t.due_at is not None and t.due_at <= until))


# ---- overdue -------------------------------------------------------------------------------------
async def overdue(ctx: Context) -> list[int]:
    q = select(col(Task.id)).where(col(Task.status).in_(OPEN), col(Task.due_at) <= ctx.now(),
                                   col(Task.warned_at).is_(None)).order_by(col(Task.id))
    return [i or 0 for i in (await ctx.session.execute(q)).scalars()]


def warn_unit(rules: TaskRules) -> Any:
    async def warn(ctx: Context, scope: str) -> int:
        """Once per task: a warning to the assignee, the requester and the delivery lead; its cards turn red."""
        task = await ctx.session.get(Task, int(scope.partition(":")[2]))
        if task is None or task.status not in OPEN or task.warned_at is not None or task.due_at is None or \
                ctx.now() < task.due_at:
            return 0
        task.warned_at = ctx.now()
        ctx.session.add(task)
        await refresh(ctx, task)
        view = await view_of(ctx, task)
        lead = await delivery_lead(ctx, rules)
        sent = 0
        for pid in dict.fromkeys([task.assignee_id, task.requested_by] + ([_pid(lead)] if lead else [])):
            try:
                await ctx.send_card(build_overdue(view, pid == task.assignee_id), person_id=pid,
                                    subject={"task_id": task.id})
                sent += 1
            except NoRoute:
                continue
        return sent

    return warn


# ---- 我的协同任务 ---------------------------------------------------------------------------------
async def mine_text(ctx: Context, person: Person, limit: int = 8) -> str:
    pid = _pid(person)
    lines: list[str] = []
    for label, where in (("🔧 请我协同的：", col(Task.assignee_id) == pid), ("🤝 我发起的：", col(Task.requested_by) == pid)):
        rows = list((await ctx.session.execute(select(Task).where(where).order_by(
            col(Task.created_at).desc()).limit(limit))).scalars())
        if rows:
            lines.append(label)
        for t in rows:
            v = await view_of(ctx, t)
            state = f"已完成（用时{v.took}）" if t.status == TaskStatus.done else \
                {"open": "待接受", "accepted": "处理中", "cancelled": "已取消"}[t.status.value] + \
                (f"，时限{v.due}" + ("（已超时）" if v.overdue else "") if t.status in OPEN else "")
            lines.append(f"#{v.task_id} {v.customer} · {v.role_label}{v.assignee} · 「{t.title[:30]}」· {state}")
    return "\n".join(lines) or "还没有协同任务。销售记录里写到需要售前、实施、法务或财务时，会建议发起协同。"


# ---- the capability ----------------------------------------------------------------------------
def capability(rules: TaskRules) -> Capability:
    cap = Capability("tasks")
    cap.card(PROPOSAL_KIND, *PROPOSAL_ACTIONS)(on_proposal(rules))
    cap.card(KIND, *TASK_ACTIONS)(on_task)

    @cap.on(RecordConfirmed)
    async def confirmed(ctx: Context, event: RecordConfirmed) -> None:
        """A confirmed record whose words need another role gets a proposal card."""
        record = await ctx.session.get(ActionRecord, event.record_id)
        if record is not None and record.status == RecordStatus.confirmed and find_collab(record.text):
            await propose(ctx, rules, record, all_roles=False)

    @cap.on(CollabRequested)
    async def requested(ctx: Context, event: CollabRequested) -> None:
        record = await ctx.session.get(ActionRecord, event.record_id)
        if record is not None:
            await propose(ctx, rules, record, all_roles=True)

    async def units(ctx: Context) -> list[str]:
        return [f"task:{i}" for i in await overdue(ctx)]

    cap.job(unit_job("task_overdue", "协同任务超时提醒", f"工作日 08:00–22:00 每{rules.scan_every_min}分钟", units,
                     warn_unit(rules),
                     Timetable(scan_times(rules.scan_every_min), every=timedelta(minutes=rules.scan_every_min))))

    @cap.command("my_tasks", MINE_PATTERN, "「我的协同任务」 — 请我协同的和我发起的任务、时限和用时")
    async def mine(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        await ctx.send_text(await mine_text(ctx, person), person_id=_pid(person))
        return True

    return cap


def _pid(p: Person) -> int:
    assert p.id is not None
    return p.id


def _tid(t: Task) -> int:
    assert t.id is not None
    return t.id
