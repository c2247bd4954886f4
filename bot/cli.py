"""``actionflow`` command line: init, serve, demo, imports, tag, eval.

Every command reads ./config.yaml or --config PATH, so ``init && demo && serve`` in an empty
folder just works.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.config import Config, ConfigError, load_config, write_example


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


async def _with_db(cfg: Config, fn: Callable[[Any], Awaitable[str]]) -> str:
    from storage.db import Database

    db = Database(cfg.database.url)
    try:
        await db.migrate()
        async with db.write() as s:
            return await fn(s)
    finally:
        await db.close()


def cmd_init(args: argparse.Namespace) -> int:
    if write_example(args.config, overwrite=args.force):
        print(f"wrote {args.config} (from config.example.yaml)")
    else:
        print(f"{args.config} already exists; left unchanged (use --force to overwrite)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.logs import secret_env_names, setup_logging
    from bot.service import Service

    cfg = _config(args)
    setup_logging(cfg.logging.level, cfg.logging.json_lines, secret_env_names(cfg))
    host = args.host or cfg.server.host
    port = args.port or cfg.server.port
    # the flags win over file and environment, and the service must know the address it really binds
    cfg = cfg.model_copy(update={"server": cfg.server.model_copy(update={"host": host, "port": port})})
    service = Service(cfg)
    print(f"actionflow serving on http://{host}:{port}  (channels: {', '.join(service.channels) or 'none'})",
          flush=True)
    web.run_app(service.app(), host=host, port=port, print=None, handle_signals=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo org, then two leads assigned by the rules (their cards wait in the outbox for `serve`)."""
    from datetime import timedelta

    from bot.capabilities import contract_rules_from, lead_rules_from, stage_rules_from, task_rules_from
    from bot.demo.contracts import seed_demo_contracts
    from bot.demo.leads import seed_demo_leads
    from bot.demo.reports import seed_demo_reports
    from bot.demo.seed import seed_demo
    from bot.demo.stages import seed_demo_stages
    from bot.demo.tasks import seed_demo_tasks
    from bot.service import Service
    from handlers.clock import FixedClock

    cfg = _config(args)
    now = datetime.now(UTC)

    async def go() -> str:
        service = Service(cfg, scheduler=False)
        try:
            await service.db.migrate()
            async with service.db.write() as s:
                said = await seed_demo(s, now, cfg.org.tz)
                if said.startswith("seeded"):  # leads arrived 20 minutes ago: the 2 h clock is running
                    arrived = FixedClock(now - timedelta(minutes=20))
                    n = await seed_demo_leads(s, lambda key, session: service.context(key, session, arrived),
                                              lead_rules_from(cfg))
                    said += f", {n} leads"
                    said += ", " + await seed_demo_reports(s, now, cfg.org.tz)
                if said.startswith("seeded") and cfg.channels.local.enabled:
                    # cards waiting in the emulator: the demo's people have emulator identities only
                    said += ", " + await seed_demo_stages(
                        s, lambda key, session: service.context(key, session, FixedClock(now)), stage_rules_from(cfg), now)
                    said += ", " + await seed_demo_contracts(
                        s, lambda key, session, at: service.context(key, session, at), contract_rules_from(cfg), now)
                    said += ", " + await seed_demo_tasks(
                        s, lambda key, session, at: service.context(key, session, at), task_rules_from(cfg), now)
                return said
        finally:
            await service.db.close()

    print(asyncio.run(go()))
    return 0


def _import(args: argparse.Namespace, what: str) -> int:
    """import-customers / import-people: both upsert from a CSV in one transaction."""
    from bot import importers

    cfg = _config(args)
    importer = importers.import_customers if what == "customers" else importers.import_people

    async def run(s: Any) -> str:
        r = await importer(s, args.csv)
        return f"{what}: {r.created} created, {r.updated} updated"

    print(asyncio.run(_with_db(cfg, run)))
    return 0


def cmd_import_customers(args: argparse.Namespace) -> int:
    return _import(args, "customers")


def cmd_import_people(args: argparse.Namespace) -> int:
    return _import(args, "people")


def cmd_import_leads(args: argparse.Namespace) -> int:
    """Every row is validated first (a bad one names its line and nothing is stored); then each lead is
    matched or created, assigned and carded like a POSTed one. Cards wait in the outbox for `serve`."""
    from bot.capabilities import lead_rules_from
    from bot.leads import import_leads, read_leads_csv
    from bot.service import Service

    cfg = _config(args)
    leads = read_leads_csv(args.csv)

    async def go() -> str:
        service = Service(cfg, scheduler=False)
        try:
            await service.db.migrate()
            async with service.db.write() as s:
                new, known = await import_leads(s, service.context, lead_rules_from(cfg), leads, args.source)
            return f"leads: {new} new, {known} already imported"
        finally:
            await service.db.close()

    print(asyncio.run(go()))
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    from handlers.understanding.commands import run_tag

    return run_tag(args.customers, args.now, sys.stdin, sys.stdout)


def cmd_eval(args: argparse.Namespace) -> int:
    from handlers.understanding.commands import run_eval

    return run_eval(args.customers, args.messages, sys.stdout)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check every enabled platform's credentials against the platform itself; exit 1 when one fails.
    The verdict is masked like the logs: people paste it into chats and tickets."""
    from bot.channels import enabled_specs
    from bot.logs import Masker, secret_env_names

    cfg = _config(args)
    masker = Masker.from_env(secret_env_names(cfg))
    checked, ok = 0, True
    for spec in enabled_specs(cfg).values():
        if spec.doctor is None:
            continue
        passed, lines = asyncio.run(spec.doctor(cfg))
        print(masker.mask("\n".join(lines)))
        checked, ok = checked + 1, ok and passed
    if not checked:
        print("没有启用需要检查凭据的平台（channels.<平台>.enabled 均未启用）")
    return 0 if ok else 1


def _at(value: str | None, cfg: Config) -> datetime | None:
    """--at ISO; a time without an offset is read in the org's timezone."""
    if not value:
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=cfg.org.tz)


def cmd_jobs(args: argparse.Namespace) -> int:
    """List the scheduled jobs, run one now (or as of --at), or run whatever is due at that moment.

    Cards go into the outbox; a running ``actionflow serve`` on the same database delivers them. The
    unit claims are the same as the timers', so a run here never repeats what was already sent."""
    from bot.service import Service
    from handlers.clock import FixedClock, SystemClock

    cfg = _config(args)
    at = _at(getattr(args, "at", None), cfg)

    async def go() -> int:
        service = Service(cfg, clock=FixedClock(at) if at else SystemClock(), scheduler=False)
        try:
            if args.jobs_command == "list":
                for j in service.jobs.jobs.values():
                    print(f"{j.name:<20} {j.schedule:<28} {j.label}")
                return 0
            await service.db.migrate()
            when = (at or service.clock.now()).astimezone(cfg.org.tz)
            day = f"{when:%Y-%m-%d %H:%M}（{service.workdays.kind(when.date())}）"
            if args.jobs_command == "due":
                done = await service.scheduler.run_due(at)
                print(f"{day}: " + ("; ".join(done.values()) if done else "没有到点的任务"))
                return 0
            if service.jobs.get(args.name) is None:
                print(f"error: no job named {args.name!r} (see `actionflow jobs list`)", file=sys.stderr)
                return 2
            print(f"{day}: {await service.scheduler.run(args.name, at, force=True)}")
            return 0
        finally:
            await service.db.close()

    return asyncio.run(go())


def cmd_report(args: argparse.Namespace) -> int:
    """Render a report locally (JSON + PNG) as of --at, without sending anything."""
    from pathlib import Path

    from bot.reports_cli import render

    cfg = _config(args)
    at = _at(args.at, cfg) or datetime.now(UTC)
    for path in asyncio.run(render(cfg, args.name, at, Path(args.out), args.person)):
        print(path)
    return 0


def cmd_qr(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.store_cli import QrError, make_qr, revoke_qr

    cfg = _config(args)
    if not args.revoke and not (args.store and args.task):
        print("需要 --store 和 --task（或 --revoke 链接）", file=sys.stderr)
        return 2
    try:
        print(asyncio.run(_with_db(cfg, lambda s: revoke_qr(s, cfg, args.revoke) if args.revoke
                                   else make_qr(s, cfg, args.store, args.task, Path(args.out)))))
    except QrError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="actionflow", description="销售动作流机器人 — sales action-flow chat bot")
    p.add_argument("--config", default="config.yaml", help="config file (default ./config.yaml)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("init", help="write config.yaml from the example")
    s.add_argument("--force", action="store_true")
    s.set_defaults(fn=cmd_init)
    s = sub.add_parser("serve", help="run the bot (HTTP callbacks, emulator, sender, scheduler)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.set_defaults(fn=cmd_serve)
    sub.add_parser("demo", help="seed a demo org with customers and two weeks of records").set_defaults(fn=cmd_demo)
    s = sub.add_parser("import-customers", help="import customers from CSV (id,name,aliases,address,lat,lng)")
    s.add_argument("csv")
    s.set_defaults(fn=cmd_import_customers)
    s = sub.add_parser("import-people", help="import people from CSV (name,role,supervisor,region, then one user-id column per platform)")
    s.add_argument("csv")
    s.set_defaults(fn=cmd_import_people)
    s = sub.add_parser("import-leads", help="import leads from CSV (lead_id,company,contact,phone,region,lat,lng,tags,note); "
                       "matched or created, assigned and carded; a lead_id seen before is skipped")
    s.add_argument("csv")
    s.add_argument("--source", default="csv", help="the source name the lead ids belong to (default csv)")
    s.set_defaults(fn=cmd_import_leads)
    s = sub.add_parser("tag", help="tag messages from stdin (JSON lines or text) against a customer CSV")
    s.add_argument("--customers", required=True)
    s.add_argument("--now", help="ISO time for lines without their own 'now'")
    s.set_defaults(fn=cmd_tag)
    s = sub.add_parser("eval", help="score the tagger on labelled JSONL messages")
    s.add_argument("--customers", required=True)
    s.add_argument("--messages", required=True)
    s.set_defaults(fn=cmd_eval)
    s = sub.add_parser("jobs", help="scheduled jobs: list | run NAME [--at ISO] | due [--at ISO]")
    jobs = s.add_subparsers(dest="jobs_command", required=True)
    jobs.add_parser("list", help="the jobs and when they run").set_defaults(fn=cmd_jobs)
    j = jobs.add_parser("run", help="run one job now (any day); what it already sent today is not sent again")
    j.add_argument("name")
    j.add_argument("--at", help="run as of this ISO time (org timezone when it has no offset)")
    j.set_defaults(fn=cmd_jobs)
    j = jobs.add_parser("due", help="run what the scheduler would run at this moment (workdays, cut-offs)")
    j.add_argument("--at", help="as of this ISO time (org timezone when it has no offset)")
    j.set_defaults(fn=cmd_jobs)
    s = sub.add_parser("report", help="render a report locally as JSON + PNG: digest | radar | customers | cqi | kpis "
                                      "| commission (nothing is sent)")
    s.add_argument("name")
    s.add_argument("--at", help="as of this ISO time (org timezone when it has no offset); default now")
    s.add_argument("--out", default="reports", help="folder for the files (default ./reports)")
    s.add_argument("--person", help="only this person (default: everyone the report is for)")
    s.set_defaults(fn=cmd_report)
    from bot.store_cli import add_parser as add_qr

    add_qr(sub).set_defaults(fn=cmd_qr)
    sub.add_parser("doctor", help="check each enabled platform's credentials (asks the platform for a token) and print a verdict") \
        .set_defaults(fn=cmd_doctor)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad CSV rows and similar user errors
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
