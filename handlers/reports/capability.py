"""The reports capability: 今日简报 / 我的雷达 / 客户雷达 / 我的提成 in chat, the 18:30 digest and the weekly radars.

| job           | when                  | units                                   | sends                                      |
|---------------|-----------------------|-----------------------------------------|--------------------------------------------|
| daily_digest  | workdays 18:30        | every supervisor / manager with reps    | the digest card of their subtree           |
| weekly_radar  | FRI 18:00             | every active rep                        | both radars (PNG + card) to the rep and to their direct supervisor |

Charts are rendered to ``reports.dir`` and travel inside their card (``Card.image``): Feishu and DingTalk
upload the PNG and put its key in the card, WeCom shows it as a ``news_notice`` picture fetched from a signed,
expiring link of ours, the emulator draws it. The card holds the same numbers, so nothing depends on the image.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from cards.digest import KIND as DIGEST_KIND
from cards.digest import OpenCustomer, build_digest_card
from cards.radar import build_commission_card, build_customer_card, build_process_card
from handlers import timeline
from handlers.context import Context, NoRoute
from handlers.event import Event
from handlers.people import refusal
from handlers.reports import commission, cqi, digest, radar
from handlers.reports.scope import Window, is_above, reps_under, under
from handlers.rhythm import direct_supervisor, in_chain
from handlers.router import Capability
from scheduler.registry import Timetable, unit_job
from storage.models import Card as CardRow
from storage.models import Customer, Person, Role

BOSSES = {Role.supervisor, Role.manager}
DIGEST_READERS = {*BOSSES, Role.store_manager}  # a store manager's digest is their store's funnel
WHO = r"(?:(?P<me>我的?)|(?P<name>[^\s的]{2,10}?)的)?"


@dataclass(frozen=True)
class ReportRules:
    formula: commission.Formula
    window_days: int = 30
    dir: str = "data/reports"
    order: tuple[str, ...] = ("初步接触", "需求确认", "方案报价", "商务谈判", "签约", "回款")
    closed: tuple[str, ...] = ("签约", "回款")
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # template → decision-chain roles
    default_template: str = "general"
    digest_at: time = time(18, 30)
    digest_cutoff: time = time(22, 0)
    radar_at: str = "FRI 18:00"

    def chain(self, template: str | None) -> tuple[str, ...]:
        return self.chains.get(template or self.default_template) or self.chains.get(self.default_template, ())

    def window(self, ctx: Context) -> Window:
        return Window.ending(ctx.now(), self.window_days, ctx.settings.tz)


# ---- what each report sends (shared by chat commands, jobs and the CLI) ------------------------------------

async def digest_of(ctx: Context, rules: ReportRules, person: Person) -> digest.Digest:
    assert person.id is not None
    reps = await reps_under(ctx.session, person.id)
    d = await digest.build(ctx.session, reps, rules.window(ctx), rules.order, rules.closed, rules.window_days)
    store_managers = await under(ctx.session, person.id, {Role.store_manager})
    d.store = await digest.stores_funnel(ctx.session, store_managers, d.day, ctx.settings.tz)
    return d


async def send_digest(ctx: Context, rules: ReportRules, person: Person) -> int:
    assert person.id is not None
    d = await digest_of(ctx, rules, person)
    await ctx.send_card(build_digest_card(d, person.name), person_id=person.id,
                        subject={"person_id": person.id, "day": d.day.isoformat()})
    return 1


def _png(rules: ReportRules, ctx: Context, tag: str) -> Path:
    return Path(rules.dir) / f"{tag}-{ctx.now():%Y%m%dT%H%M%S}.png"


async def process_report(ctx: Context, rules: ReportRules, rep: Person, reps: list[int],
                         title: str) -> tuple[radar.ProcessHealth, cqi.Cqi, Path]:
    """Process-health numbers of ``reps`` (one rep, or a supervisor's team) and their radar PNG."""
    from cards.chart import radar_png  # matplotlib loads only when a chart is drawn

    w = rules.window(ctx)
    health = await radar.process_health(ctx.session, reps, w)
    quality = cqi.compute(await cqi.load(ctx.session, reps, w), rules.chain)
    # drawn off the event loop: a chart takes ~0.2 s of CPU and the loop also acks platform callbacks
    png = await asyncio.to_thread(radar_png, _png(rules, ctx, f"process-{rep.id}"), f"{title} 过程健康雷达",
                                  radar.PROCESS_AXES, [(title, health.values())])
    return health, quality, png


async def customer_report(ctx: Context, rules: ReportRules, rep: Person) -> tuple[list[radar.CustomerHealth], Path]:
    from cards.chart import radar_png

    assert rep.id is not None
    rows = await radar.customer_health(ctx.session, rep.id, rules.window(ctx), rules.chain)
    png = await asyncio.to_thread(radar_png, _png(rules, ctx, f"customers-{rep.id}"), f"{rep.name} 客户健康雷达",
                                  radar.CUSTOMER_AXES, [(h.name[:10], h.values()) for h in rows])
    return rows, png


async def send_process(ctx: Context, rules: ReportRules, subject: Person, to: list[int]) -> int:
    assert subject.id is not None
    reps = [subject.id] if subject.role == Role.rep else await reps_under(ctx.session, subject.id)
    title = subject.name if subject.role == Role.rep else f"{subject.name}团队"
    health, quality, png = await process_report(ctx, rules, subject, reps, title)
    card = replace(build_process_card(title, health, quality, rules.window_days), image=str(png))
    for pid in to:
        await ctx.send_card(card, person_id=pid, subject={"person_id": subject.id})
    return len(to)


async def send_customers(ctx: Context, rules: ReportRules, rep: Person, to: list[int]) -> int:
    rows, png = await customer_report(ctx, rules, rep)
    card = replace(build_customer_card(rep.name, rows, rules.window_days), image=str(png))
    for pid in to:
        await ctx.send_card(card, person_id=pid, subject={"person_id": rep.id})
    return len(to)


# ---- chat --------------------------------------------------------------------------------------------------

async def _subject(ctx: Context, person: Person, m: re.Match[str], per_rep: str = "") -> Person | None:
    """Whom a question is about: the sender (我的 / nothing), or a named person in the sender's subtree.
    Refuses (and answers) anyone else; ``per_rep`` names the report for a supervisor asking about themself
    when it only exists per rep."""
    assert person.id is not None
    name = m.group("name")
    if not name or name == person.name:
        if per_rep and person.role != Role.rep:
            await ctx.send_text(f"{per_rep}按销售查看，例如「张伟的{per_rep}」。", person_id=person.id)
            return None
        return person
    found = (await ctx.session.execute(select(Person).where(col(Person.name) == name))).scalars().first()
    if found is None or found.id is None:
        await ctx.send_text(f"找不到「{name}」。请写同事的姓名，例如「张伟的雷达」。", person_id=person.id)
        return None
    if not await is_above(ctx.session, person.id, found.id):
        await ctx.send_text(f"只能查看你自己或你团队成员的报表，「{name}」不在你的团队里。", person_id=person.id)
        return None
    return found


def capability(rules: ReportRules) -> Capability:
    cap = Capability("reports")

    @cap.command("daily_digest", r"(今日|今天的?|每日)(简报|日报|汇总)",
                 "今日简报 — 你团队的必做完成、红灯、阶段漏斗、指标对标与风险（门店：今日门店漏斗）", DIGEST_READERS)
    async def digest_now(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        await send_digest(ctx, rules, person)
        return True

    @cap.command("customer_radar", WHO + r"客户(健康)?雷达(图)?", "「我的客户雷达」 — 客户健康雷达（决策链/需求/预算）",
                 {Role.rep, *BOSSES})
    async def customers_now(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        subject = await _subject(ctx, person, m, per_rep="客户雷达")
        if subject is not None:
            await send_customers(ctx, rules, subject, [person.id])
        return True

    @cap.command("rep_radar", WHO + r"(过程)?(健康)?雷达(图)?", "「我的雷达」 — 过程健康雷达（6 个维度）与 CQI",
                 {Role.rep, *BOSSES})
    async def process_now(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        subject = await _subject(ctx, person, m)
        if subject is not None:
            await send_process(ctx, rules, subject, [person.id])
        return True

    @cap.command("commission", WHO + r"(本月)?(提成|佣金)(估算)?", "「我的提成」 — 本月提成估算", {Role.rep, *BOSSES})
    async def commission_now(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        subject = await _subject(ctx, person, m, per_rep="提成")
        if subject is None or subject.id is None:
            return True
        e = await commission.estimate(ctx.session, rules.formula, subject.id, ctx.today(), ctx.settings.tz)
        await ctx.send_card(build_commission_card(subject.name, e, rules.formula.text), person_id=person.id,
                            subject={"person_id": subject.id, "month": e.month})
        return True

    @cap.card(DIGEST_KIND, OpenCustomer)
    async def open_customer(ctx: Context, row: CardRow, presser: Person, action: OpenCustomer) -> None:
        """A risk's link: only the digest's reader (or someone above them) may open it."""
        assert presser.id is not None
        if presser.id != row.audience_id and not await in_chain(ctx.session, presser, row.audience_id):
            await ctx.send_text(refusal("这份简报的收件人"), person_id=presser.id)
            return
        customer = await ctx.session.get(Customer, action.customer_id)
        if customer is None:
            await ctx.send_text("这个客户已不存在。", person_id=presser.id)
            return
        await ctx.send_text(await timeline.progress(ctx, customer), person_id=presser.id)

    # ---- jobs ----
    async def digest_units(ctx: Context) -> list[str]:
        readers = (await ctx.session.execute(select(Person).where(
            col(Person.role).in_(list(DIGEST_READERS)), col(Person.active)).order_by(col(Person.id)))).scalars().all()
        return [f"person:{p.id}" for p in readers if p.id is not None and (
            await reps_under(ctx.session, p.id) or await under(ctx.session, p.id, {Role.store_manager}))]

    async def digest_unit(ctx: Context, unit: str) -> int:
        try:
            return await send_digest(ctx, rules, await ctx.person(int(unit.partition(":")[2])))
        except NoRoute:
            return 0

    async def radar_units(ctx: Context) -> list[str]:
        ids = (await ctx.session.execute(select(col(Person.id)).where(
            col(Person.role) == Role.rep, col(Person.active)).order_by(col(Person.id)))).scalars().all()
        return [f"rep:{i}" for i in ids]

    async def radar_unit(ctx: Context, unit: str) -> int:
        rep = await ctx.person(int(unit.partition(":")[2]))
        assert rep.id is not None
        boss = await direct_supervisor(ctx.session, rep.id)
        to = [pid for pid in (rep.id, boss.id if boss else None) if pid is not None]
        routes = await ctx.routes(to)
        reachable = [pid for pid in to if pid in routes]
        if not reachable:
            return 0
        sent = await send_process(replace(ctx, key_prefix=f"{ctx.key_prefix}:p"), rules, rep, reachable)
        return sent + await send_customers(replace(ctx, key_prefix=f"{ctx.key_prefix}:c"), rules, rep, reachable)

    cap.job(unit_job("daily_digest", "今日简报", f"工作日 {rules.digest_at:%H:%M}", digest_units, digest_unit,
                     Timetable((rules.digest_at,), cutoff=rules.digest_cutoff)))
    radar_tt = Timetable.parse(rules.radar_at, cutoff=rules.digest_cutoff)  # caught up until the same cut-off
    cap.job(unit_job("weekly_radar", "每周雷达", rules.radar_at.replace("FRI", "每周五"), radar_units, radar_unit,
                     radar_tt))
    return cap
