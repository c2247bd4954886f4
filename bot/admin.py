"""The admin API: list the scheduled jobs and run one as of a chosen moment (the emulator's 定时任务 panel).

It can send cards to everybody, so it answers only (a) a caller straight on loopback of a service that
is bound to loopback and published on loopback, with no proxy in between, or (b) a caller presenting the
admin token (``Authorization: Bearer``, value from ``security.admin_token_env``). "The peer is 127.0.0.1"
alone proves nothing: a reverse proxy on the same host is 127.0.0.1 too.

A run simulates a moment: by default the job's own slot today, never "now", so a 17:00 escalation run
from the panel at 01:50 says what is true at 17:00, and a moment before the job's slot is refused.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from datetime import datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bot.config import Config
from bot.guard import WebGuard, is_loopback, read_json
from handlers.clock import Clock
from scheduler.registry import Job, Registry
from scheduler.runner import Scheduler

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via")


class _Run(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | None = Field(None, max_length=40)  # ISO moment; without an offset it is read in the org's zone


class AdminApi:
    def __init__(self, cfg: Config, guard: WebGuard, jobs: Registry, scheduler: Scheduler, clock: Clock,
                 on_run: Callable[[], None]) -> None:
        self.guard = guard
        self.jobs = jobs
        self.scheduler = scheduler
        self.clock = clock
        self.on_run = on_run
        self.tz: ZoneInfo = cfg.org.tz
        self.token = os.environ.get(cfg.security.admin_token_env) or None
        self.local_only = is_loopback(cfg.server.host) and is_loopback(urlsplit(cfg.server.public_url).hostname)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/admin/api/jobs", self.list_jobs), web.post("/admin/api/jobs/{name}/run", self.run_job)]

    def authorize(self, request: web.Request, *, write: bool = False) -> None:
        """Browser checks first (host, origin, page token), then who may use the API at all."""
        self.guard.check(request, write=write)
        sent = request.headers.get("Authorization", "")
        if self.token and hmac.compare_digest(sent.encode(), f"Bearer {self.token}".encode()):
            return
        direct = is_loopback(request.remote) and not any(h in request.headers for h in PROXY_HEADERS)
        if self.local_only and direct:
            return
        raise web.HTTPForbidden(text="管理接口需要令牌：设置环境变量 ACTIONFLOW_ADMIN_TOKEN 并以 "
                                     "Authorization: Bearer <令牌> 调用（仅当服务只监听本机且直连时免令牌）")

    def default_at(self, job: Job) -> datetime:
        """The moment the panel simulates unless told otherwise: the job's first slot today (org zone)."""
        now = self.clock.now().astimezone(self.tz)
        if job.timetable is None:
            return now.replace(second=0, microsecond=0)
        return datetime.combine(now.date(), job.timetable.times[0], tzinfo=self.tz)

    def _moment(self, job: Job, raw: str | None) -> datetime:
        if not raw:
            return self.default_at(job)
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise web.HTTPBadRequest(text=f"模拟时刻无效：{raw[:40]}（例如 2026-11-24T16:00）") from None
        at = at if at.tzinfo else at.replace(tzinfo=self.tz)
        first = job.timetable.times[0] if job.timetable else time.min
        local = at.astimezone(self.tz)
        if local.time() < first:  # the job's texts ("未在17:00前填写") would be false at that moment
            raise web.HTTPBadRequest(text=f"{job.label}在 {first:%H:%M} 运行，模拟时刻 {local:%H:%M} 早于它")
        return at

    async def list_jobs(self, request: web.Request) -> web.Response:
        self.authorize(request)
        return web.json_response([
            {"name": j.name, "label": j.label, "schedule": j.schedule, "at": self.default_at(j).isoformat()}
            for j in self.jobs.jobs.values()
        ])

    async def run_job(self, request: web.Request) -> web.Response:
        self.authorize(request, write=True)
        body = await read_json(request, _Run)
        job = self.jobs.get(request.match_info["name"])
        if job is None:
            raise web.HTTPNotFound(text="没有这个定时任务")
        at = self._moment(job, body.at)
        summary = await self.scheduler.run(job.name, at, force=True)  # unit claims still hold: nothing twice
        self.on_run()
        local = at.astimezone(self.tz)
        return web.json_response({"ok": True, "at": local.isoformat(), "summary": f"模拟 {local:%m-%d %H:%M}：{summary}"})
