"""Prometheus metrics of one process, served at ``/metrics`` behind the admin API's door.

Counters and histograms are module-level (one process, one service); outbox depth and age are read from
the database at scrape time, so they are true for every process sharing the outbox, not just this one.
Labels are platforms, error codes, job names and refusal reasons: never people, ids or message text.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from sqlmodel import col

from handlers.clock import Clock
from handlers.event import Event
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

REGISTRY = CollectorRegistry()
Intake = Callable[[Event], Awaitable[bool]]  # as in bot/channels/base.py, which reports here

EVENTS_IN = Counter("actionflow_events_in", "Events stored in the inbox (new ones only)", ["platform"],
                    registry=REGISTRY)
DEDUPE_HITS = Counter("actionflow_dedupe_hits", "Events dropped as repeats of a stored one", ["platform"],
                      registry=REGISTRY)
REFUSED = Counter("actionflow_callbacks_refused", "Callbacks refused at the door (nothing stored)",
                  ["platform", "reason"], registry=REGISTRY)
# WeCom answers in 5 s, Feishu in 3 s, DingTalk Stream in ~5 s: the buckets bracket those deadlines.
ACK_SECONDS = Histogram("actionflow_ack_seconds", "Callback arrival → answer (HTTP callbacks)", ["platform"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0), registry=REGISTRY)
STORE_SECONDS = Histogram("actionflow_store_seconds", "Inbox insert of one event (bounds every ack, Stream too)",
                          ["platform"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
                          registry=REGISTRY)
EVENTS_OUT = Counter("actionflow_events_out", "Messages and card updates the platform accepted",
                     ["platform", "op"], registry=REGISTRY)
SEND_ERRORS = Counter("actionflow_send_errors", "Failed platform calls by the platform's error code",
                      ["platform", "code"], registry=REGISTRY)
JOB_RUNS = Counter("actionflow_job_runs", "Scheduled job runs", ["job", "outcome"], registry=REGISTRY)
OUTBOX_DEPTH = Gauge("actionflow_outbox_depth", "Messages waiting to be sent (pending or sending)", ["platform"],
                     registry=REGISTRY)
OUTBOX_AGE = Gauge("actionflow_outbox_oldest_age_seconds", "Age of the oldest message waiting to be sent",
                   ["platform"], registry=REGISTRY)


def counted(intake: Intake) -> Intake:
    """``intake`` that also counts new events, repeats dropped, and how long the store took."""

    async def accept(event: Event) -> bool:
        t0 = time.perf_counter()
        new = await intake(event)
        STORE_SECONDS.labels(event.platform).observe(time.perf_counter() - t0)
        (EVENTS_IN if new else DEDUPE_HITS).labels(event.platform).inc()
        return new

    return accept


def sends(results: Iterable[tuple[str, str, str | None]]) -> None:
    """(platform, op, error code or None when the platform accepted it) of each platform call of a tick."""
    for platform, op, code in results:
        if code is None:
            EVENTS_OUT.labels(platform, op).inc()
        else:
            SEND_ERRORS.labels(platform, code).inc()


def error_code(exc: BaseException) -> str:
    """The platform's own code when it gave one (``FeishuError.code``, ``WecomError.errcode``), else the
    exception's type (timeouts, refused connections)."""
    for attr in ("code", "errcode"):
        code = getattr(exc, attr, None)
        if code is not None:
            return str(code)
    return type(exc).__name__


async def outbox_levels(db: Database, clock: Clock, platforms: Iterable[str]) -> None:
    """Set depth and oldest age per platform from the shared outbox (zero for an idle platform)."""
    waiting = col(OutboxMessage.status).in_([OutboxStatus.pending, OutboxStatus.sending])
    async with db.session() as s:
        rows = (await s.execute(select(col(OutboxMessage.platform), func.count(), func.min(col(OutboxMessage.created_at)))
                                .where(waiting).group_by(col(OutboxMessage.platform)))).all()
    levels: dict[str, tuple[int, datetime | None]] = {p: (0, None) for p in platforms}
    levels.update({str(p): (int(n), oldest) for p, n, oldest in rows})
    now = clock.now()
    for platform, (n, oldest) in levels.items():
        OUTBOX_DEPTH.labels(platform).set(n)
        OUTBOX_AGE.labels(platform).set(_age_s(now, oldest))


def _age_s(now: datetime, oldest: datetime | None) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def exposition() -> web.Response:
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
