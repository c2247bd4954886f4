"""The running service: wires storage, inbox, dispatcher, channels, sender and scheduler together."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot import metrics
from bot.admin import AdminApi
from bot.capabilities import lead_rules_from, router_from, settings_from, workdays_from
from bot.channels import enabled_specs
from bot.channels.base import Channel, ChannelDeps
from bot.chart_links import ChartLinks
from bot.config import Config
from bot.enrich import LLMUnderstanding
from bot.evidence_files import EvidenceFiles
from bot.guard import WebGuard, is_loopback
from bot.inbox import Inbox
from bot.leads import LeadsApi
from bot.sender import Sender
from bot.speech import Transcriber
from bot.store_page import StorePage
from bot.timeline_page import TimelinePage
from handlers.clock import Clock, SystemClock
from handlers.context import Context
from handlers.customers import DirectoryCache
from handlers.dispatch import Dispatcher
from handlers.understanding import LLMSettings
from scheduler.registry import Registry
from scheduler.runner import Scheduler
from storage import outbox
from storage.db import Database
from storage.models import InboxEvent, InboxStatus, OutboxMessage, OutboxStatus

log = logging.getLogger("actionflow.service")


def build_channels(deps: ChannelDeps) -> dict[str, Channel]:
    """Every enabled ``channels.<name>`` section, built by its registered spec, in config order.

    An enabled section with no channel folder behind it is a start-up error, never a silent no-op."""
    return {spec.name: spec.build(deps) for spec in enabled_specs(deps.cfg).values()}


class Service:
    """One process: owns the database, the channels, the capabilities and the background loops."""

    def __init__(
        self, cfg: Config, *, clock: Clock | None = None, sender_clock: Clock | None = None,
        dispatch_workers: int | None = None, scheduler: bool | None = None,
    ) -> None:
        self.cfg = cfg
        self.clock = clock or SystemClock()
        self.db = Database(cfg.database.url)
        self.guard = WebGuard.from_config(cfg)  # one CSRF token per start, shared by the emulator page and the admin API
        self.channels = build_channels(ChannelDeps(cfg=cfg, db=self.db, clock=self.clock, guard=self.guard))
        self.settings = settings_from(cfg, list(self.channels))
        self.directory = DirectoryCache()
        self.workdays = workdays_from(cfg)
        self.router = router_from(cfg, self.workdays)
        self.dispatcher = Dispatcher(self.router)
        self.sender = Sender(self.db, self.channels, sender_clock or SystemClock(), cfg.outbox)
        self.inbox = Inbox(self.db, self.dispatcher, self.clock, self.context, on_handled=self.sender.wake,
                           workers=cfg.inbox.workers if dispatch_workers is None else dispatch_workers,
                           sweep_every_s=cfg.inbox.sweep_every_s, stranded_after_s=cfg.inbox.stranded_after_s)
        for name, ch in self.channels.items():
            self.inbox.preparers[name] = ch.prepare  # slow per-event work after the ack (media download)
        self.inbox.enrichers.append(EvidenceFiles(Path(cfg.evidence.dir), cfg.evidence.max_bytes))
        speech = {name: ch for name, ch in self.channels.items() if ch.has_speech}
        self.inbox.enrichers.append(Transcriber(cfg.asr, speech))  # voice → text, before any reading of text
        llm = LLMSettings.from_config(cfg.understanding.llm)
        if llm.enabled:
            self.inbox.enrichers.append(LLMUnderstanding(self.db, self.directory, llm, cfg.org.tz))
        self.jobs = Registry()
        for job in self.router.jobs:
            self.jobs.add(job)
        self.scheduler = Scheduler(self.db, self.jobs, self.clock, self.context, cfg.org.tz, self.workdays,
                                   on_run=self.sender.wake)
        # Timers follow the wall clock: a service on a test clock arms them only when asked to.
        self.arm_scheduler = cfg.schedule.enabled and (
            scheduler if scheduler is not None else isinstance(self.clock, SystemClock))
        self.admin = AdminApi(cfg, self.guard, self.jobs, self.scheduler, self.clock, self.sender.wake)
        self.leads = LeadsApi(cfg, self.db, self.context, lead_rules_from(cfg), self.sender.wake)
        self.timeline_page = TimelinePage(cfg, self.db, self.guard, self.clock.now, self.channels)
        self.chart_links = ChartLinks(cfg, self.clock.now)
        self.store_page = StorePage(cfg, self.db, self.guard, self.clock.now, self.channels,
                                    authorize=self.admin.authorize)
        self.started = False

    def context(self, key_prefix: str, session: AsyncSession, clock: Clock | None = None,
                platform: str | None = None) -> Context:
        """The one way to make a handler Context (inbox, scheduler, CLI, tests): same settings,
        directory and publisher everywhere; a scheduled run passes the clock fixed at its moment."""
        return Context(session=session, clock=clock or self.clock, settings=self.settings, key_prefix=key_prefix,
                       platform=platform, directory=self.directory, publisher=self.router.publish)

    async def start(self) -> None:
        await self.db.migrate()
        for ch in self.channels.values():
            await ch.start(metrics.counted(self.inbox.accept))  # events in, repeats dropped, store time
        await self.inbox.start()
        await self.sender.start()
        if self.arm_scheduler:
            await self.scheduler.start()
        if "local" in self.channels and not is_loopback(self.cfg.server.host):
            log.warning("THE CHAT EMULATOR IS ON WHILE LISTENING ON %s: anyone who reaches this port can read every "
                        "chat and speak as anybody. Set channels.local.enabled: false or serve on 127.0.0.1.",
                        self.cfg.server.host)
        self.started = True
        log.info("service started", extra={"channels": ",".join(self.channels), "db": self.db.engine.url.render_as_string()})

    async def stop(self) -> None:
        self.started = False
        await self.scheduler.stop()
        await self.sender.stop()
        await self.inbox.stop()
        for ch in self.channels.values():
            await ch.close()
        await self.db.close()

    # ---- HTTP --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.cfg.server.max_body_bytes)
        app.add_routes([
            web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.get("/metrics", self.metrics_page),
            *self.admin.routes(),
            *self.leads.routes(),
            *self.timeline_page.routes(),
            *self.store_page.routes(),
            *self.chart_links.routes(),
        ])
        for ch in self.channels.values():
            app.add_routes(ch.routes())

        async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
            await self.start()
            yield
            await self.stop()

        app.cleanup_ctx.append(lifecycle)
        return app

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready = the database answers, every background loop is alive, and nothing waits too long:
        the oldest unhandled event and the oldest due message are younger than ``inbox.stuck_after_s``."""
        report = await readiness(self)
        return web.json_response(report, status=200 if report["ok"] else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Prometheus text: it names platforms' error codes and queue depths, so the admin API's rule
        applies (open only straight on loopback of a loopback-only service, else the admin token)."""
        self.admin.authorize(request)
        await metrics.outbox_levels(self.db, self.clock, self.channels)
        return metrics.exposition()


async def readiness(service: Service) -> dict[str, Any]:
    """What /readyz reports; each check says why it failed."""
    t0 = time.perf_counter()
    now = service.clock.now()
    loops = {"inbox": service.inbox.alive(), "sender": service.sender.alive()}
    if service.arm_scheduler:
        loops["scheduler"] = service.scheduler.alive()
    report: dict[str, Any] = {"started": service.started, "loops": loops, "handling_failures": service.inbox.failures,
                              "in_hand": service.inbox.in_hand}
    try:
        async with service.db.session() as s:
            oldest_event = (await s.execute(select(func.min(col(InboxEvent.received_at))).where(
                col(InboxEvent.status) == InboxStatus.received))).scalar_one()
            due = (col(OutboxMessage.status).in_([OutboxStatus.pending, OutboxStatus.sending]))
            fresh = (await s.execute(select(func.min(col(OutboxMessage.created_at))).where(
                due, col(OutboxMessage.next_attempt_at) == outbox.DUE_NOW))).scalar_one()
            retried = (await s.execute(select(func.min(col(OutboxMessage.next_attempt_at))).where(
                due, col(OutboxMessage.next_attempt_at) > outbox.DUE_NOW,
                col(OutboxMessage.next_attempt_at) <= service.sender.clock.now()))).scalar_one()
    except Exception as exc:
        return {**report, "ok": False, "db": type(exc).__name__}
    report["db_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    limit = service.cfg.inbox.stuck_after_s
    report["oldest_unhandled_s"] = _age(now, oldest_event)
    report["oldest_due_message_s"] = max(_age(now, fresh), _age(service.sender.clock.now(), retried))
    stuck = [k for k in ("oldest_unhandled_s", "oldest_due_message_s") if report[k] > limit]
    report["ok"] = service.started and all(loops.values()) and not stuck
    if stuck:
        report["stuck"] = stuck
    return report


def _age(now: datetime, since: datetime | None) -> float:
    return round(max(0.0, (now - since).total_seconds()), 1) if since is not None else 0.0
