"""``actionflow report NAME [--at ISO] [--out DIR] [--person NAME]``: any report rendered locally (JSON + PNG),
so a manager can look without a platform. Reads the database only: nothing is sent or stored.

Names: ``digest`` (each supervisor/manager, or --person), ``radar`` (process health), ``customers`` (customer
health), ``cqi``, ``kpis``, ``commission`` (each active rep, or --person; a supervisor's radar/kpis/cqi is
their team's)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.capabilities import report_rules_from
from bot.config import Config
from handlers.clock import FixedClock
from storage.models import Person, Role

NAMES = ("digest", "radar", "customers", "cqi", "kpis", "commission")
BOSSES = (Role.supervisor, Role.manager)


def _plain(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {k: _plain(x) for k, x in dataclasses.asdict(v).items()}
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v if isinstance(v, int | float | str | bool | type(None)) else str(v)


async def render(cfg: Config, name: str, at: datetime, out: Path, person: str | None) -> list[Path]:
    """Write the report's files for each person it covers; returns them."""
    from bot.service import Service
    from cards.chart import funnel_png
    from cards.digest import build_digest_card
    from cards.radar import build_commission_card, build_customer_card, build_process_card
    from handlers.reports import commission, cqi, kpis
    from handlers.reports.capability import customer_report, digest_of, process_report
    from handlers.reports.scope import reps_under

    if name not in NAMES:
        raise ValueError(f"no report named {name!r} (one of: {', '.join(NAMES)})")
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a CLI, nothing else runs on this loop)
    clock = FixedClock(at)
    service = Service(cfg, clock=clock, scheduler=False)
    rules = dataclasses.replace(report_rules_from(cfg), dir=str(out / ".charts"))
    written: list[Path] = []
    try:
        await service.db.migrate()
        async with service.db.session() as s:
            ctx = service.context("report", s, clock)
            q = select(Person).where(col(Person.active)).order_by(col(Person.id))
            if person:
                q = q.where(col(Person.name) == person)
            elif name == "digest":
                q = q.where(col(Person.role).in_(BOSSES))
            else:
                q = q.where(col(Person.role) == Role.rep)
            people = list((await s.execute(q)).scalars())
            if person and not people:
                raise ValueError(f"no active person named {person!r}")
            for p in people:
                assert p.id is not None
                reps = [p.id] if p.role == Role.rep else await reps_under(s, p.id)
                stem = out / f"{name}-{p.name}-{at.astimezone(cfg.org.tz):%Y%m%d-%H%M}"
                png: Path | None = None
                data: dict[str, Any]
                if name == "digest":
                    d = await digest_of(ctx, rules, p)
                    title, steps = ((f"{p.name} 团队阶段漏斗", d.funnel) if d.reps or d.store is None
                                    else (f"{p.name} 门店漏斗", d.store))  # a store manager: their store
                    png = funnel_png(stem.with_suffix(".png"), f"{title} {d.day:%m-%d}", steps)
                    data = {"digest": _plain(d), "card": build_digest_card(d, p.name).to_dict()}
                elif name == "radar":
                    title = p.name if p.role == Role.rep else f"{p.name}团队"
                    health, quality, chart = await process_report(ctx, rules, p, reps, title)
                    png = Path(shutil.move(chart, stem.with_suffix(".png")))
                    data = {"scores": health.scores, "cqi": _plain(quality),
                            "card": build_process_card(title, health, quality, rules.window_days).to_dict()}
                elif name == "customers":
                    if p.role != Role.rep:
                        continue
                    rows, chart = await customer_report(ctx, rules, p)
                    png = Path(shutil.move(chart, stem.with_suffix(".png")))
                    data = {"customers": _plain(rows),
                            "card": build_customer_card(p.name, rows, rules.window_days).to_dict()}
                elif name == "cqi":
                    data = {"cqi": _plain(cqi.compute(await cqi.load(s, reps, rules.window(ctx)), rules.chain))}
                elif name == "kpis":
                    data = {"kpis": [dict(_plain(k), line=k.line(), benchmark=_plain(k.benchmark))
                                     for k in await kpis.all_kpis(s, reps, rules.window(ctx))]}
                else:
                    if p.role != Role.rep:
                        continue
                    e = await commission.estimate(s, rules.formula, p.id, ctx.today(), cfg.org.tz)
                    data = {"commission": _plain(e), "formula": rules.formula.text,
                            "card": build_commission_card(p.name, e, rules.formula.text).to_dict()}
                data = {"report": name, "person": p.name, "at": at.isoformat(), **data}
                stem.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
                written += [stem.with_suffix(".json")] + ([png] if png else [])
            await s.rollback()
    finally:
        await service.db.close()
        shutil.rmtree(out / ".charts", ignore_errors=True)
    return written
