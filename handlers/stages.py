"""The stage-gate capability: checklists per stage, gate overrides, credibility checks (待核实), evidence routing.

| card kind | who presses             | actions                                                      |
|-----------|-------------------------|--------------------------------------------------------------|
| checklist | owner rep, their chain  | choose template (once), tick, ask for evidence, next stage, ask / give override |
| gate      | the rep's supervisors   | pass with a reason (recorded), or not                        |
| verify    | the rep's supervisors   | confirm, or reject with a reason                             |
| evidence  | the rep who sent it     | move the photo/voice/file to another record or check         |

| job             | when                                     | does                                         |
|-----------------|------------------------------------------|----------------------------------------------|
| verify_overdue  | workdays, every ``scan_every_min`` 08:00–22:00 | open verifications past their deadline → one level up |
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from handlers import checklist, credibility, evidence
from handlers.checklist import StageRules
from handlers.context import Context
from handlers.domain import EvidenceAttached, RecordConfirmed
from handlers.event import Event
from handlers.people import refusal
from handlers.rhythm import in_chain
from handlers.router import Capability
from handlers.timeline import find_customer
from scheduler.registry import Timetable, unit_job
from storage.models import Person, Role

SCAN_FROM, SCAN_TO = time(8, 0), time(22, 0)
CHECKLIST_PATTERN = r"(?P<name>[^\s，,。]{2,30}?)\s*(的)?\s*(阶段|卡点)?(检查清单|清单|阶段|卡点)\s*[?？]?"


def scan_times(every_min: int) -> tuple[time, ...]:
    out, t = [], datetime.combine(datetime.min.date(), SCAN_FROM)
    while t.time() <= SCAN_TO and t.date() == datetime.min.date():
        out.append(t.time())
        t += timedelta(minutes=every_min)
    return tuple(out)


def capability(rules: StageRules) -> Capability:
    cap = Capability("stages")
    cap.card(checklist.KIND, *checklist.CHECKLIST_ACTIONS)(checklist.on_checklist(rules))
    cap.card(checklist.GATE_KIND, *checklist.GATE_ACTIONS)(checklist.on_gate(rules))
    cap.card(credibility.KIND, *credibility.ACTIONS)(credibility.on_verify)
    cap.card("evidence", *evidence.ACTIONS)(evidence.on_move)
    cap.on(RecordConfirmed)(credibility.on_confirmed(rules))
    cap.on(EvidenceAttached)(credibility.on_evidence(rules))

    async def units(ctx: Context) -> list[str]:
        return [f"verification:{i}" for i in await credibility.overdue(ctx)]

    async def unit(ctx: Context, scope: str) -> int:
        return await credibility.escalate(ctx, int(scope.partition(":")[2]))

    cap.job(unit_job("verify_overdue", "待核实逾期升级", f"工作日 08:00–22:00 每{rules.scan_every_min}分钟", units, unit,
                     Timetable(scan_times(rules.scan_every_min), every=timedelta(minutes=rules.scan_every_min))))

    @cap.command("checklist", CHECKLIST_PATTERN, "「客户名 检查清单」 — 客户当前阶段的卡点检查清单",
                 roles={Role.rep, Role.supervisor, Role.manager})
    async def show(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        customer = await find_customer(ctx, m.group("name"))
        if customer is None:
            return False  # not a customer: let capture read it
        assert person.id is not None
        if customer.owner_id != person.id and not (
                customer.owner_id is not None and await in_chain(ctx.session, person, customer.owner_id)):
            await ctx.send_text(refusal("客户负责人或其上级主管").replace("这张卡片", "这个客户的检查清单"), person_id=person.id)
            return True
        await checklist.send_checklist(ctx, rules, customer, person)
        return True

    return cap
